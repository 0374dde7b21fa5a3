"""Crashes of the reconciler itself, and the cost of a no-op pass."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from reconciler.api import conditions as C
from reconciler.observe.tmux import Tmux
from tests.conftest import PersonServer, TeamWorkspace, retry_until

pytestmark = pytest.mark.e2e


def many_agents(n: int) -> str:
    lines = ["version: 1", "team: {name: many}", "agents:"]
    for i in range(n):
        lines += [f"  - id: a{i:03d}", "    provider: shell", '    command: ["sleep", "3600"]']
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("delay", [0.35, 0.5, 0.7, 0.9], ids=lambda d: f"kill-after-{d}s")
def test_sigkill_mid_pass_leaves_parseable_status_and_no_duplicates(
    team: TeamWorkspace, delay: float
) -> None:
    """SIGKILL `reconcile --once` while it creates 12 agents → status parses (or is
    absent), and the next pass converges with exactly one window per agent."""
    team.write_spec(many_agents(12))
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "-f", str(team.spec_path), "reconcile", "--once"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)

    status_file = team.root / ".team" / "status.json"
    if status_file.exists():
        json.loads(status_file.read_text())  # never half-written
    team.converge(timeout=30)
    counts = Counter(p.window_name for p in team.panes())
    assert counts == Counter({f"a{i:03d}": 1 for i in range(12)})
    assert all(p.agent for p in team.panes()), "an unmarked agent window was left behind"


def quiet_for_a_second(team: TeamWorkspace) -> None:
    """Let the second of the agents' last output end, then pass once.

    A pass reads the screen of an agent that wrote since the last pass looked, for
    approval prompts (`controllers.agents.panes.working_agents`); tmux dates output in
    whole seconds, so output in the second of the last look counts as unseen until that
    second is over. After this, a pass over a quiet team reads no screen.
    """
    last = max(p.activity or 0.0 for p in team.panes())
    retry_until(lambda: time.time() >= last + 1.0, timeout=3)
    team.reconcile()


@pytest.mark.parametrize("size", [3, 12])
def test_noop_pass_makes_constant_tmux_calls(team: TeamWorkspace, size: int) -> None:
    """A converged team's pass costs the same tmux calls whatever its size (≤ 3)."""
    team.write_spec(many_agents(size))
    team.converge(timeout=30)
    quiet_for_a_second(team)
    tmux = team.engine.tmux_for(team.socket)
    assert isinstance(tmux, Tmux)
    before = tmux.calls
    result = team.reconcile()
    assert result.plan.empty
    assert tmux.calls - before == 1


@pytest.mark.parametrize("size", [3, 12])
def test_noop_pass_with_a_bound_leader_makes_two_tmux_calls(
    team: TeamWorkspace, person_server: PersonServer, size: int
) -> None:
    """With a leader bound on another server (the person's), a no-op pass costs exactly
    one more tmux call, whatever the team size: the workers' `list-panes -a`, and on the
    leader's server one `list-panes -a` that also captures the bound pane's text (for
    LeaderAPIError). The process scan is still shared."""
    team.write_spec(many_agents(size) + "leader: {provider: fake}\n")
    pane = person_server.start(
        sys.executable, "-m", "reconciler", "-f", str(team.spec_path), "leader", "fake",
        cwd=team.root,
    )  # fmt: skip
    retry_until(
        lambda: "fake> " in "\n".join(person_server.tmux.run("capture-pane", "-pJ", "-t", pane))
    )
    team.converge(timeout=30)
    assert C.is_true(team.reconcile().status.leader.conditions, C.LEADER_BOUND)
    quiet_for_a_second(team)
    before = team.engine.tmux_calls
    result = team.reconcile()
    assert result.plan.empty
    assert C.is_true(result.status.leader.conditions, C.LEADER_BOUND)
    assert team.engine.tmux_calls - before == 2

"""`team-agent run` as a real process: spec edits, agent exits, SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from reconciler.api import conditions as C
from tests.conftest import TeamWorkspace, retry_until
from tests.e2e.conftest import StartRun

pytestmark = pytest.mark.e2e

SPEC = """\
version: 1
team: {name: loop}
agents:
  - id: one
    provider: shell
    command: ["sleep", "3600"]
"""


@pytest.fixture
def running(team: TeamWorkspace, run_loop: StartRun) -> subprocess.Popen[str]:
    team.write_spec(SPEC)
    return run_loop(output=subprocess.PIPE)


def test_spec_edit_converges_within_a_second(
    team: TeamWorkspace, running: subprocess.Popen[str]
) -> None:
    """Adding an agent to the spec under `run` → its pane exists within 1 s."""
    team.write_spec(SPEC + '  - id: two\n    provider: shell\n    command: ["sleep", "3600"]\n')
    saved = time.monotonic()
    retry_until(lambda: team.agent_panes("two"), timeout=5, interval=0.02)
    assert time.monotonic() - saved < 1.0


def test_agent_exit_restarted_within_a_second(
    team: TeamWorkspace, running: subprocess.Popen[str]
) -> None:
    """An agent's exit under `run` → restarted within 1 s (pane-died hook wakes the loop)."""
    pane = team.agent_panes("one")[0]
    assert pane.pane_pid is not None
    os.kill(pane.pane_pid, signal.SIGTERM)
    killed = time.monotonic()

    def restarted() -> bool:
        panes = team.agent_panes("one")
        return bool(panes) and not panes[0].dead and panes[0].pane_pid != pane.pane_pid

    retry_until(restarted, timeout=5, interval=0.02)
    assert time.monotonic() - killed < 1.0
    retry_until(lambda: team.status().agents["one"].restartCount == 1, timeout=5)


def test_sigterm_stops_loop_and_leaves_agents(
    team: TeamWorkspace, running: subprocess.Popen[str]
) -> None:
    """SIGTERM to `run` → it exits 0 promptly; the agent keeps running with the same pid."""
    before = team.agent_panes("one")[0]
    running.send_signal(signal.SIGTERM)
    assert running.wait(timeout=10) == 0
    after = team.agent_panes("one")[0]
    assert not after.dead and after.pane_pid == before.pane_pid


def test_invalid_edit_under_run_stalls_and_keeps_agents(
    team: TeamWorkspace, running: subprocess.Popen[str]
) -> None:
    """A broken spec under `run` → Stalled=SpecInvalid with line:column; agent untouched."""
    before = team.agent_panes("one")[0]
    team.spec_path.write_text(SPEC.replace("provider: shell", "provider: shel"))

    def stalled() -> bool:
        cond = C.find_condition(team.status().conditions, C.STALLED)
        return cond is not None and cond.status == "True" and cond.reason == "SpecInvalid"

    retry_until(stalled, timeout=5)
    status = team.status()
    assert status.specError is not None
    assert (status.specError.line, status.specError.column) == (5, 15)
    after = team.agent_panes("one")[0]
    assert after.pane_pid == before.pane_pid and not after.dead

    team.write_spec(SPEC)
    retry_until(lambda: not C.is_true(team.status().conditions, C.STALLED), timeout=5)

"""Agent lifecycle against a real tmux server on a private socket.

What each test attacks is in its name and docstring; every test uses its own server,
killed at the end by the `tmux_socket` fixture.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from reconciler.api import conditions as C
from tests.conftest import TeamWorkspace, retry_until

pytestmark = pytest.mark.e2e

THREE_AGENTS = """\
version: 1
team: {name: life}
agents:
  - id: alpha
    provider: fake
  - id: beta
    provider: fake
    env: {COLOR: blue}
  - id: gamma
    provider: shell
    command: ["sleep", "3600"]
"""


def pids(team: TeamWorkspace) -> dict[str, int | None]:
    return {p.agent: p.pane_pid for p in team.agent_panes()}


def windows_per_agent(team: TeamWorkspace) -> Counter[str]:
    return Counter(p.window_name for p in team.panes())


def test_converge_from_empty_then_noop(team: TeamWorkspace) -> None:
    """Empty world → one window per agent and Ready; a second pass changes nothing."""
    team.write_spec(THREE_AGENTS)
    first = team.converge()
    assert first.status.conditions and C.is_true(first.status.conditions, C.READY)
    panes = team.agent_panes()
    assert sorted(p.agent for p in panes) == ["alpha", "beta", "gamma"]
    assert windows_per_agent(team) == Counter({"alpha": 1, "beta": 1, "gamma": 1})
    before_pids = pids(team)
    before = team.status()

    again = team.reconcile()

    assert again.plan.empty
    assert again.exit_code == 0
    assert pids(team) == before_pids
    after = team.status()
    for name in ("alpha", "beta", "gamma"):
        old = C.find_condition(before.agents[name].conditions, C.READY)
        new = C.find_condition(after.agents[name].conditions, C.READY)
        assert old is not None and new is not None
        assert new.lastTransitionTime == old.lastTransitionTime
        assert after.agents[name].pid == before_pids[name]


def test_cli_reconcile_once_wait_exit_zero(team: TeamWorkspace) -> None:
    """`team-agent reconcile --once --wait 30s` converges and exits 0 with status JSON."""
    team.write_spec(THREE_AGENTS)
    proc = team.cli("reconcile", "--once", "--wait", "30s", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    status = json.loads(proc.stdout)
    assert status["kind"] == "TeamStatus"
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True"
    assert set(status["agents"]) == {"alpha", "beta", "gamma"}


def test_killed_agent_is_restarted(team: TeamWorkspace) -> None:
    """SIGKILL an agent → the next pass restarts it in the same pane, restartCount 1."""
    team.write_spec(THREE_AGENTS)
    team.converge()
    victim = next(p for p in team.agent_panes("beta"))
    assert victim.pane_pid is not None
    os.kill(victim.pane_pid, signal.SIGKILL)
    retry_until(lambda: team.agent_panes("beta")[0].dead)

    result = team.converge()

    beta = result.status.agents["beta"]
    assert beta.restartCount == 1
    assert beta.lastExitAt is not None
    # 137 = 128 + SIGKILL; tmux 3.3 occasionally drops the status of a killed pane.
    assert beta.lastExitCode in (128 + signal.SIGKILL, None)
    assert beta.paneId == victim.pane_id
    assert team.agent_panes("beta")[0].pane_pid != victim.pane_pid
    assert windows_per_agent(team)["beta"] == 1


class ShiftedClock:
    """Real time plus an offset the test can advance (to cross backoff deadlines fast)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + timedelta(seconds=self.offset)

    def monotonic(self) -> float:
        return time.monotonic() + self.offset


def test_crash_loop_backs_off_and_grows(team: TeamWorkspace) -> None:
    """An agent that exits at once every time → CrashLoopBackOff with 10 s, then 20 s."""
    team.write_spec("""\
        version: 1
        team: {name: crashy}
        agents:
          - id: boom
            provider: fake
            args: ["--crash-on-start", "--exit-code", "3"]
        """)
    clock = ShiftedClock()
    team.engine.clock = clock

    def dead() -> bool:
        panes = team.agent_panes("boom")
        return bool(panes) and panes[0].dead

    team.reconcile()  # create
    retry_until(dead)
    first = team.settled()  # first exit: restart at once
    assert first.status.agents["boom"].restartCount == 1
    retry_until(dead)
    waiting = team.settled()  # second exit: back off 10 s
    boom = waiting.status.agents["boom"]
    backoff = C.find_condition(boom.conditions, C.CRASH_LOOP_BACK_OFF)
    assert backoff is not None and backoff.status == "True", (waiting.plan.render(), team.panes())
    assert "back-off 10s" in backoff.message
    assert boom.lastExitCode == 3
    assert waiting.plan.empty and waiting.exit_code == 1
    assert waiting.requeue_after is not None and 0 < waiting.requeue_after <= 10

    clock.offset += 11
    restarted = team.reconcile()
    assert restarted.status.agents["boom"].restartCount == 2
    retry_until(dead)
    longer = team.settled()
    backoff = C.find_condition(longer.status.agents["boom"].conditions, C.CRASH_LOOP_BACK_OFF)
    assert backoff is not None and backoff.status == "True"
    assert "back-off 20s" in backoff.message

    proc = team.cli("reconcile", "--once")
    assert proc.returncode == 1
    assert "CrashLoopBackOff" in proc.stdout


def test_spec_changes_touch_only_what_changed(team: TeamWorkspace) -> None:
    """env change recreates one agent; removal stops; addition creates; pause stops."""
    team.write_spec(THREE_AGENTS)
    team.converge()
    before = pids(team)

    team.write_spec(THREE_AGENTS.replace("COLOR: blue", "COLOR: red"))
    team.converge()
    after = pids(team)
    assert after["alpha"] == before["alpha"]
    assert after["gamma"] == before["gamma"]
    assert after["beta"] != before["beta"]

    team.write_spec(
        THREE_AGENTS.replace(
            '  - id: gamma\n    provider: shell\n    command: ["sleep", "3600"]\n',
            "  - id: delta\n    provider: fake\n",
        )
    )
    team.converge()
    names = sorted(p.window_name for p in team.panes())
    assert names == ["alpha", "beta", "delta"]
    assert pids(team)["alpha"] == before["alpha"]

    team.write_spec(
        THREE_AGENTS.replace(
            "  - id: alpha\n    provider: fake\n",
            "  - id: alpha\n    provider: fake\n    paused: true\n",
        )
    )
    result = team.converge()
    assert "alpha" not in {p.agent for p in team.agent_panes()}
    alpha = C.find_condition(result.status.agents["alpha"].conditions, C.READY)
    assert alpha is not None and (alpha.status, alpha.reason) == ("False", "Paused")
    assert C.is_true(result.status.conditions, C.READY)


@pytest.mark.parametrize(
    ("mutation", "where"),
    [
        pytest.param(
            lambda s: s.replace("team: {name: life}", "team: {name: life"), ":3:", id="yaml-syntax"
        ),
        pytest.param(
            lambda s: s.replace("provider: shell", "provider: shell\n    bogus: 1"),
            ":11:5",
            id="unknown-key",
        ),
        pytest.param(lambda s: s.replace("COLOR: blue", "COLOR: [1]"), ":8:18", id="wrong-type"),
    ],
)
def test_invalid_spec_touches_nothing(team: TeamWorkspace, mutation, where: str) -> None:  # type: ignore[no-untyped-def]
    """A bad spec → exit 2 naming line:column; running agents keep their pids."""
    team.write_spec(THREE_AGENTS)
    team.converge()
    before = pids(team)
    good = team.spec_path.read_text()
    team.spec_path.write_text(mutation(good))

    proc = team.cli("reconcile", "--once")

    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"team.spec.yaml{where}" in proc.stderr
    assert pids(team) == before
    status = team.status()
    stalled = C.find_condition(status.conditions, C.STALLED)
    assert stalled is not None and (stalled.status, stalled.reason) == ("True", "SpecInvalid")
    assert status.specError is not None and status.specError.line >= 1
    validate = team.cli("validate")
    assert validate.returncode == 2 and where in validate.stderr


def test_kill_server_recreates_each_agent_once(team: TeamWorkspace) -> None:
    """`tmux kill-server` → the next pass recreates the session and each agent once."""
    team.write_spec(THREE_AGENTS)
    team.converge()
    team.tmux.kill_server()

    result = team.reconcile()

    creates = [a.render() for a in result.plan.actions]
    assert len(creates) == 3 and all(line.startswith("create") for line in creates)
    assert "new session" in creates[0]
    team.converge()
    assert windows_per_agent(team) == Counter({"alpha": 1, "beta": 1, "gamma": 1})


def test_concurrent_reconcilers_never_duplicate(team: TeamWorkspace) -> None:
    """Three `reconcile --once` started together → one window per agent."""
    import subprocess
    import sys

    team.write_spec(THREE_AGENTS)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "reconciler",
                "-f",
                str(team.spec_path),
                "reconcile",
                "--once",
                "--lock-timeout",
                "30s",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(3)
    ]
    codes = [p.wait(timeout=60) for p in procs]
    assert all(code in (0, 1) for code in codes), codes
    assert windows_per_agent(team) == Counter({"alpha": 1, "beta": 1, "gamma": 1})


def test_unmarked_window_is_never_touched(team: TeamWorkspace) -> None:
    """A window without our markers in our session survives passes and `down`."""
    team.write_spec(THREE_AGENTS)
    team.converge()
    session = "team-life"
    lines = team.tmux.run(
        "new-window",
        "-d",
        "-t",
        f"={session}:",
        "-n",
        "alpha",
        "-P",
        "-F",
        "#{pane_id}",
        "--",
        "sleep",
        "3600",
    )
    foreign = lines[0]

    result = team.reconcile()
    assert result.plan.empty
    proc = team.cli("down")
    assert proc.returncode == 0, proc.stderr

    remaining = team.panes()
    assert [p.pane_id for p in remaining] == [foreign]
    assert not remaining[0].dead


def test_plan_shows_changes_and_changes_nothing(team: TeamWorkspace) -> None:
    """`plan` on a converged team → exit 0; after an edit → the create line, exit 1, no pane."""
    team.write_spec(THREE_AGENTS)
    team.converge()
    status_before = (team.root / ".team" / "status.json").read_text()
    clean = team.cli("plan")
    assert clean.returncode == 0, clean.stderr
    assert "no changes" in clean.stdout

    team.write_spec(THREE_AGENTS + "  - id: delta\n    provider: fake\n")
    changed = team.cli("plan", "-o", "json")

    assert changed.returncode == 1, changed.stderr
    lines = [a["line"] for a in json.loads(changed.stdout)["actions"]]
    assert lines == ["create  agent/delta in session team-life (missing)"]
    assert not team.agent_panes("delta")
    assert (team.root / ".team" / "status.json").read_text() == status_before


def test_a_backtracking_readiness_pattern_is_reported_not_waited_for(
    team: TeamWorkspace,
) -> None:
    """`(a|aa)+$` on a line of 3000 `a`s would take longer than the universe is old with
    `re`; the pass ends at once and says why the agent is not Ready."""
    team.write_spec(
        """\
        version: 1
        team: {name: slowre}
        agents:
          - id: impl
            provider: shell
            command: ["python3", "-c", "print('a' * 3000 + '!'); import time; time.sleep(600)"]
            readiness: {pattern: "(a|aa)+$"}
        """
    )
    team.reconcile()

    def reported() -> str | None:
        began = time.monotonic()
        result = team.reconcile()
        assert time.monotonic() - began < 5, "a pass waited on the pattern"
        ready = C.find_condition(result.status.agents["impl"].conditions, C.READY)
        return ready.message if ready is not None and ready.reason == C.PATTERN_TOO_SLOW else None

    message = retry_until(reported, timeout=15)
    assert "(a|aa)+$" in message and "backtracks" in message

"""`pause`, `resume`, `restart AGENT` end to end (issue 12, C12): real tmux on a private
socket, fake agents, the verbs as real `team-agent` processes.

The verbs only edit the spec; each test checks that the reconciler converges on the
edit, both by the next `reconcile --once` (with `plan` showing the pending action in
between) and under a running `team-agent run`, and that a restart happens exactly once.
The stub Claude CLI shows that resume and restart come back in the same provider session.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import psutil
import pytest

from reconciler.api import conditions as C
from reconciler.api.spec import restart_token
from reconciler.api.status import AgentStatus
from reconciler.observe.world import Pane
from reconciler.specfile.load import load_spec
from tests.conftest import TeamWorkspace, retry_until
from tests.e2e.conftest import StartRun
from tests.e2e.stubenv import stub_env
from tests.e2e.test_sessions import resumed

pytestmark = pytest.mark.e2e

SPEC = """\
# two fake agents
version: 1
team: {name: intent}
agents:
  - id: impl   # the implementer
    provider: fake
  - id: docs
    provider: fake
"""


def only_pane(team: TeamWorkspace, agent: str) -> Pane:
    (pane,) = team.agent_panes(agent)
    assert not pane.dead and pane.pane_pid is not None
    return pane


def stopped(pane: Pane) -> bool:
    """The pane's process is no longer running: gone, or a zombie its tmux server has not
    collected yet (tmux/tmux#311); neither is running the agent."""
    assert pane.pane_pid is not None
    try:
        return psutil.Process(pane.pane_pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def ready_reason(status: AgentStatus) -> tuple[str, str]:
    found = C.find_condition(status.conditions, C.READY)
    assert found is not None
    return found.status, found.reason


def requested(team: TeamWorkspace, agent: str) -> str:
    declared = next(a for a in load_spec(team.spec_path).spec.agents if a.id == agent)
    assert declared.restarted_at is not None
    return restart_token(declared.restarted_at)


def verb(team: TeamWorkspace, *args: str) -> str:
    done = team.cli(*args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def plan_text(team: TeamWorkspace) -> str:
    done = team.cli("plan")
    assert done.returncode == 1, done.stdout + done.stderr  # 1: there is something to do
    return done.stdout


def reconcile_until_ready(team: TeamWorkspace) -> None:
    done = team.cli("reconcile", "--once", "--wait", "30s")
    assert done.returncode == 0, done.stdout + done.stderr


def test_pause_resume_restart_converge_by_the_next_reconcile_once(team: TeamWorkspace) -> None:
    team.write_spec(SPEC)
    reconcile_until_ready(team)
    first = only_pane(team, "impl")
    docs = only_pane(team, "docs")

    assert verb(team, "pause", "impl").startswith("agent/impl: paused: true")
    assert "# the implementer\n    paused: true\n" in team.spec_path.read_text()
    assert f"stop    agent/impl window {first.window_id} (paused)" in plan_text(team)
    reconcile_until_ready(team)  # exit 0: a paused agent does not hold the team's Ready

    assert team.agent_panes("impl") == []
    assert stopped(first)
    status = team.status()
    assert ready_reason(status.agents["impl"]) == (C.FALSE, C.PAUSED)
    assert C.is_true(status.conditions, C.READY)

    verb(team, "resume", "impl")
    assert "create  agent/impl in session team-intent (resumed)" in plan_text(team)
    reconcile_until_ready(team)

    resumed_pane = only_pane(team, "impl")
    assert ready_reason(team.status().agents["impl"]) == (C.TRUE, C.RUNNING)

    verb(team, "restart", "impl")
    assert f"recreate agent/impl pane {resumed_pane.pane_id} (restart requested)" in plan_text(team)
    reconcile_until_ready(team)

    restarted = only_pane(team, "impl")
    assert restarted.pane_id == resumed_pane.pane_id
    assert restarted.pane_pid != resumed_pane.pane_pid
    assert team.status().agents["impl"].restartedAt == requested(team, "impl")
    assert only_pane(team, "docs").pane_pid == docs.pane_pid  # the others untouched

    # The request is applied: further passes restart nobody.
    again = team.cli("reconcile", "--once")
    assert again.returncode == 0, again.stdout
    assert team.cli("plan").returncode == 0
    assert only_pane(team, "impl").pane_pid == restarted.pane_pid


@pytest.fixture
def running(team: TeamWorkspace, run_loop: StartRun) -> subprocess.Popen[str]:
    team.write_spec(SPEC)
    return run_loop(timeout=30)


def _agent_ready(team: TeamWorkspace, agent: str) -> bool:
    try:
        status = team.status().agents.get(agent)
    except (AssertionError, OSError, ValueError):
        return False
    return status is not None and C.is_true(status.conditions, C.READY)


def _a_pass_after(team: TeamWorkspace, pass_id: str | None) -> bool:
    last = team.status().lastReconcile
    return last is not None and last.id != pass_id


def test_pause_resume_restart_converge_under_run(
    team: TeamWorkspace, running: subprocess.Popen[str]
) -> None:
    first = only_pane(team, "impl")

    verb(team, "pause", "impl")
    retry_until(lambda: not team.agent_panes("impl"), timeout=15)
    retry_until(lambda: ready_reason(team.status().agents["impl"]) == (C.FALSE, C.PAUSED))
    assert C.is_true(team.status().conditions, C.READY)
    assert stopped(first)

    verb(team, "resume", "impl")
    retry_until(lambda: team.agent_panes("impl") and _agent_ready(team, "impl"), timeout=15)
    resumed_pane = only_pane(team, "impl")

    verb(team, "restart", "impl")

    def restarted() -> bool:
        panes = team.agent_panes("impl")
        return len(panes) == 1 and panes[0].pane_pid not in (None, resumed_pane.pane_pid)

    retry_until(restarted, timeout=15)
    retry_until(lambda: _agent_ready(team, "impl"), timeout=15)
    new = only_pane(team, "impl")
    assert new.pane_id == resumed_pane.pane_id
    assert team.status().agents["impl"].restartedAt == requested(team, "impl")

    # Exactly once: make `run` pass again (an unrelated wake), then the pid is the same.
    last = team.status().lastReconcile
    before = last.id if last is not None else None
    (team.root / ".team" / "wake").touch()
    retry_until(lambda: _a_pass_after(team, before), timeout=15)
    assert only_pane(team, "impl").pane_pid == new.pane_pid
    assert running.poll() is None


def test_resume_and_restart_come_back_in_the_same_provider_session(
    team: TeamWorkspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a CLI that has sessions (the Claude stub): restart and pause-then-resume both
    start it with `--resume <the captured id>`, as a crash restart does."""
    env = stub_env(team, tmp_path, monkeypatch)
    env.trust_all(team.root.resolve())
    team.write_spec("version: 1\nteam: {name: sess}\nagents:\n  - id: lead\n    provider: claude\n")
    team.converge()
    first = env.converse("lead")
    sid = first.sessionId
    assert sid is not None

    verb(team, "restart", "lead")
    after_restart = team.converge().status.agents["lead"]
    assert len(env.starts("claude")) == 2
    assert resumed(env.starts("claude")[-1], "claude", sid)
    assert after_restart.sessionId == sid

    verb(team, "pause", "lead")
    team.converge()
    assert team.agent_panes("lead") == []
    verb(team, "resume", "lead")
    back = team.converge().status.agents["lead"]
    assert len(env.starts("claude")) == 3
    assert resumed(env.starts("claude")[-1], "claude", sid)
    assert back.sessionId == sid

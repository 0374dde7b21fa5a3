"""Renaming the team under `team-agent run`: a workspace holds one team, never two.

* `team.name` changed (no `team.id`): the team id changes with it, so the panes marked
  with the old id are the previous incarnation of this very team. They are replaced:
  stopped first, then the new agents created; at no moment do two agents of one id run.
* `team.name` changed with `team.id` kept: nothing restarts; the tmux session is renamed
  (`team-<name>`) with every agent in it, same panes, same processes.

Another workspace's team on the same server, with the same name, is never touched.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

import psutil
import pytest

from controllers.agents.actions import RenameSession
from controllers.registry import default_controllers
from reconciler.api import conditions as C
from reconciler.apply.executor import ApplyContext, apply_plan
from reconciler.observe.world import observe
from tests.conftest import TeamWorkspace, retry_until
from tests.e2e.conftest import StartRun, ready
from tests.e2e.stubenv import stub_env
from tests.e2e.test_sessions import resumed

pytestmark = pytest.mark.e2e


def spec(name: str, *, team_id: str | None = None) -> str:
    team = f"{{name: {name}, id: {team_id}}}" if team_id else f"{{name: {name}}}"
    return f"""\
version: 1
team: {team}
agents:
  - id: one
    provider: fake
  - id: two
    provider: fake
"""


def live_agents(team: TeamWorkspace) -> Counter[str]:
    """Live agent panes marked with this workspace, per agent id (whatever the team id)."""
    workspace = str(team.root.resolve())
    return Counter(p.agent for p in team.agent_panes() if p.workspace == workspace and not p.dead)


def test_renamed_team_replaces_its_agents_never_doubles_them(
    team: TeamWorkspace, tmp_path: Path, run_loop: StartRun
) -> None:
    """name alpha → beta under `run`: one pane per agent, all marked beta, the old agents'
    processes gone, never two live agents of one id; the other workspace's alpha team
    keeps its processes."""
    other = TeamWorkspace(root=tmp_path / "other", socket=team.socket)
    other.root.mkdir()
    other.write_spec(spec("alpha") + "runtime:\n  session_name: team-other\n")
    other.converge()
    elsewhere = str(other.root.resolve())
    theirs = {p.pane_id: p.pane_pid for p in other.agent_panes() if p.workspace == elsewhere}
    assert len(theirs) == 2

    team.write_spec(spec("alpha"))
    run_loop(timeout=30)
    workspace = str(team.root.resolve())
    old = [p for p in team.agent_panes() if p.workspace == workspace]
    assert sorted(p.agent for p in old) == ["one", "two"]
    assert {p.team for p in old} == {"alpha"}

    team.write_spec(spec("beta"))
    most: Counter[str] = Counter()
    deadline = time.monotonic() + 30
    while True:
        counts = live_agents(team)
        most |= counts
        mine = [p for p in team.agent_panes() if p.workspace == workspace]
        if ready(team, "beta") and {p.team for p in mine} == {"beta"}:
            break
        assert time.monotonic() < deadline, f"not replaced: {[(p.team, p.agent) for p in mine]}"
        time.sleep(0.02)

    assert max(most.values()) == 1, f"two agents of one id ran at once: {most}"
    mine = [p for p in team.agent_panes() if p.workspace == workspace]
    assert sorted(p.agent for p in mine) == ["one", "two"]
    assert {p.session_name for p in mine} == {"team-beta"}
    assert not any(psutil.pid_exists(p.pane_pid or 0) for p in old)
    assert {p.pane_id: p.pane_pid for p in other.agent_panes() if p.workspace == elsewhere} == (
        theirs
    )
    assert team.status().orphans == []


def test_renamed_team_with_its_id_kept_restarts_nothing(
    team: TeamWorkspace, run_loop: StartRun
) -> None:
    """name alpha → beta with `team.id: squad` kept: the session is renamed to team-beta
    and holds the same panes running the same processes; no restart, no new pane."""
    team.write_spec(spec("alpha", team_id="squad"))
    run_loop(timeout=30)
    before = {p.agent: (p.pane_id, p.pane_pid) for p in team.agent_panes()}
    assert {p.session_name for p in team.agent_panes()} == {"team-alpha"}

    team.write_spec(spec("beta", team_id="squad"))
    retry_until(lambda: {p.session_name for p in team.agent_panes()} == {"team-beta"}, timeout=10)
    retry_until(lambda: ready(team, "squad"), timeout=10)

    after = {p.agent: (p.pane_id, p.pane_pid) for p in team.agent_panes()}
    assert after == before
    status = team.status()
    assert all(a.restartCount == 0 for a in status.agents.values())
    assert {a.pid for a in status.agents.values()} == {pid for _, pid in before.values()}


def test_replaced_agent_resumes_its_provider_session(
    team: TeamWorkspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A renamed team's agent with the same id resumes the conversation its former self
    had (the stub Claude CLI, `--resume <id>`): the rename changes who it reports to,
    not what it was working on."""
    env = stub_env(team, tmp_path, monkeypatch)
    env.trust_all(team.root.resolve())
    body = "agents:\n  - id: worker\n    provider: claude\n"
    team.write_spec("version: 1\nteam: {name: alpha}\n" + body)
    team.converge()
    first = env.converse("worker", "before the rename")
    assert first.sessionId is not None

    team.write_spec("version: 1\nteam: {name: beta}\n" + body)
    done = env.passes_until(
        lambda r: (
            r.status.team == "beta" and C.is_true(r.status.agents["worker"].conditions, C.READY)
        )
    )

    panes = [p for p in team.agent_panes("worker") if not p.dead]
    assert [p.team for p in panes] == ["beta"]
    assert resumed(env.starts("claude")[-1], "claude", first.sessionId)
    assert done.status.agents["worker"].sessionId == first.sessionId


def test_down_after_a_rename_stops_the_former_agents_too(team: TeamWorkspace) -> None:
    """Renamed with no pass since: `down` stops this workspace's agents under either id."""
    team.write_spec(spec("alpha"))
    team.converge()
    team.write_spec(spec("beta"))

    done = team.cli("down")

    assert done.returncode == 0, done.stderr
    workspace = str(team.root.resolve())
    assert [p.agent for p in team.agent_panes() if p.workspace == workspace] == []


def test_a_session_renamed_since_the_snapshot_is_not_renamed_again(team: TeamWorkspace) -> None:
    """The executor re-reads the session right before renaming it: one a person renamed
    since the snapshot is refused (a failed outcome), and keeps the person's name."""
    team.write_spec(spec("alpha", team_id="squad"))
    team.converge()
    world = observe(team.tmux)
    session_id = team.agent_panes()[0].session_id
    workspace = str(team.root.resolve())
    team.tmux.run("rename-session", "-t", session_id, "persons-name")
    move = RenameSession(
        session=session_id,
        old="team-alpha",
        new="team-beta",
        workspace=workspace,
        server_pid=world.server_pid,
    )
    ctx = ApplyContext(
        tmux=team.tmux,
        world=world,
        team_id="squad",
        workspace=workspace,
        state_dir=team.root / ".team",
        python=sys.executable,
    )

    (outcome,) = apply_plan([move], ctx, default_controllers())

    assert not outcome.ok and "no longer team-alpha" in outcome.message
    assert {p.session_name for p in team.agent_panes()} == {"persons-name"}

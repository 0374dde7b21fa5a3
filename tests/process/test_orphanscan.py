"""The process scan over real processes (this test's children): exec_agent's pid marker,
an agent pid recorded outside any pane, other teams' processes and the leader's. The
pure selection (`is_run_daemon`) is in tests/unit/test_orphanscan.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import msgspec

from controllers.orphans.observe import observe_orphans
from reconciler.api import launch
from reconciler.api.status import AgentStatus, TeamStatus
from reconciler.launcher import exec_agent
from reconciler.observe.procs import scan
from reconciler.observe.world import World

REPO = Path(__file__).resolve().parents[2]


def test_exec_agent_marks_the_pane_process_with_its_own_pid(tmp_path: Path) -> None:
    """The agent sees TEAM_AGENT_PANE_PID equal to its own pid (exec keeps the pid)."""
    assert exec_agent.ENV_PANE_PID == launch.ENV_PANE_PID
    program = (
        "import os,json;print(json.dumps([os.getpid(), os.environ.get('TEAM_AGENT_PANE_PID')]))"
    )
    path = tmp_path / "impl.json"
    path.write_text(
        json.dumps({"argv": [sys.executable, "-c", program], "cwd": str(tmp_path), "env": {}})
    )
    done = subprocess.run(
        [sys.executable, "-m", "reconciler.launcher.exec_agent", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO), launch.ENV_PANE_PID: "1"},
        check=True,
    )
    pid, marked = json.loads(done.stdout)
    assert marked == str(pid)  # the inherited value was replaced, not kept


def test_a_recorded_agent_pid_outside_any_pane_is_read_and_reported(tmp_path: Path) -> None:
    """A process of ours whose pid the status recorded, with no pane in the snapshot: its
    environment is read (it is a candidate) and it comes back as a marked process."""
    env = {
        **os.environ,
        launch.ENV_TEAM_ID: "demo",
        launch.ENV_AGENT_ID: "impl",
        launch.ENV_WORKSPACE: str(tmp_path),
    }
    child = subprocess.Popen(["sleep", "30"], env=env, start_new_session=True)
    try:
        table = scan()
        world = World(server_running=False, panes=(), processes=table, observed_at=0.0)
        previous = msgspec.structs.replace(
            TeamStatus.empty("demo"), agents={"impl": AgentStatus(pid=child.pid)}
        )

        facts = observe_orphans(
            world, team_id="demo", workspace=str(tmp_path), socket_name=None, previous=previous
        )

        found = [p for p in facts.processes if p.pid == child.pid]
        assert len(found) == 1
        (marked,) = found
        assert (marked.team, marked.agent, marked.workspace) == ("demo", "impl", str(tmp_path))
        assert marked.leads_group and not marked.group_ours  # no TEAM_AGENT_PANE_PID: not ours
        assert facts.stats.environ_reads >= 1
        assert facts.workspaces[str(tmp_path)].exists
    finally:
        child.kill()
        child.wait(timeout=10)


def test_other_teams_processes_off_this_server_are_not_read_into_the_facts(tmp_path: Path) -> None:
    env = {
        **os.environ,
        launch.ENV_TEAM_ID: "someone-else",
        launch.ENV_AGENT_ID: "impl",
        launch.ENV_WORKSPACE: "/elsewhere",
        "TMUX": "/tmp/tmux-0/not-our-server,1,0",
    }
    child = subprocess.Popen(["sleep", "30"], env=env, start_new_session=True)
    try:
        world = World(server_running=False, panes=(), processes=scan(), observed_at=0.0)
        previous = msgspec.structs.replace(
            TeamStatus.empty("demo"), agents={"impl": AgentStatus(pid=child.pid)}
        )

        facts = observe_orphans(
            world, team_id="demo", workspace=str(tmp_path), socket_name="ours", previous=previous
        )

        assert all(p.pid != child.pid for p in facts.processes)
    finally:
        child.kill()
        child.wait(timeout=10)


def test_a_process_carrying_the_leaders_uuid_is_never_an_agent(tmp_path: Path) -> None:
    """Even with every agent variable of ours: the leader, or what it started, is not ours."""
    env = {
        **os.environ,
        launch.ENV_TEAM_ID: "demo",
        launch.ENV_AGENT_ID: "impl",
        launch.ENV_WORKSPACE: str(tmp_path),
        "TEAM_AGENT_LEADER_SESSION_UUID": "0d1c5f4e-leader",
    }
    child = subprocess.Popen(["sleep", "30"], env=env, start_new_session=True)
    try:
        world = World(server_running=False, panes=(), processes=scan(), observed_at=0.0)
        previous = msgspec.structs.replace(
            TeamStatus.empty("demo"), agents={"impl": AgentStatus(pid=child.pid)}
        )

        facts = observe_orphans(
            world, team_id="demo", workspace=str(tmp_path), socket_name=None, previous=previous
        )

        assert facts.stats.environ_reads >= 1  # it was a candidate and was read
        assert all(p.pid != child.pid for p in facts.processes)
    finally:
        child.kill()
        child.wait(timeout=10)

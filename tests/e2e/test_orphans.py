"""Orphans against real processes and a real tmux server on a private socket.

Every process a test starts itself (the look-alikes, the agents that outlive their pane)
is recorded by pid and create time in `spawned` and SIGKILLed at the end if it is still
the same process, so a failing test leaves nothing behind and never touches a process it
did not start. Agents that outlive their pane are fake agents run with `--ignore-sighup`
(a CLI that survives its pane); look-alikes run the same command line without our
markers, re-parented to init (the launcher exits) or left by a killed unmarked pane of
the same tmux server, so orphan detection reads their environment and must refuse them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import msgspec
import psutil
import pytest

from controllers.agents.actions import StopAgent
from controllers.orphans.actions import ReapOrphan
from controllers.orphans.observe import observe_orphans, tmux_socket_path
from controllers.orphans.plan import plan_orphans
from controllers.registry import default_controllers
from controllers.team.desired import desired_team
from reconciler.api import conditions as C
from reconciler.api import markers
from reconciler.api.actions import ProcessRef
from reconciler.apply.executor import ApplyContext, apply_plan
from reconciler.observe.procs import create_time_of, is_same_process, signal_process
from reconciler.observe.world import observe
from reconciler.specfile.load import load_spec
from reconciler.store.eventlog import EventLog
from reconciler.store.lock import LOCK_FILE, LockHolder, read_holder
from tests.conftest import TeamWorkspace, retry_until

pytestmark = pytest.mark.e2e

FAKE_ARGV = [sys.executable, "-m", "reconciler.fakeagent.agent", "--ignore-sighup"]
SLEEP = ["sleep", "3600"]


def spec(name: str, *, policy: str = "report") -> str:
    return f"""\
        version: 1
        team: {{name: {name}}}
        agents:
          - id: keeper
            provider: fake
            args: ["--ignore-sighup"]
          - id: plain
            provider: shell
            command: ["sleep", "3600"]
        orphans: {{policy: {policy}}}
        """


@dataclass
class Spawned:
    """Processes this test started, killed at the end only while still the same process."""

    procs: list[tuple[int, float]] = field(default_factory=list)

    def track(self, pid: int) -> tuple[int, float]:
        created = create_time_of(pid)
        assert created is not None, f"pid {pid} is already gone"
        self.procs.append((pid, created))
        return pid, created

    def detached(self, argv: list[str]) -> tuple[int, float]:
        """Start `nohup ARGV` without our markers, re-parented to init (its launcher exits)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("TEAM_AGENT_")}
        launcher = (
            "import subprocess,sys;"
            "p=subprocess.Popen(sys.argv[1:],stdin=subprocess.DEVNULL,"
            "stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL,start_new_session=True);"
            "print(p.pid)"
        )
        done = subprocess.run(
            [sys.executable, "-c", launcher, "nohup", *argv],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        return self.track(int(done.stdout))

    def cleanup(self) -> None:
        for pid, created in self.procs:
            signal_process(pid, created, signal.SIGKILL)


@pytest.fixture(autouse=True)
def spawned(team: TeamWorkspace) -> Iterator[Spawned]:
    """What the test started; at the end also every pane process of the test's server,
    since a SIGHUP-ignoring agent would outlive the server the `team` fixture kills."""
    found = Spawned()
    yield found
    with contextlib.suppress(Exception):  # cleanup must never mask the test's failure
        for pane in team.panes():
            if pane.pane_pid and not pane.dead:
                found.track(pane.pane_pid)
    with contextlib.suppress(Exception):
        found.cleanup()


@pytest.fixture
def team_b(team: TeamWorkspace, tmp_path: Path) -> TeamWorkspace:
    """A second workspace on the same tmux server as `team`."""
    root = tmp_path / "ws-b"
    root.mkdir()
    return TeamWorkspace(root=root, socket=team.socket)


def alive(ident: tuple[int, float]) -> bool:
    return is_same_process(*ident) and psutil.Process(ident[0]).status() != psutil.STATUS_ZOMBIE


def gone(ident: tuple[int, float]) -> bool:
    try:
        return not alive(ident)
    except psutil.NoSuchProcess:
        return True


def pane_of(team: TeamWorkspace, agent: str) -> tuple[str, tuple[int, float]]:
    (pane,) = [p for p in team.agent_panes(agent) if p.workspace == str(team.root.resolve())]
    assert pane.pane_pid is not None
    return pane.pane_id, (pane.pane_pid, create_time_of(pane.pane_pid) or 0.0)


def lose_pane(team: TeamWorkspace, spawned: Spawned, agent: str = "keeper") -> tuple[int, float]:
    """Kill the agent's pane; its SIGHUP-ignoring process lives on (an orphan to be)."""
    pane_id, ident = pane_of(team, agent)
    spawned.procs.append(ident)
    team.tmux.run("kill-pane", "-t", pane_id)
    retry_until(lambda: not any(p.pane_id == pane_id for p in team.panes()))
    assert alive(ident), "the agent did not outlive its pane"
    return ident


def orphans_cli(team: TeamWorkspace, *args: str) -> tuple[int, dict[str, Any]]:
    done = team.cli("orphans", "-o", "json", *args)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


def lookalikes(team: TeamWorkspace, spawned: Spawned) -> list[tuple[int, float]]:
    """Same command lines and names as our agents, no markers: init's children, a process
    left by a killed unmarked pane of the same server, and a live unmarked pane."""
    found = [spawned.detached(FAKE_ARGV), spawned.detached(SLEEP)]
    for session, argv in (("person-gone", FAKE_ARGV), ("person-live", SLEEP)):
        out = team.tmux.run(
            "new-session", "-d", "-s", session, "-P", "-F", "#{pane_pid} #{pane_id}", *argv
        )
        pid, pane_id = out[0].split()
        found.append(spawned.track(int(pid)))
        if session == "person-gone":  # it outlives its pane, as the agent does
            retry_until(
                lambda p=pane_id: "fake>" in "".join(team.tmux.run("capture-pane", "-pt", p))
            )
            team.tmux.run("kill-pane", "-t", pane_id)
    return found


def events(team: TeamWorkspace, reason: str) -> list[str]:
    return [e.object for e in EventLog(team.root / ".team").read(limit=500) if e.reason == reason]


def identities(team: TeamWorkspace) -> dict[str, tuple[str, int | None]]:
    ws = str(team.root.resolve())
    return {p.agent: (p.pane_id, p.pane_pid) for p in team.agent_panes() if p.workspace == ws}


# --- (b): an agent that survives its pane -----------------------------------------------


def test_agent_outliving_its_pane_is_reported_then_reaped_and_only_it(
    team: TeamWorkspace, spawned: Spawned
) -> None:
    team.write_spec(spec("keep"))
    team.converge()
    lookalike = lookalikes(team, spawned)
    orphan = lose_pane(team, spawned)

    result = team.converge()  # the agents controller makes a new pane; the old process stays

    assert [(o.kind, o.pid, o.pidCreateTime) for o in result.status.orphans] == [
        ("process", orphan[0], orphan[1])
    ]
    found = C.find_condition(result.status.conditions, C.ORPHANS_FOUND)
    assert found is not None and found.status == C.TRUE
    assert found.message.startswith("1 orphan found (1 process)")
    assert alive(orphan), "reported only: nothing is killed by default"
    after_converge = identities(team)

    code, listed = orphans_cli(team)
    assert (code, listed["count"], listed["orphans"][0]["pid"]) == (1, 1, orphan[0])
    assert alive(orphan)

    code, reaped = orphans_cli(team, "--reap")

    assert code == 0, reaped
    assert reaped["reaped"] == [
        {
            "resource": f"orphan/process/{orphan[0]}",
            "ok": True,
            "message": f"pid {orphan[0]}: SIGTERM to its process group, gone",
        }
    ]
    retry_until(lambda: gone(orphan))
    assert all(alive(p) for p in lookalike), "a look-alike without markers was signalled"
    assert identities(team) == after_converge, "the team's own agents were touched"
    assert events(team, "Reaped") == [f"orphan/process/{orphan[0]}"]
    assert events(team, "OrphanFound") == [f"orphan/process/{orphan[0]}"]
    assert team.status().orphans == []  # `--reap` records what is left
    cleared = team.reconcile()
    assert C.is_false(cleared.status.conditions, C.ORPHANS_FOUND)
    assert cleared.status.orphans == []


def test_lookalikes_without_markers_are_never_signalled(
    team: TeamWorkspace, spawned: Spawned
) -> None:
    """Same command line, same name, no markers: not reported, not signalled, even with
    `--reap` and with `orphans.policy: reap`."""
    team.write_spec(spec("alike", policy="reap"))
    team.converge()
    lookalike = lookalikes(team, spawned)

    assert orphans_cli(team) == (0, {"count": 0, "orphans": [], "reaped": []})
    assert orphans_cli(team, "--reap") == (0, {"count": 0, "orphans": [], "reaped": []})
    result = team.reconcile()

    assert result.status.orphans == []
    assert not any(isinstance(a, ReapOrphan) for a in result.plan.actions)
    assert all(alive(p) for p in lookalike)
    assert team.tmux.run("has-session", "-t", "=person-live") == []  # the live unmarked pane


def test_policy_reap_reaps_in_a_normal_pass(team: TeamWorkspace, spawned: Spawned) -> None:
    team.write_spec(spec("reaper", policy="reap"))
    team.converge()
    orphan = lose_pane(team, spawned)

    result = team.reconcile()  # one pass: a new pane for the agent, and the orphan reaped

    reaps = [o for o in result.outcomes if isinstance(o.action, ReapOrphan)]
    assert [(o.action.resource, o.ok) for o in reaps] == [(f"orphan/process/{orphan[0]}", True)]
    assert gone(orphan)
    assert events(team, "Reaped") == [f"orphan/process/{orphan[0]}"]
    assert C.is_false(team.converge().status.conditions, C.ORPHANS_FOUND)


# --- the pid re-check ---------------------------------------------------------------------


def test_a_replaced_process_is_not_signalled(team: TeamWorkspace, spawned: Spawned) -> None:
    """Detection planned a reap; the pid then names a process with another create time
    (simulated by changing the planned create time): nothing is signalled, group or not."""
    team.write_spec(spec("recheck"))
    team.converge()
    orphan = lose_pane(team, spawned)
    loaded = load_spec(team.spec_path)
    desired = desired_team(loaded.spec, loaded.workspace, python=sys.executable)
    tmux = team.tmux
    world = observe(tmux)
    facts = observe_orphans(
        world,
        team_id=desired.team_id,
        workspace=desired.workspace_marker,
        socket_name=tmux.socket_name,
        previous=team.status(),
    )
    found = plan_orphans(
        desired, world, facts, team.status(), reap=True, now=team.engine.clock.now(), generation=1
    )
    (planned,) = [a for a in found.plan.actions if isinstance(a, ReapOrphan)]
    assert planned.process == ProcessRef(*orphan) and planned.group
    ctx = ApplyContext(
        tmux=tmux,
        world=world,
        team_id=desired.team_id,
        workspace=desired.workspace_marker,
        state_dir=team.root / ".team",
        python=sys.executable,
    )
    replaced = [
        replace(planned, process=ProcessRef(orphan[0], orphan[1] + 1.0)),
        replace(planned, process=ProcessRef(orphan[0], orphan[1] - 1.0), group=False),
    ]

    outcomes = apply_plan(replaced, ctx, default_controllers())

    assert [o.ok for o in outcomes] == [False, False]
    assert all("now names another process" in o.message for o in outcomes)
    time.sleep(0.3)  # a signal, had one been sent, would have ended the fake agent by now
    assert alive(orphan)
    assert psutil.Process(orphan[0]).status() != psutil.STATUS_STOPPED

    # The observed identity still holds: reaped.
    (done,) = apply_plan([planned], ctx, default_controllers())
    assert done.ok, done.message
    assert gone(orphan)


# --- two teams on one server ----------------------------------------------------------


def test_reaping_one_teams_orphans_never_touches_the_other_team(
    team: TeamWorkspace, team_b: TeamWorkspace, spawned: Spawned
) -> None:
    team.write_spec(spec("alpha"))
    team_b.write_spec(spec("beta"))
    team.converge()
    team_b.converge()
    orphan_a = lose_pane(team, spawned)
    orphan_b = lose_pane(team_b, spawned)
    team.converge()
    team_b.converge()
    agents_a, agents_b = identities(team), identities(team_b)

    code, listed = orphans_cli(team_b)
    assert (code, [o["pid"] for o in listed["orphans"]]) == (1, [orphan_b[0]])
    code, reaped = orphans_cli(team_b, "--reap")

    assert code == 0 and [r["ok"] for r in reaped["reaped"]] == [True]
    retry_until(lambda: gone(orphan_b))
    assert alive(orphan_a), "team beta reaped team alpha's orphan"
    assert identities(team) == agents_a and identities(team_b) == agents_b
    assert team.tmux.run("has-session", "-t", "=team-alpha") == []

    code, reaped = orphans_cli(team, "--reap")
    assert code == 0 and len(reaped["reaped"]) == 1
    retry_until(lambda: gone(orphan_a))
    assert identities(team) == agents_a and identities(team_b) == agents_b


# --- (a): duplicates ------------------------------------------------------------------


def duplicate(team: TeamWorkspace, agent: str, session: str) -> str:
    """A second window carrying exactly `agent`'s markers (what a crash can leave)."""
    original = next(p for p in team.panes() if p.pane_id == team.status().agents[agent].paneId)
    if session in team.tmux.run("list-sessions", "-F", "#{session_name}"):
        out = team.tmux.run(
            "new-window", "-d", "-t", f"={session}:", "-P", "-F", "#{pane_id}", *SLEEP
        )
    else:
        out = team.tmux.run("new-session", "-d", "-s", session, "-P", "-F", "#{pane_id}", *SLEEP)
    pane_id = out[0]
    team.tmux.run_sequence(
        [
            ["set-option", "-w", "-t", pane_id, markers.WINDOW, agent],
            ["set-option", "-p", "-t", pane_id, markers.TEAM, original.team],
            ["set-option", "-p", "-t", pane_id, markers.AGENT, original.agent],
            ["set-option", "-p", "-t", pane_id, markers.WORKSPACE, original.workspace],
            ["set-option", "-p", "-t", pane_id, markers.CONFIG_HASH, original.config_hash],
        ]
    )
    return pane_id


def test_duplicate_windows_of_the_live_team_leave_exactly_one(team: TeamWorkspace) -> None:
    """The agents controller's: it stops them whatever the orphans policy says."""
    team.write_spec(spec("dup"))
    first = team.converge()
    kept = first.status.agents["plain"]
    duplicate(team, "plain", "team-dup")
    duplicate(team, "plain", "elsewhere")

    result = team.converge()

    stops = [a for a in result.plan.actions if isinstance(a, StopAgent)]
    assert len(stops) == 2
    assert not any(isinstance(a, ReapOrphan) for a in result.plan.actions)
    assert result.status.orphans == []
    (left,) = team.agent_panes("plain")
    assert (left.pane_id, left.pane_pid) == (kept.paneId, kept.pid)


def test_an_idle_teams_duplicate_is_an_orphan_of_another_team(
    team: TeamWorkspace, team_b: TeamWorkspace
) -> None:
    """Team beta is idle (no reconciler holds its lock): alpha's `orphans` reports beta's
    duplicate window and `--reap` leaves exactly the pane beta's status points to."""
    team.write_spec(spec("alpha"))
    team_b.write_spec(spec("beta"))
    team.converge()
    kept = team_b.converge().status.agents["plain"]
    extra = duplicate(team_b, "plain", "team-beta")

    code, listed = orphans_cli(team)
    assert code == 1
    assert [(o["kind"], o["paneId"], o["reason"]) for o in listed["orphans"]] == [
        ("window", extra, f"duplicate of {kept.paneId} (agent plain of {team_b.root.resolve()})")
    ]
    code, _ = orphans_cli(team, "--reap")

    assert code == 0
    assert [(p, pid) for a, (p, pid) in identities(team_b).items() if a == "plain"] == [
        (kept.paneId, kept.pid)
    ]
    assert len([p for p in team_b.agent_panes("plain") if p.team == "beta"]) == 1


# --- (c): a deleted workspace ---------------------------------------------------------


def test_a_deleted_workspaces_session_is_reported_and_reaped_only_with_reap(
    team: TeamWorkspace, team_b: TeamWorkspace, spawned: Spawned
) -> None:
    team.write_spec(spec("alpha"))
    team_b.write_spec(spec("beta"))
    team.converge()
    team_b.converge()
    _, keeper_b = pane_of(team_b, "keeper")  # ignores SIGHUP: would outlive a bare kill
    _, plain_b = pane_of(team_b, "plain")
    spawned.procs += [keeper_b, plain_b]
    agents_a = identities(team)
    shutil.rmtree(team_b.root)

    code, listed = orphans_cli(team)
    assert code == 1
    assert [(o["kind"], o["session"], o["reason"]) for o in listed["orphans"]] == [
        ("session", "team-beta", f"workspace {team_b.root.resolve()} no longer exists")
    ]
    reported = team.reconcile()  # orphans.policy report: a pass lists it, kills nothing
    assert [o.kind for o in reported.status.orphans] == ["session"]
    assert team.tmux.run("has-session", "-t", "=team-beta") == []
    assert alive(keeper_b) and alive(plain_b)

    code, reaped = orphans_cli(team, "--reap")

    assert code == 0 and [r["resource"] for r in reaped["reaped"]] == ["orphan/session/team-beta"]
    sessions = team.tmux.run("list-sessions", "-F", "#{session_name}")
    assert "team-beta" not in sessions and "team-alpha" in sessions
    retry_until(lambda: gone(keeper_b) and gone(plain_b))
    assert identities(team) == agents_a
    assert events(team, "Reaped") == ["orphan/session/team-beta"]


# --- (d): a daemon of a deleted workspace, a stale lock ------------------------------


def test_a_daemon_of_a_deleted_workspace_is_reaped(
    team: TeamWorkspace, team_b: TeamWorkspace
) -> None:
    team.write_spec(spec("alpha"))
    team.converge()
    team_b.write_spec("""\
        version: 1
        team: {name: beta}
        agents:
          - id: plain
            provider: shell
            command: ["sleep", "3600"]
        """)
    daemon = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "-f", str(team_b.spec_path), "run", "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=team_b.root,
    )
    try:
        retry_until(lambda: (team_b.root / ".team" / "status.json").exists(), timeout=20)
        retry_until(lambda: C.is_true(team_b.status().conditions, C.READY), timeout=20)
        shutil.rmtree(team_b.root)

        code, listed = orphans_cli(team)
        assert code == 1
        kinds = {(o["kind"], o["pid"]) for o in listed["orphans"]}
        assert ("daemon", daemon.pid) in kinds and ("session", None) in kinds
        assert daemon.poll() is None

        code, reaped = orphans_cli(team, "--reap")

        assert code == 0, reaped
        assert daemon.wait(timeout=15) is not None
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait(timeout=10)


def test_a_stale_lock_record_is_reported_and_cleared(
    team: TeamWorkspace, team_b: TeamWorkspace, spawned: Spawned
) -> None:
    team.write_spec(spec("alpha"))
    team_b.write_spec(spec("beta"))
    team.converge()
    team_b.converge()
    agents_b = identities(team_b)
    gone_proc = subprocess.Popen(["true"])
    gone_proc.wait(timeout=10)
    lock = team_b.root / ".team" / LOCK_FILE
    lock.write_bytes(msgspec.json.encode(LockHolder(pid=gone_proc.pid, createTime=1.0)))

    code, listed = orphans_cli(team)
    assert code == 1
    assert [(o["kind"], o["pid"]) for o in listed["orphans"]] == [("lock", gone_proc.pid)]
    code, reaped = orphans_cli(team, "--reap")

    assert code == 0, reaped
    assert read_holder(lock) is None
    assert lock.exists(), "a lock file is never unlinked"
    assert identities(team_b) == agents_b
    status = team.status()  # `--reap` records what is left: nothing
    assert status.orphans == []
    assert C.is_false(status.conditions, C.ORPHANS_FOUND)
    assert events(team, "Reaped") == [f"orphan/lock/{team_b.root.resolve()}"]


def test_socket_path_is_the_one_tmux_puts_in_panes(team: TeamWorkspace) -> None:
    """Scope by server rests on this: `TMUX` in a pane names the path we compute."""
    team.write_spec(spec("sock"))
    team.converge()
    _, (pid, _) = pane_of(team, "plain")
    tmux_env = psutil.Process(pid).environ()["TMUX"]

    assert tmux_env.split(",")[0] == tmux_socket_path(team.socket)
    assert team.tmux.run("display-message", "-p", "#{socket_path}") == [
        tmux_socket_path(team.socket)
    ]


def test_down_also_stops_what_an_agent_started_outside_its_pane(
    team: TeamWorkspace, spawned: Spawned
) -> None:
    """A tool an agent started in its own session (as Claude Code runs its Bash tool)
    outlives the pane's process group; `down` finds it by this team's markers in its
    environment and stops it, and nothing without them (look-alikes) is signalled."""
    team.write_spec(
        """\
        version: 1
        team: {name: escape}
        agents:
          - id: tool
            provider: shell
            command: ["sh", "-c", "setsid sleep 3600 & exec sleep 3600"]
        """
    )
    team.converge()
    pane_pid = team.agent_panes("tool")[0].pane_pid
    assert pane_pid is not None

    def escaped() -> int | None:
        for proc in psutil.process_iter(["pid", "name"]):
            try:
                env = proc.environ()
                sid = os.getsid(proc.pid)
            except (psutil.Error, OSError):
                continue
            ours = env.get("TEAM_AGENT_WORKSPACE") == str(team.root.resolve())
            if ours and proc.info["name"] == "sleep" and sid not in (pane_pid, os.getsid(0)):
                return int(proc.info["pid"])
        return None

    tool = spawned.track(retry_until(escaped))
    lookalike = lookalikes(team, spawned)

    done = team.cli("down")

    assert done.returncode == 0, done.stderr
    retry_until(lambda: gone(tool))
    assert all(alive(p) for p in lookalike), "a process without our markers was signalled"

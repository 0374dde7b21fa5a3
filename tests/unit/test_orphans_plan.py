"""The orphans controller's pure plan: which marked things are orphans, and what reaping does.

In-memory worlds (tests/unit/builders.py) and hand-made `OrphanFacts` stand in for the
observation; the plan is compared as data and as the golden text `team-agent plan` prints.
Our team is "demo" in workspace /ws (session team-demo) unless a case says otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import pytest

from controllers.base import Facts, PassInputs
from controllers.orphans.actions import ReapOrphan
from controllers.orphans.controller import OrphansController
from controllers.orphans.daemons import Daemon
from controllers.orphans.observe import MarkedProcess, OrphanFacts, WorkspaceFacts
from controllers.orphans.plan import OrphansResult as Result
from controllers.orphans.plan import plan_orphans
from reconciler.api import conditions as C
from reconciler.api.status import OrphanStatus, TeamStatus
from reconciler.observe.procs import ProcessInfo, ProcessTable
from reconciler.observe.world import Pane, World
from reconciler.specfile.load import LoadedSpec
from reconciler.store.lock import LockHolder
from tests.unit.builders import (
    GENERATION,
    NOW,
    SERVER_PID,
    STARTED,
    ProcessRow,
    desired,
    pane,
    shell,
    spec,
    team_status,
    ts,
    world,
)

UID = 1000  # the uid `builders.process_table` gives every row
SOCKET = "/tmp/tmux-1000/default"
T0 = ts(STARTED)
TEAM = desired(shell("impl"), shell("docs"))
LIVE_HOLDER = LockHolder(pid=50, createTime=T0)


def ws(
    path: str,
    *,
    exists: bool = True,
    live: bool = False,
    team: str | None = None,
    agents: dict[str, str | None] | None = None,
    holder: LockHolder | None = None,
) -> WorkspaceFacts:
    return WorkspaceFacts(
        path=path,
        exists=exists,
        holder=holder if holder is not None else (LIVE_HOLDER if live else None),
        holder_alive=live,
        team=team,
        agents=agents or {},
    )


OURS = ws("/ws", live=True, holder=LIVE_HOLDER)
GONE = ws("/gone", exists=False)


def facts(
    *workspaces: WorkspaceFacts,
    processes: Sequence[MarkedProcess] = (),
    daemons: Sequence[Daemon] = (),
) -> OrphanFacts:
    found = {OURS.path: OURS, **{w.path: w for w in workspaces}}
    return OrphanFacts(
        uid=UID,
        socket_path=SOCKET,
        workspaces=found,
        processes=tuple(processes),
        daemons=tuple(daemons),
    )


def scene(*panes: Pane, rows: Sequence[ProcessRow] = ()) -> World:
    """A world with the tmux server and every live pane's process in the table."""
    table: list[ProcessRow] = [(SERVER_PID, 1, "tmux: server", T0)]
    table += [(p.pane_pid, SERVER_PID, "sleep", T0) for p in panes if p.pane_pid and not p.dead]
    return world(*panes, processes=[*table, *rows])


def proc(
    pid: int,
    *,
    team: str = "demo",
    agent: str = "impl",
    workspace: str = "/ws",
    pane_pid: int | None = None,
    server: int | None = SERVER_PID,
    leads: bool = True,
    tmux_pane: str | None = None,
    uid: int = UID,
) -> MarkedProcess:
    return MarkedProcess(
        pid=pid,
        create_time=T0,
        uid=uid,
        team=team,
        agent=agent,
        workspace=workspace,
        pane_pid=pid if pane_pid is None else pane_pid,
        tmux_socket=SOCKET,
        tmux_server_pid=server,
        tmux_pane=tmux_pane,
        leads_group=leads,
    )


def ours(agent: str, pane_id: str, **fields: object) -> Pane:
    return pane(agent, pane_id, **fields)  # type: ignore[arg-type]


def gone_pane(agent: str, pane_id: str, **fields: object) -> Pane:
    """A pane of team "old" whose workspace /gone was deleted, in its own session."""
    defaults: dict[str, object] = {
        "team": "old",
        "workspace": "/gone",
        "session_workspace": "/gone",
        "session_name": "team-old",
        "session_id": "$1",
    }
    return pane(agent, pane_id, **{**defaults, **fields})  # type: ignore[arg-type]


def run(
    w: World,
    f: OrphanFacts,
    *,
    reap: bool = False,
    previous: TeamStatus | None = None,
) -> Result:
    return plan_orphans(
        TEAM,
        w,
        f,
        previous or team_status(),
        reap=reap,
        now=NOW,
        generation=GENERATION,
    )


def kinds(result: Result) -> list[tuple[str, str]]:
    return [(o.status.kind, o.action.name) for o in result.orphans]


# --- nothing to find ------------------------------------------------------------------


def test_a_converged_team_has_no_orphans() -> None:
    result = run(scene(ours("impl", "%1"), ours("docs", "%2")), facts())

    assert result.orphans == ()
    assert result.plan.empty
    assert result.condition.status == C.FALSE
    assert result.condition.reason == C.NO_ORPHANS
    assert result.notes == ()


def test_the_live_teams_own_panes_are_the_agents_controllers() -> None:
    """Duplicates, strays in another session, removed agents: never the orphans controller's."""
    w = scene(
        ours("impl", "%1"),
        ours("impl", "%2"),  # duplicate
        ours("docs", "%3", session_name="elsewhere", session_id="$4"),  # left in a session
        ours("gone-agent", "%4"),  # removed from the spec
    )

    result = run(w, facts(), reap=True)

    assert result.orphans == ()
    assert result.plan.empty


# --- (c): sessions, windows, panes of a gone workspace ----------------------------------


def test_a_deleted_workspaces_session_is_one_session_orphan() -> None:
    w = scene(ours("impl", "%1"), gone_pane("impl", "%5"), gone_pane("docs", "%6"))

    result = run(w, facts(GONE), reap=True)

    assert kinds(result) == [("session", "team-old")]
    (found,) = result.orphans
    assert found.status == OrphanStatus(
        kind="session",
        paneId="%5",
        session="team-old",
        workspace="/gone",
        marker="@team_agent_session_workspace=/gone",
        reason="workspace /gone no longer exists",
    )
    action = found.action
    assert action.session == "$1"
    assert action.server_pid == SERVER_PID
    assert [p.pane for p in action.panes] == ["%5", "%6"]
    assert [p.process.pid if p.process else None for p in action.panes] == [1005, 1006]
    assert result.plan.render() == (
        "reap    orphan/session/team-old (workspace /gone no longer exists)"
    )


class GroupCase(NamedTuple):
    test_id: str
    panes: tuple[Pane, ...]
    expected: list[tuple[str, str]]


GROUP_CASES = [
    GroupCase(
        "person-window-keeps-the-session",
        (gone_pane("impl", "%5"), pane("sh", "%6", marked=False, session_name="team-old")),
        [("window", "@5")],
    ),
    GroupCase(
        "person-split-keeps-the-window",
        (
            gone_pane("impl", "%5", window_panes=2),
            pane("sh", "%6", marked=False, session_name="team-old", window_id="@5"),
        ),
        [("pane", "%5")],
    ),
    GroupCase(
        "unmarked-window-never-counted",
        (
            gone_pane("impl", "%5", window_agent=""),
            pane("x", "%6", marked=False, session_name="team-old"),
        ),
        [("pane", "%5")],
    ),
    GroupCase(
        "a-pane-a-person-respawned-keeps-the-session",
        (gone_pane("impl", "%5"), gone_pane("docs", "%6", pid=5000, launched_pid="1006")),
        [("window", "@5")],
    ),
    GroupCase(
        "our-session-name-is-never-killed-whole",
        (gone_pane("impl", "%5", session_name="team-demo", session_id="$0"),),
        [("window", "@5")],
    ),
]


@pytest.mark.parametrize("case", GROUP_CASES, ids=[c.test_id for c in GROUP_CASES])
def test_orphans_are_grouped_only_when_nothing_else_lives_there(case: GroupCase) -> None:
    result = run(scene(*case.panes), facts(GONE), reap=True)

    assert kinds(result) == case.expected


class VerdictCase(NamedTuple):
    test_id: str
    pane: Pane
    workspace: WorkspaceFacts | None
    reason: str | None  # None: not an orphan


def other(pane_id: str = "%7", **fields: object) -> Pane:
    """A pane of team "b" (workspace /b), agent "impl", in session team-b."""
    defaults: dict[str, object] = {
        "team": "b",
        "workspace": "/b",
        "session_workspace": "/b",
        "session_name": "team-b",
        "session_id": "$2",
    }
    return pane("impl", pane_id, **{**defaults, **fields})  # type: ignore[arg-type]


VERDICT_CASES = [
    VerdictCase(
        "live-team-never", other(), ws("/b", live=True, team="b", agents={"impl": "%7"}), None
    ),
    VerdictCase("live-team-never-even-if-undeclared", other(), ws("/b", live=True, team="b"), None),
    VerdictCase("idle-team-declares-it", other(), ws("/b", team="b", agents={"impl": "%7"}), None),
    VerdictCase("idle-team-unknown-status", other(), ws("/b"), None),
    VerdictCase(
        "idle-team-dropped-the-agent",
        other(),
        ws("/b", team="b", agents={"docs": None}),
        "team b no longer declares agent impl",
    ),
    VerdictCase(
        "idle-workspace-holds-another-team",
        other(),
        ws("/b", team="c", agents={"impl": None}),
        "workspace /b now holds team c, not b",
    ),
    VerdictCase("workspace-gone", other(), ws("/b", exists=False), "workspace /b no longer exists"),
    # This team before a rename: the agents controller replaces it, never the orphans'.
    VerdictCase(
        "our-workspace-another-team-is-the-agents-controllers",
        pane("impl", "%7", team="renamed", session_name="team-renamed", session_id="$2"),
        None,
        None,
    ),
    VerdictCase("leader-pane-never", other(leader_uuid="u-1"), ws("/b", exists=False), None),
    VerdictCase("unmarked-pane-never", other(marked=False), ws("/b", exists=False), None),
    VerdictCase(
        "pane-a-person-respawned-never",
        other(pid=5000, launched_pid="1007"),
        ws("/b", exists=False),
        None,
    ),
]


@pytest.mark.parametrize("case", VERDICT_CASES, ids=[c.test_id for c in VERDICT_CASES])
def test_which_marked_panes_are_orphans(case: VerdictCase) -> None:
    extra = (case.workspace,) if case.workspace is not None else ()
    result = run(scene(ours("impl", "%1"), case.pane), facts(*extra), reap=True)

    reasons = [o.status.reason for o in result.orphans]
    assert reasons == ([case.reason] if case.reason else [])
    assert len(result.plan.actions) == len(reasons)


# --- (a): an idle team's duplicates ---------------------------------------------------


def test_an_idle_teams_duplicates_keep_the_pane_its_status_points_to() -> None:
    idle = ws("/b", team="b", agents={"impl": "%8"})
    w = scene(ours("impl", "%1"), other("%7"), other("%8"), other("%9"))

    result = run(w, facts(idle), reap=True)

    assert kinds(result) == [("window", "@7"), ("window", "@9")]
    assert {o.status.reason for o in result.orphans} == {"duplicate of %8 (agent impl of /b)"}


def test_a_live_teams_duplicates_are_left_to_its_own_reconciler() -> None:
    w = scene(ours("impl", "%1"), other("%7"), other("%8"))

    result = run(w, facts(ws("/b", live=True, team="b", agents={"impl": "%8"})), reap=True)

    assert result.orphans == ()


# --- (b): processes that outlived their pane ------------------------------------------


class ProcessCase(NamedTuple):
    test_id: str
    process: MarkedProcess
    extra: tuple[WorkspaceFacts, ...]
    reason: str | None
    group: bool = False


PROCESS_CASES = [
    ProcessCase("pane-gone", proc(4242), (), "its pane is gone (agent impl)", group=True),
    ProcessCase(
        "descendant-never-its-group",
        proc(4243, pane_pid=4000),
        (),
        "its pane is gone (agent impl)",
        group=False,
    ),
    ProcessCase("not-a-group-leader", proc(4244, leads=False), (), "its pane is gone (agent impl)"),
    ProcessCase("pane-alive-helper", proc(4245, pane_pid=1001), (), None),
    ProcessCase("pane-alive-by-tmux-pane", proc(4246, pane_pid=-1, tmux_pane="%1"), (), None),
    ProcessCase(
        "pane-dead",
        proc(4247, pane_pid=1003),
        (),
        "its pane %3 is dead but it lives on (agent impl)",
        group=False,
    ),
    ProcessCase("another-live-server", proc(4248, server=77), (), None),
    ProcessCase(
        "server-gone-since", proc(4249, server=78), (), "its pane is gone (agent impl)", True
    ),
    # A killed server that pid 1 has not reaped yet is gone too (Gemini outlives its server).
    ProcessCase(
        "server-killed-a-zombie", proc(4254, server=79), (), "its pane is gone (agent impl)", True
    ),
    ProcessCase(
        "gone-workspace",
        proc(4250, team="old", workspace="/gone"),
        (GONE,),
        "workspace /gone no longer exists; its pane is gone",
        True,
    ),
    ProcessCase(
        "idle-team-declares-it",
        proc(4251, team="b", workspace="/b"),
        (ws("/b", team="b", agents={"impl": None}),),
        None,
    ),
    ProcessCase(
        "live-team-never",
        proc(4252, team="b", workspace="/b"),
        (ws("/b", live=True, team="b"),),
        None,
    ),
    ProcessCase("another-user-never", proc(4253, uid=0), (), None),
    ProcessCase(
        "our-workspace-former-team-pane-gone",
        proc(4255, team="renamed"),
        (),
        "team renamed left this workspace (its team is now demo); its pane is gone",
        True,
    ),
]


@pytest.mark.parametrize("case", PROCESS_CASES, ids=[c.test_id for c in PROCESS_CASES])
def test_which_marked_processes_are_orphans(case: ProcessCase) -> None:
    p = case.process
    if p.pane_pid == -1:  # a process started before TEAM_AGENT_PANE_PID existed
        p = replace(p, pane_pid=None)
    rows: list[ProcessRow] = [(77, 1, "tmux: server", T0), (79, 1, "tmux: server", T0, True)]
    w = with_row(
        scene(ours("impl", "%1"), ours("docs", "%3", dead=True, dead_status=0), rows=rows),
        ProcessInfo(pid=p.pid, ppid=1, name="python3", create_time=T0, uid=p.uid),
    )

    result = run(w, facts(*case.extra, processes=[p]), reap=True)

    assert [o.status.reason for o in result.orphans] == ([case.reason] if case.reason else [])
    if case.reason:
        (action,) = result.plan.actions
        assert isinstance(action, ReapOrphan)
        assert action.process is not None
        assert (action.process.pid, action.process.create_time) == (p.pid, T0)
        assert action.group is case.group
        assert result.orphans[0].status.pidCreateTime == T0


def with_row(w: World, info: ProcessInfo) -> World:
    """`w` with one more process (any uid) in its table."""
    table = ProcessTable(
        by_pid={**w.processes.by_pid, info.pid: info},
        children=w.processes.children,
        scanned_at=T0,
    )
    return World(server_running=w.server_running, panes=w.panes, processes=table, observed_at=T0)


# --- (d): daemons and locks -----------------------------------------------------------


def daemon(pid: int, workspace: str, *, deleted: bool) -> Daemon:
    lock = f"{workspace}/.team/reconciler.lock"
    return Daemon(
        pid=pid, create_time=T0, uid=UID, workspace=workspace, lock_path=lock, lock_deleted=deleted
    )


def test_a_daemon_of_a_deleted_workspace_and_a_stale_lock() -> None:
    dead = LockHolder(pid=31337, createTime=T0)
    idle = ws("/idle", team="idle", holder=dead)
    keeps = daemon(600, "/ws", deleted=False)
    lost = daemon(601, "/gone", deleted=True)
    rows: list[ProcessRow] = [(600, 1, "team-agent", T0), (601, 1, "team-agent", T0)]
    w = scene(ours("impl", "%1"), rows=rows)

    result = run(w, facts(GONE, idle, daemons=[keeps, lost]), reap=True)

    assert kinds(result) == [("daemon", "601"), ("lock", "/idle")]
    reaped, lock = result.orphans
    assert reaped.status.reason == "`team-agent run` for /gone, which no longer exists"
    assert reaped.status.marker == "holds /gone/.team/reconciler.lock"
    assert lock.status.pid == 31337
    assert lock.action.lock == "/idle/.team/reconciler.lock"
    assert lock.action.process is None  # nothing is signalled for a lock


# --- report, policy, events -----------------------------------------------------------


def full_scene() -> tuple[World, OrphanFacts]:
    rows: list[ProcessRow] = [(4242, 1, "python3", T0)]
    w = scene(ours("impl", "%1"), gone_pane("impl", "%5"), rows=rows)
    dead = LockHolder(pid=31337, createTime=T0)
    return w, facts(GONE, ws("/idle", holder=dead), processes=[proc(4242)])


def test_report_policy_lists_them_and_plans_nothing() -> None:
    w, f = full_scene()

    result = run(w, f, reap=False)

    assert kinds(result) == [("session", "team-old"), ("process", "4242"), ("lock", "/idle")]
    assert result.plan.empty
    assert result.condition.status == C.TRUE
    assert result.condition.reason == C.ORPHANS_REPORTED
    assert result.condition.message == (
        "3 orphans found (1 session, 1 process, 1 lock); `team-agent orphans --reap` removes them"
    )


def test_reap_plans_one_action_per_orphan_in_kind_order() -> None:
    w, f = full_scene()

    result = run(w, f, reap=True)

    assert result.condition.reason == C.ORPHANS_REAPING
    assert result.condition.message.startswith("3 orphans found")
    assert result.plan.render() == "\n".join(
        [
            "reap    orphan/session/team-old (workspace /gone no longer exists)",
            "reap    orphan/process/4242 (its pane is gone (agent impl))",
            "reap    orphan/lock//idle (its holder, pid 31337, is dead)",
        ]
    )


def test_an_event_only_for_orphans_not_seen_before() -> None:
    w, f = full_scene()
    first = run(w, f)
    previous = team_status(orphans=[first.orphans[0].status, first.orphans[2].status])

    again = run(w, f, previous=previous)

    assert [(n.reason, n.object, n.message) for n in again.notes] == [
        ("OrphanFound", "orphan/process/4242", "its pane is gone (agent impl)")
    ]


def test_the_controller_follows_the_spec_policy_and_needs_facts() -> None:
    w, f = full_scene()

    def inputs(policy: str, observed: OrphanFacts | None) -> PassInputs:
        the_spec = spec(shell("impl"), shell("docs"), orphans={"policy": policy})
        loaded = LoadedSpec(
            path=Path("/ws/team.spec.yaml"),
            spec=the_spec,
            content_hash="sha256:0",
            workspace=Path("/ws"),
            deprecations=(),
        )
        return PassInputs(
            loaded=loaded,
            team=TEAM,
            world=w,
            previous=team_status(),
            now=NOW,
            generation=GENERATION,
            installed={},
            facts=Facts([observed] if observed is not None else []),
        )

    assert OrphansController().reconcile(inputs("report", f)).plan.empty
    assert len(OrphansController().reconcile(inputs("reap", f)).plan.actions) == 3
    assert len(OrphansController(reap=True).reconcile(inputs("report", f)).plan.actions) == 3
    blind = OrphansController(reap=True).reconcile(inputs("reap", None))
    assert blind.plan.empty
    assert blind.report.orphans is None
    report = OrphansController().reconcile(inputs("report", f)).report
    assert report.orphans is not None and len(report.orphans) == 3
    (cond,) = report.team_conditions
    assert cond.type == C.ORPHANS_FOUND

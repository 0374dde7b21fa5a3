"""Which panes are an agent's, which one *is* the agent, and how one of them is stopped.

Ownership is the markers (`Pane.owned_by`: team id and workspace, never a leader pane)
and the process we started in the pane: a pane a person respawned with their own command
keeps our markers but is not the agent (`Pane.taken_over`); it is only ever released
(`release_pane`). Among an agent's panes the one the status points to wins, else a live
one, else the oldest, so two passes over the same world keep the same pane. Panes of this
workspace with another team id are this team before a rename (`former_panes`), and a
session that only changed its name is renamed rather than rebuilt (`session_move`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from controllers.agents.actions import ReleasePane, RenameSession, StopAgent
from controllers.providers.inputs import input_profile
from controllers.team.desired import DesiredAgent, DesiredTeam
from reconciler.api import conditions as C
from reconciler.api.actions import ProcessRef
from reconciler.api.clock import parse_time
from reconciler.api.ids import AgentId, PaneId
from reconciler.api.status import AgentStatus, TeamStatus
from reconciler.observe.world import Pane, World

if TYPE_CHECKING:
    from reconciler.store.records import StoreSnapshot


def panes_to_capture(
    team: DesiredTeam,
    world: World,
    previous: TeamStatus,
    working: frozenset[str] = frozenset(),
) -> list[PaneId]:
    """Live agent panes whose readiness pattern has not been seen yet for their process,
    and the panes of `working` agents (open work: an approval prompt may show).

    Readiness latches: once an agent's pattern was seen, it stays Ready for the life of
    that process, so a converged team with no open work needs no capture at all (no-op
    passes stay O(1)).
    """
    wanted: list[PaneId] = []
    grouped = panes_by_agent(team, world)
    for desired in team.agents:
        if desired.launch is None:
            continue
        pane = primary_pane(grouped.get(desired.id, []), previous.agents.get(desired.id))
        if pane is None or pane.dead:
            continue
        if desired.id in working:
            wanted.append(pane.pane_id)
            continue
        if (
            desired.launch.readiness_pattern is None
            and input_profile(desired.agent.provider) is None
        ):
            continue  # no input box to wait for (`shell`): Ready as soon as it runs
        prev = previous.agents.get(desired.id)
        if prev is not None and prev.pid == pane.pane_pid and C.is_true(prev.conditions, C.READY):
            continue
        wanted.append(pane.pane_id)
    return wanted


def working_agents(
    team: DesiredTeam, world: World, previous: TeamStatus, messages: StoreSnapshot | None
) -> frozenset[str]:
    """Agents whose screens a pass reads, because what they show may have changed: an
    approval prompt last pass, open work (messages, tasks), or output the last pass may
    not have seen (`output_since_last_look`: a dialog drawn after the prompt, a permission
    prompt); only CLIs whose screens we read (an input profile or first-run dialogs).
    A quiet team is not captured at all.
    """
    asking = {d.id for d in team.agents if _reads_screen(d)}
    working = {name for name, st in previous.agents.items() if st.approval is not None}
    if messages is not None:
        working |= {m.recipient for m in messages.pending}
        working |= {t.agent for t in messages.open_tasks}
    last = previous.lastReconcile
    looked = parse_time(last.startedAt).timestamp() if last is not None else None
    for agent, panes in panes_by_agent(team, world).items():
        prev = previous.agents.get(agent)
        seen = prev.lastOutputAt if prev is not None else None
        if any(output_since_last_look(p, seen, looked) for p in panes if not p.dead):
            working.add(agent)
    return frozenset(working & asking)


def _reads_screen(desired: DesiredAgent) -> bool:
    """The CLI draws something we recognise: an input box, prompts, dialogs (a `shell`
    command draws nothing of the kind)."""
    return input_profile(desired.agent.provider) is not None or bool(desired.profile.dialogs)


def output_since_last_look(pane: Pane, seen: str | None, looked: float | None) -> bool:
    """The pane wrote something the last pass did not see.

    tmux keeps `window_activity` in whole seconds, so output in the same second as the
    last look, after it, leaves the value unchanged: that second counts as unseen.
    """
    if pane.activity is None:
        return False
    if seen is None or looked is None or pane.activity != parse_time(seen).timestamp():
        return True
    return pane.activity >= int(looked)


def panes_by_agent(team: DesiredTeam, world: World) -> dict[str, list[Pane]]:
    """Each agent's panes in the team's session, in pane order: one walk of the snapshot.

    The session about to be renamed to the team's session name (`session_move`) counts
    as the team's session already: its agents keep running through the rename.
    """
    move = session_move(team, world)
    sessions = {team.session, move.old} if move is not None else {team.session}
    grouped: dict[str, list[Pane]] = {}
    for pane in sorted(world.owned_panes(team.team_id, team.workspace_marker), key=pane_key):
        if pane.session_name in sessions:
            grouped.setdefault(pane.agent, []).append(pane)
    return grouped


def former_panes(team: DesiredTeam, world: World) -> list[Pane]:
    """Agent panes of this workspace marked with another team id, in pane order.

    A workspace holds one team, so these are this team before a rename changed its id
    (`team.name` without `team.id`): the agents controller replaces them, it never runs
    the renamed team beside them. Never a leader pane, never another workspace's.
    """
    return sorted(
        (
            p
            for p in world.panes
            if p.of_workspace(team.workspace_marker) and p.team != team.team_id
        ),
        key=pane_key,
    )


def session_move(team: DesiredTeam, world: World) -> RenameSession | None:
    """The rename that gives the team's session its new name, if that is all that changed.

    When the session name changes (`team.name` with `team.id` kept: `team-<name>`; or
    `runtime.session_name`) and no session has the new name yet, the one session that
    holds every agent of this team and carries this workspace's session marker is renamed,
    so nothing restarts. Anything less clear (agents in several sessions, a session of
    another workspace or none marked) keeps the old way: new panes, old ones stopped.
    """
    if world.session_exists(team.session):
        return None
    ours = world.owned_panes(team.team_id, team.workspace_marker)
    sessions = {(p.session_id, p.session_name) for p in ours}
    if len(sessions) != 1:
        return None
    ((session_id, name),) = sessions
    if any(p.session_workspace != team.workspace_marker for p in world.session_panes(name)):
        return None
    return RenameSession(
        session=session_id,
        old=name,
        new=team.session,
        workspace=team.workspace_marker,
        server_pid=world.server_pid,
    )


def primary_pane(panes: Sequence[Pane], prev: AgentStatus | None) -> Pane | None:
    """The pane that is the agent: the one status points to, else a live one, else the oldest.

    Deterministic, so two passes over the same world keep the same pane.
    """
    if not panes:
        return None
    if prev is not None and prev.paneId:
        for pane in panes:
            if pane.pane_id == prev.paneId:
                return pane
    live = [p for p in panes if not p.dead]
    return (live or list(panes))[0]


def pane_key(pane: Pane) -> tuple[int, int]:
    return (pane.server_pid, pane.pane_number)


def stop_pane(
    pane: Pane, world: World, *, grace_sec: float, cause: str, former: bool = False
) -> StopAgent:
    """Stop one of our agent panes (the window too when it holds only that pane).

    `former`: the pane is this team's before a rename (`former_panes`); the executor
    then checks it still carries that old team id.
    """
    process = world.processes.get(pane.pane_pid) if pane.pane_pid and not pane.dead else None
    return StopAgent(
        agent=AgentId(pane.agent),
        pane=pane.pane_id,
        window=pane.window_id,
        process=ProcessRef(process.pid, process.create_time) if process else None,
        kill_window=pane.window_agent == pane.agent and pane.window_panes == 1,
        grace_sec=grace_sec,
        cause=cause,
        team=pane.team if former else None,
    )


def taken_over_message(pane: Pane) -> str:
    """What the status says about a pane a person took over: which pane, which process."""
    command = f" ({pane.current_command})" if pane.current_command else ""
    return (
        f"pane {pane.pane_id} runs pid {pane.pane_pid}{command}, which team-agent did not "
        "start: the pane is left to it, unmarked, and the agent starts in a new window"
    )


def release_pane(pane: Pane, world: World) -> ReleasePane:
    """Give a taken-over pane up: unmark it, never signal or kill what runs there.

    The window's own options go too when the window was made for this agent and holds
    nothing else, so it no longer keeps a dead pane or wakes our loop.
    """
    info = world.processes.get(pane.pane_pid) if pane.pane_pid is not None else None
    own_window = pane.window_agent == pane.agent and pane.window_panes == 1
    return ReleasePane(
        agent=AgentId(pane.agent),
        pane=pane.pane_id,
        window=pane.window_id if own_window else None,
        process=ProcessRef(info.pid, info.create_time) if info is not None else None,
        cause=f"runs pid {pane.pane_pid}, which team-agent did not start",
    )


def session_conflict(team: DesiredTeam, world: World) -> str | None:
    """A session of our name marked as another workspace's: never ours to change."""
    for pane in world.session_panes(team.session):
        if pane.session_workspace and pane.session_workspace != team.workspace_marker:
            return (
                f"tmux session {team.session!r} belongs to workspace {pane.session_workspace}; "
                "set runtime.session_name to use another session"
            )
    return None

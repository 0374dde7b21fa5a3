"""Which panes are an agent's, which one *is* the agent, and how one of them is stopped.

Ownership is the markers (`Pane.owned_by`: team id and workspace, never a leader pane);
among an agent's panes the one the status points to wins, else a live one, else the
oldest, so two passes over the same world keep the same pane.
"""

from __future__ import annotations

from collections.abc import Sequence

from controllers.desired import DesiredTeam
from reconciler import conditions as C
from reconciler.actions import (
    ProcessRef,
    StopAgent,
)
from reconciler.ids import AgentId, PaneId
from reconciler.status import AgentStatus, TeamStatus
from reconciler.world import Pane, World


def panes_to_capture(team: DesiredTeam, world: World, previous: TeamStatus) -> list[PaneId]:
    """Live agent panes whose readiness pattern has not been seen yet for their process.

    Readiness latches: once an agent's pattern was seen, it stays Ready for the life of
    that process, so a converged team needs no capture at all (no-op passes stay O(1)).
    """
    wanted: list[PaneId] = []
    grouped = panes_by_agent(team, world)
    for desired in team.agents:
        if desired.launch is None or desired.launch.readiness_pattern is None:
            continue
        pane = primary_pane(grouped.get(desired.id, []), previous.agents.get(desired.id))
        if pane is None or pane.dead:
            continue
        prev = previous.agents.get(desired.id)
        if prev is not None and prev.pid == pane.pane_pid and C.is_true(prev.conditions, C.READY):
            continue
        wanted.append(pane.pane_id)
    return wanted


def panes_by_agent(team: DesiredTeam, world: World) -> dict[str, list[Pane]]:
    """Each agent's panes in the team's session, in pane order: one walk of the snapshot."""
    grouped: dict[str, list[Pane]] = {}
    for pane in sorted(world.owned_panes(team.team_id, team.workspace_marker), key=pane_key):
        if pane.session_name == team.session:
            grouped.setdefault(pane.agent, []).append(pane)
    return grouped


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


def stop_pane(pane: Pane, world: World, *, grace_sec: float, cause: str) -> StopAgent:
    """Stop one of our agent panes (the window too when it holds only that pane)."""
    process = world.processes.get(pane.pane_pid) if pane.pane_pid and not pane.dead else None
    return StopAgent(
        agent=AgentId(pane.agent),
        pane=pane.pane_id,
        window=pane.window_id,
        process=ProcessRef(process.pid, process.create_time) if process else None,
        kill_window=pane.window_agent == pane.agent and pane.window_panes == 1,
        grace_sec=grace_sec,
        cause=cause,
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

"""Orphan detection rules: which marked things no live team governs, and why.

Pure functions of the snapshot, the `OrphanFacts` observed before planning and the
desired team; `controllers.orphans.plan` runs them, applies the safety floor and reports. One
function per kind of leftover, each returning `Orphan`s: what the status says about it
(`OrphanStatus`) and how it would be reaped (`ReapOrphan`).

The one judgement every rule shares is `verdict`: given the markers (team id, agent id,
workspace) something carries, is any live team still wanting it?

* our workspace and our team id: yes, it is the live team's (its panes are the agents
  controller's; a process of it whose pane is gone is rule (b));
* our workspace, another team id: no, that team left this workspace (renamed: its panes
  are the agents controller's, which replaces them; its processes whose pane is gone
  are orphans);
* another workspace that is gone: no;
* another workspace that is live (its lock holder is alive): yes, whatever else holds;
* another workspace that exists but is idle: only what its `status.json` shows decides
  (the team it holds, the agents it declares); without a status it is not ours to judge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import msgspec

from controllers.orphans.actions import OwnedPane, ReapOrphan
from controllers.orphans.observe import MarkedProcess, OrphanFacts
from controllers.team.desired import DesiredTeam
from reconciler.api import markers
from reconciler.api.actions import ProcessRef
from reconciler.api.ids import WindowId
from reconciler.api.launch import ENV_AGENT_ID, ENV_TEAM_ID
from reconciler.api.status import OrphanKind, OrphanStatus
from reconciler.observe.world import Pane, World


@dataclass(frozen=True)
class Orphan:
    """One orphan: what the status says about it and how it would be reaped."""

    status: OrphanStatus
    action: ReapOrphan


def orphan(
    kind: OrphanKind,
    name: str,
    reason: str,
    marker: str,
    *,
    grace: float,
    process: ProcessRef | None = None,
    group: bool = False,
    workspace: str | None = None,
    panes: Sequence[Pane] = (),
    owned: tuple[OwnedPane, ...] = (),
    window: WindowId | None = None,
    session: str | None = None,
    server: int | None = None,
    lock: str | None = None,
    holder: ProcessRef | None = None,
) -> Orphan:
    """Build the status entry and the reap action of one orphan from the same facts."""
    shown = process or holder
    first = panes[0] if panes else None
    status = OrphanStatus(
        kind=kind,
        pid=shown.pid if shown else None,
        pidCreateTime=shown.create_time if shown else None,
        paneId=first.pane_id if first else None,
        session=first.session_name if first else None,
        workspace=workspace,
        marker=marker,
        reason=reason,
    )
    action = ReapOrphan(
        kind=kind,
        name=name,
        cause=reason,
        marker=marker,
        grace_sec=grace,
        process=process,
        group=group,
        panes=owned,
        window=window,
        session=session,
        server_pid=server,
        lock=lock,
    )
    return Orphan(status=status, action=action)


def marked(pane: Pane) -> bool:
    """Carries an agent's full markers and no leader marker, and runs what we started.

    A pane a person respawned with their own command keeps the markers but is theirs
    (`Pane.taken_over`): never an orphan, never reaped, whatever team it was marked for.
    """
    return (
        bool(pane.team and pane.agent and pane.workspace)
        and not pane.leader_uuid
        and not pane.taken_over
    )


def verdict(
    team: DesiredTeam, facts: OrphanFacts, marked_team: str, agent: str, ws: str
) -> str | None:
    """Why markers (team, agent, workspace) name nothing a live team wants; None if they do."""
    if ws == team.workspace_marker:
        if marked_team == team.team_id:
            return None
        return f"team {marked_team} left this workspace (its team is now {team.team_id})"
    info = facts.workspaces.get(ws)
    if info is None or info.live:
        return None
    if not info.exists:
        return f"workspace {ws} no longer exists"
    if info.team is None:
        return None
    if info.team != marked_team:
        return f"workspace {ws} now holds team {info.team}, not {marked_team}"
    if agent not in info.agents:
        return f"team {marked_team} no longer declares agent {agent}"
    return None


# --- (a) and (c): panes, windows, sessions ----------------------------------------------


def pane_reasons(team: DesiredTeam, world: World, facts: OrphanFacts) -> dict[str, str]:
    """Orphan pane id -> why, for every marked pane no live team governs.

    (a) An idle team's duplicates: panes with the same team, agent and workspace markers
    whose workspace exists and declares that agent; the pane its status points to is
    kept (else the first live one, else the oldest), every other one is an orphan.
    """
    reasons: dict[str, str] = {}
    same: dict[tuple[str, str, str], list[Pane]] = {}
    for pane in sorted(world.panes, key=lambda p: p.pane_number):
        if not marked(pane) or pane.of_workspace(team.workspace_marker):
            continue  # not ours at all, or the agents controller's (this team, even renamed)
        why = verdict(team, facts, pane.team, pane.agent, pane.workspace)
        if why is not None:
            reasons[pane.pane_id] = why
            continue
        info = facts.workspaces.get(pane.workspace)
        if info is not None and info.exists and not info.live and info.team == pane.team:
            same.setdefault((pane.team, pane.agent, pane.workspace), []).append(pane)
    for (_, agent, ws), panes in same.items():
        if len(panes) < 2:
            continue
        pointed = facts.workspaces[ws].agents.get(agent)
        live = [p for p in panes if not p.dead]
        keep = next((p for p in panes if p.pane_id == pointed), (live or panes)[0])
        for pane in panes:
            if pane is not keep:
                reasons[pane.pane_id] = f"duplicate of {keep.pane_id} (agent {agent} of {ws})"
    return reasons


def pane_orphans(team: DesiredTeam, world: World, facts: OrphanFacts) -> list[Orphan]:
    """Orphan panes, as whole sessions or windows when nothing else lives in them.

    A session is reaped whole only when every pane in it is an orphan, it carries a
    session workspace marker, and it is neither this team's session nor this workspace's
    nor a live workspace's; a window only when every pane in it is an orphan and it
    carries our window marker. Anything else goes pane by pane, so a pane or window a
    person added is never caught in a kill.
    """
    reasons = pane_reasons(team, world, facts)
    sessions = _whole_sessions(team, world, facts, reasons)
    done: set[str] = {p.pane_id for _, panes in sessions for p in panes}
    return [orphan for orphan, _ in sessions] + _windows_and_panes(team, world, reasons, done)


def _whole_sessions(
    team: DesiredTeam, world: World, facts: OrphanFacts, reasons: dict[str, str]
) -> list[tuple[Orphan, list[Pane]]]:
    """The sessions every pane of which is an orphan and that may go whole, with their panes."""
    out: list[tuple[Orphan, list[Pane]]] = []
    for name in sorted({p.session_name for p in world.panes if p.pane_id in reasons}):
        panes = sorted(world.session_panes(name), key=lambda p: p.pane_number)
        ws = panes[0].session_workspace
        info = facts.workspaces.get(ws)
        if (
            name == team.session
            or not ws
            or ws == team.workspace_marker
            or (info is not None and info.live)
            or any(p.pane_id not in reasons for p in panes)
        ):
            continue
        distinct = {reasons[p.pane_id] for p in panes}
        why = distinct.pop() if len(distinct) == 1 else f"all {len(panes)} panes are orphans"
        marker = f"{markers.SESSION_WORKSPACE}={ws}"
        group = _group_orphan("session", name, panes, why, marker, team=team, world=world)
        out.append((group, panes))
    return out


def _windows_and_panes(
    team: DesiredTeam, world: World, reasons: dict[str, str], done: set[str]
) -> list[Orphan]:
    """The orphan panes not in a whole session: by window when the window is ours and all
    orphans, else one by one."""
    out: list[Orphan] = []
    windows: dict[str, list[Pane]] = {}
    for pane in sorted(world.panes, key=lambda p: p.pane_number):
        windows.setdefault(pane.window_id, []).append(pane)
    for pane in sorted(world.panes, key=lambda p: p.pane_number):
        if pane.pane_id not in reasons or pane.pane_id in done:
            continue
        window = windows[pane.window_id]
        whole = bool(pane.window_agent) and all(p.pane_id in reasons for p in window)
        group = window if whole else [pane]
        marker = f"{markers.TEAM}={pane.team} {markers.AGENT}={pane.agent}"
        why = reasons[pane.pane_id]
        kind: OrphanKind = "window" if whole else "pane"
        name = pane.window_id if whole else pane.pane_id
        out.append(_group_orphan(kind, name, group, why, marker, team=team, world=world))
        done.update(p.pane_id for p in group)
    return out


def _group_orphan(
    kind: OrphanKind,
    name: str,
    panes: list[Pane],
    why: str,
    marker: str,
    *,
    team: DesiredTeam,
    world: World,
) -> Orphan:
    """One orphan session, window or pane, reaped with its panes' processes re-checked."""
    first = panes[0]
    return orphan(
        kind,
        name,
        why,
        marker,
        grace=team.stop_grace_sec,
        workspace=first.session_workspace if kind == "session" else first.workspace,
        panes=panes,
        owned=tuple(_owned(p, world) for p in panes),
        window=first.window_id if kind == "window" else None,
        session=first.session_id if kind == "session" else None,
        server=world.server_pid,
    )


def _owned(pane: Pane, world: World) -> OwnedPane:
    info = world.processes.get(pane.pane_pid) if pane.pane_pid and not pane.dead else None
    process = ProcessRef(info.pid, info.create_time) if info is not None else None
    return OwnedPane(pane.pane_id, pane.team, pane.agent, pane.workspace, process)


# --- (b) and (c): processes that outlived their pane ------------------------------------


def process_orphans(team: DesiredTeam, world: World, facts: OrphanFacts) -> list[Orphan]:
    """Marked processes whose pane is gone or dead, of this team or of a team gone here.

    The process group is reaped with the process only when we created it: the process is
    the pane's first one (`TEAM_AGENT_PANE_PID` is its own pid, set by exec_agent before
    it exec'd the agent) and still leads its group, which tmux created for that pane.
    """
    out: list[Orphan] = []
    for proc in facts.processes:
        why = _process_reason(proc, team, world, facts)
        if why is None:
            continue
        out.append(
            orphan(
                "process",
                str(proc.pid),
                why,
                f"{ENV_TEAM_ID}={proc.team} {ENV_AGENT_ID}={proc.agent}",
                grace=team.stop_grace_sec,
                process=ProcessRef(proc.pid, proc.create_time),
                group=proc.group_ours,
                workspace=proc.workspace,
            )
        )
    return out


def _process_reason(
    proc: MarkedProcess, team: DesiredTeam, world: World, facts: OrphanFacts
) -> str | None:
    server = world.server_pid
    same_server = proc.tmux_server_pid in (None, server)
    other = world.processes.get(proc.tmux_server_pid or 0)
    # A killed server not yet reaped is a zombie, not up (a container's pid 1 may reap late
    # or never; measured: Gemini outlived such a server and `down` left it running).
    if not same_server and other is not None and not other.zombie:
        return None  # it ran under another tmux server that is still up: not this pass's
    pane: Pane | None = None
    if same_server and proc.pane_pid is not None:
        pane = next((p for p in world.panes if p.pane_pid == proc.pane_pid), None)
    elif same_server and proc.tmux_pane is not None:  # started before TEAM_AGENT_PANE_PID
        pane = world.pane(proc.tmux_pane)
    if pane is not None and not pane.dead:
        return None  # its pane is alive: a helper its agent detached, still the agent's
    if proc.team == team.team_id and proc.workspace == team.workspace_marker:
        if pane is not None:
            return f"its pane {pane.pane_id} is dead but it lives on (agent {proc.agent})"
        return f"its pane is gone (agent {proc.agent})"
    why = verdict(team, facts, proc.team, proc.agent, proc.workspace)
    return f"{why}; its pane is gone" if why is not None else None


# --- (d): daemons and lock records ------------------------------------------------------


def daemon_orphans(team: DesiredTeam, facts: OrphanFacts) -> list[Orphan]:
    """`team-agent run` processes holding the lock of a workspace that was deleted."""
    out: list[Orphan] = []
    for daemon in facts.daemons:
        info = facts.workspaces.get(daemon.workspace)
        exists = info is not None and info.exists
        if exists and not daemon.lock_deleted:
            continue
        where = "deleted and made anew since" if exists else "which no longer exists"
        out.append(
            orphan(
                "daemon",
                str(daemon.pid),
                f"`team-agent run` for {daemon.workspace}, {where}",
                f"holds {daemon.lock_path}",
                grace=team.stop_grace_sec,
                process=ProcessRef(daemon.pid, daemon.create_time),
                workspace=daemon.workspace,
            )
        )
    return out


def lock_orphans(facts: OrphanFacts) -> list[Orphan]:
    """Lock files whose recorded holder is dead (the record only: the flock is free)."""
    out: list[Orphan] = []
    for info in facts.workspaces.values():
        holder = info.holder
        if not info.stale_lock or holder is None:
            continue
        found = orphan(
            "lock",
            info.path,
            f"its holder, pid {holder.pid}, is dead",
            f"holder pid {holder.pid}",
            grace=0.0,
            workspace=info.path,
            lock=info.lock_path,
            holder=ProcessRef(holder.pid, holder.createTime or 0.0),
        )
        status = msgspec.structs.replace(found.status, pidCreateTime=holder.createTime)
        out.append(Orphan(status=status, action=found.action))
    return out

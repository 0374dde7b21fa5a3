"""The agents controller: compare declared agents with the panes that carry their markers.

For each agent, in id order, the controller decides one of: create (no pane), recreate
(its pane runs another configuration hash), restart (its pane is dead and the restart
policy and backoff allow it), stop (removed from the spec, paused, or a duplicate), or
nothing. It also derives the agent's next status (`Ready`, `CrashLoopBackOff`, pid,
restart count, backoff step) from the snapshot and the previous status.

Ownership: this controller acts on every pane carrying this team's markers (team id and
workspace, `Pane.owned_by`), wherever it is: duplicates (keeping the pane the status
points to), panes left in another session and agents removed from the spec are stopped
on every pass, whatever `orphans.policy` says. Everything else that carries our markers
(other team ids or workspaces, processes that outlived their pane, daemons, locks) is
the orphans controller's (`controllers.orphans.controller`), which never acts on these panes.

A pane a person respawned with their own command (`respawn-pane -k`) still carries our
markers but runs a process we did not start (`Pane.taken_over`). It is never the agent,
never signalled and never killed: the agent is reported `Ready=False, PaneTakenOver`
(pane and pid), the pane is released (unmarked: the person's from now on, out of reach of
`down` and orphan reaping) and the agent is created in a new window, in the same pass,
the way a Deployment replaces a pod it lost rather than wait for it: holding the agent
until the person's command exits would leave the team not Ready for as long as they keep
a shell open there, and `paused: true` is the way to keep an agent down. There is never
a second agent: the person's process is not one, and the released pane is no longer ours.

Pure: `plan_agents` reads no clock and does no I/O; the snapshot, the previous status,
`now` and the executables found on PATH are its inputs. Its output is data (a `Plan` and
agent statuses), which is what `team-agent plan` prints and what the unit tests compare.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from controllers.agents.exits import plan_exited
from controllers.agents.live import READINESS_POLL_SEC, plan_readiness
from controllers.agents.panes import (
    former_panes,
    pane_key,
    panes_by_agent,
    primary_pane,
    release_pane,
    session_conflict,
    session_move,
    stop_pane,
    taken_over_message,
)
from controllers.agents.status import (
    RESTART_REQUESTED,
    StartContext,
    StatusBuilder,
    applied_restart,
    held,
    restart_requested,
    session_start,
)
from controllers.messages.approvals import APPROVAL_POLL_SEC, plan_approval
from controllers.sessions.dialogs import plan_dialog
from controllers.sessions.plan import plan_capture, session_notes
from controllers.sessions.view import EMPTY_VIEW, ProviderView
from controllers.team.desired import DesiredAgent, DesiredTeam
from controllers.team.summary import Stall
from reconciler.api import conditions as C
from reconciler.api.actions import (
    Action,
    CreateAgent,
    Plan,
    ProcessRef,
    RecreateAgent,
)
from reconciler.api.clock import format_epoch, format_time, parse_time
from reconciler.api.controller import ControllerResult, PassInputs, Report
from reconciler.api.status import AgentStatus, AgentStatusUpdate, TeamStatus
from reconciler.observe.screens import Screen
from reconciler.observe.world import Pane, World


@dataclass(frozen=True)
class AgentsResult:
    """What the agents controller wants done and what it reports."""

    plan: Plan
    agents: Mapping[str, AgentStatus]
    session_conflict: str | None = None


def plan_agents(
    team: DesiredTeam,
    world: World,
    previous: TeamStatus,
    *,
    now: datetime,
    generation: int,
    installed: Mapping[str, bool],
    provider_view: ProviderView = EMPTY_VIEW,
) -> AgentsResult:
    """Diff declared agents against the snapshot (see the module docstring)."""
    conflict = session_conflict(team, world)
    if conflict is not None:
        return AgentsResult(plan=Plan(), agents=dict(previous.agents), session_conflict=conflict)

    requeues: list[float] = []
    former = former_panes(team, world)
    actions: list[Action] = [
        stop_pane(
            pane,
            world,
            grace_sec=team.stop_grace_sec,
            cause=f"team renamed: {pane.team} is now {team.team_id}",
            former=True,
        )
        for pane in former
    ]
    replacing = {pane.agent: pane for pane in former}
    move = session_move(team, world)
    if move is not None:
        actions.append(move)
    stopped = {pane.pane_id for pane in former}
    session_exists = move is not None or any(
        pane.pane_id not in stopped for pane in world.session_panes(team.session)
    )
    statuses: dict[str, AgentStatus] = {}
    declared = {d.agent.id for d in team.agents}
    grouped = panes_by_agent(team, world)
    taken: dict[str, Pane] = {}
    for pane in sorted(world.taken_over_panes(team.team_id, team.workspace_marker), key=pane_key):
        actions.append(release_pane(pane, world))
        taken.setdefault(pane.agent, pane)

    for desired in team.agents:
        prev = previous.agents.get(desired.id) or AgentStatus()
        builder = StatusBuilder(previous=prev, now=now, generation=generation)
        panes = grouped.get(desired.id, [])
        primary = primary_pane(panes, prev)
        old = replacing.get(desired.id)
        if primary is None and old is not None and not desired.agent.paused:
            # Created on the next pass, once the former agent is gone: never two at once.
            # No requeue of its own: the engine looks again soon after the stop (and
            # later if it failed, rather than spinning on it).
            statuses[desired.id] = _replacing(builder, old, desired)
            continue
        for extra in panes:
            if primary is not None and extra.pane_id != primary.pane_id:
                actions.append(
                    stop_pane(
                        extra,
                        world,
                        grace_sec=team.stop_grace_sec,
                        cause="duplicate of " + primary.pane_id,
                    )
                )
        agent_actions, status, requeue = _plan_one(
            desired,
            primary,
            builder,
            world=world,
            team=team,
            session_exists=session_exists,
            installed=installed,
            view=provider_view,
            taken=taken.get(desired.id),
        )
        if any(isinstance(a, CreateAgent) for a in agent_actions):
            session_exists = True
        actions.extend(agent_actions)
        statuses[desired.id] = status
        if requeue is not None:
            requeues.append(requeue)

    for pane in sorted(world.owned_panes(team.team_id, team.workspace_marker), key=pane_key):
        if pane.agent not in declared:
            actions.append(
                stop_pane(pane, world, grace_sec=team.stop_grace_sec, cause="removed from spec")
            )
        elif pane.session_name != team.session and (move is None or pane.session_name != move.old):
            actions.append(
                stop_pane(
                    pane,
                    world,
                    grace_sec=team.stop_grace_sec,
                    cause=f"left in session {pane.session_name}",
                )
            )

    return AgentsResult(
        plan=Plan(actions=tuple(actions), requeue_after=min(requeues) if requeues else None),
        agents=statuses,
    )


def _replacing(b: StatusBuilder, old: Pane, desired: DesiredAgent) -> AgentStatus:
    """Not started yet: the same agent of the team before its rename is being stopped."""
    b.set(C.READY, C.FALSE, C.STARTING, f"replacing {old.pane_id} of team {old.team}")
    b.set(C.CRASH_LOOP_BACK_OFF, C.FALSE, C.STARTING)
    return b.build(
        paneId=None,
        windowId=None,
        pid=None,
        pidCreateTime=None,
        provider=desired.agent.provider,
        backoffUntil=None,
    )


def _plan_one(
    desired: DesiredAgent,
    pane: Pane | None,
    b: StatusBuilder,
    *,
    world: World,
    team: DesiredTeam,
    session_exists: bool,
    installed: Mapping[str, bool],
    view: ProviderView,
    taken: Pane | None = None,
) -> tuple[list[Action], AgentStatus, float | None]:
    agent = desired.agent
    launch = desired.launch
    provider = agent.provider
    if agent.paused:
        b.set(C.READY, C.FALSE, C.PAUSED, "paused in the spec")
        b.set(C.CRASH_LOOP_BACK_OFF, C.FALSE, C.PAUSED)
        stops: list[Action] = (
            [stop_pane(pane, world, grace_sec=team.stop_grace_sec, cause="paused")]
            if pane is not None
            else []
        )
        return (
            stops,
            b.build(
                paneId=None,
                windowId=None,
                pid=None,
                pidCreateTime=None,
                provider=provider,
                backoffUntil=None,
            ),
            None,
        )
    if launch is None:
        reason = C.LAUNCH_INVALID if desired.invalid else C.PROVIDER_NOT_INSTALLED
        b.set(C.READY, C.FALSE, reason, desired.unsupported or "")
        return [], b.build(provider=provider), None
    config_hash = launch.config_hash()
    if not installed.get(launch.executable, False) and pane is None:
        b.set(
            C.READY,
            C.FALSE,
            C.PROVIDER_NOT_INSTALLED,
            f"{launch.executable!r} was not found on PATH",
        )
        return [], b.build(provider=provider, configHash=config_hash), None

    if pane is None:
        start = session_start(desired, b, view, team)
        if start.hold:
            return [], held(b, configHash=config_hash, provider=provider, paneId=None), None
        resumed = _was_paused(b.previous)
        b.set(
            C.READY,
            C.FALSE,
            C.STARTING,
            "resumed: creating its window" if resumed else "creating its window",
        )
        b.set(C.CRASH_LOOP_BACK_OFF, C.FALSE, C.STARTING)
        restarts: AgentStatusUpdate = {}
        if taken is not None:  # the person's respawn ended the agent: this is its restart
            b.set(C.READY, C.FALSE, C.PANE_TAKEN_OVER, taken_over_message(taken))
            restarts["restartCount"] = b.previous.restartCount + 1
        create = CreateAgent(
            agent=desired.id,
            session=team.session,
            launch=launch,
            config_hash=config_hash,
            new_session=not session_exists,
            cause=(
                f"pane {taken.pane_id} taken over"
                if taken is not None
                else "resumed"
                if resumed
                else "missing"
            ),
            provider_session=start.start,
        )
        return (
            [create],
            b.build(
                start.fields,
                applied_restart(desired),
                restarts,
                paneId=None,
                windowId=None,
                pid=None,
                pidCreateTime=None,
                configHash=config_hash,
                provider=provider,
                startedAt=format_time(b.now),
                backoffUntil=None,
            ),
            None,
        )

    if pane.dead:
        return plan_exited(
            desired,
            pane,
            b,
            world=world,
            config_hash=config_hash,
            starts=StartContext(view=view, team=team, installed=installed),
        )

    process = world.processes.get(pane.pane_pid) if pane.pane_pid is not None else None
    ref = ProcessRef(pane.pane_pid, process.create_time) if process and pane.pane_pid else None
    if pane.config_hash != config_hash:
        start = session_start(desired, b, view, team)
        if start.hold:  # the old configuration keeps running until a person decides
            running: AgentStatusUpdate = {
                "pid": pane.pane_pid,
                "pidCreateTime": ref.create_time if ref else None,
            }
            return [], held(b, running, configHash=pane.config_hash, provider=provider), None
        cause = RESTART_REQUESTED if restart_requested(desired, b.previous) else "config changed"
        b.set(C.READY, C.FALSE, C.STARTING, f"{cause}: recreating")
        recreate = RecreateAgent(
            agent=desired.id,
            pane=pane.pane_id,
            process=ref,
            launch=launch,
            config_hash=config_hash,
            grace_sec=team.stop_grace_sec,
            cause=cause,
            provider_session=start.start,
        )
        return (
            [recreate],
            b.build(
                start.fields,
                applied_restart(desired),
                paneId=pane.pane_id,
                windowId=pane.window_id,
                pid=None,
                pidCreateTime=None,
                configHash=config_hash,
                provider=provider,
                startedAt=format_time(b.now),
                backoffSec=0.0,
                backoffUntil=None,
            ),
            None,
        )

    prev = b.previous
    same_process = prev.pid == pane.pane_pid and (
        ref is None
        or prev.pidCreateTime is None
        or abs(prev.pidCreateTime - ref.create_time) < 0.01
    )
    started_at = (
        prev.startedAt
        if same_process and prev.startedAt
        else format_epoch(ref.create_time)
        if ref
        else None
    )
    screen = world.captures.get(pane.pane_id, Screen(""))
    dialog = plan_dialog(
        desired,
        prev,
        screen,
        pane=pane.pane_id,
        process=ref,
        workspace=team.workspace_marker,
        auto_trust=view.auto_trust,
    )
    answers: list[Action] = []
    answered: AgentStatusUpdate = {}
    approval = (
        plan_approval(desired, prev, screen, pane=pane.pane_id, process=ref, now=b.now)
        if dialog is None
        else None
    )
    answered["approval"] = approval.status if approval is not None else None
    if pane.activity is not None:
        answered["lastOutputAt"] = format_epoch(pane.activity)
    if dialog is not None:
        b.set(C.READY, C.FALSE, C.AWAITING_INPUT, dialog.message)
        requeue: float | None = READINESS_POLL_SEC
        if dialog.action is not None:
            answers.append(dialog.action)
            answered["dialogAnsweredPid"] = dialog.answered_pid
    elif approval is not None:
        b.set(C.READY, C.FALSE, C.AWAITING_APPROVAL, approval.message)
        requeue = APPROVAL_POLL_SEC
        if approval.action is not None:
            answers.append(approval.action)
    else:
        requeue = plan_readiness(
            desired,
            pane,
            b,
            screen=world.captures.get(pane.pane_id),
            same_process=same_process,
            started_at=started_at,
        )
    capture = plan_capture(
        desired,
        prev,
        view.transcripts.get(desired.id),
        now=b.now,
        started_at=parse_time(started_at) if started_at else None,
    )
    if capture.condition is not None:
        b.set(C.SESSION_CAPTURED, *capture.condition)
    if capture.requeue is not None:
        requeue = min(requeue, capture.requeue) if requeue is not None else capture.requeue
    b.set(C.CRASH_LOOP_BACK_OFF, C.FALSE, C.RUNNING)
    return (
        answers,
        b.build(
            capture.fields,
            answered,
            applied_restart(desired),
            paneId=pane.pane_id,
            windowId=pane.window_id,
            pid=pane.pane_pid,
            pidCreateTime=ref.create_time if ref else None,
            configHash=config_hash,
            provider=provider,
            startedAt=started_at,
            backoffUntil=None,
        ),
        requeue,
    )


def _was_paused(prev: AgentStatus) -> bool:
    """The last pass reported the agent paused: a start now is its resume, and says so."""
    ready = C.find_condition(prev.conditions, C.READY)
    return ready is not None and ready.reason == C.PAUSED


class AgentsController:
    """The agents controller as the engine runs it (see `plan_agents`)."""

    name = "agents"

    def reconcile(self, inputs: PassInputs) -> ControllerResult:
        result = plan_agents(
            inputs.team,
            inputs.world,
            inputs.previous,
            now=inputs.now,
            generation=inputs.generation,
            installed=inputs.installed,
            provider_view=inputs.provider_view,
        )
        if result.session_conflict is not None:
            return ControllerResult(
                plan=Plan(), report=Report(stall=Stall(C.SESSION_CONFLICT, result.session_conflict))
            )
        notes = tuple(session_notes(inputs.previous.agents, result.agents))
        return ControllerResult(plan=result.plan, report=Report(agents=result.agents, notes=notes))

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
the orphans controller's (`controllers.orphans.plan`), which never acts on these panes.

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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from controllers.agents.actions import CreateAgent, RecreateAgent, RenameSession
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
from controllers.sessions.plan import plan_capture
from controllers.sessions.view import EMPTY_VIEW, ProviderView
from controllers.team.desired import DesiredAgent, DesiredTeam
from reconciler.api import conditions as C
from reconciler.api.actions import Action, Plan, ProcessRef
from reconciler.api.clock import format_epoch, format_time, parse_time
from reconciler.api.status import AgentStatus, AgentStatusUpdate, TeamStatus
from reconciler.observe.screens import Screen
from reconciler.observe.world import Pane, World

AgentPlan = tuple[list[Action], AgentStatus, float | None]  # actions, next status, requeue


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
    """Diff declared agents against the snapshot (see the module docstring).

    The steps, in the order their actions are planned: stop the former team's panes,
    rename a moved session, release panes a person took over, plan each declared agent,
    then stop our panes no declared agent owns where they are.
    """
    conflict = session_conflict(team, world)
    if conflict is not None:
        return AgentsResult(plan=Plan(), agents=dict(previous.agents), session_conflict=conflict)
    former = former_panes(team, world)
    actions: list[Action] = _stop_former(former, team, world)
    move = session_move(team, world)
    if move is not None:
        actions.append(move)
    stopped = {pane.pane_id for pane in former}
    session_exists = move is not None or any(
        pane.pane_id not in stopped for pane in world.session_panes(team.session)
    )
    releases, taken = _release_taken(team, world)
    actions.extend(releases)
    scene = _Scene(world=world, team=team, installed=installed, view=provider_view)
    declared = _plan_declared(
        scene,
        previous,
        now=now,
        generation=generation,
        replacing={pane.agent: pane for pane in former},
        taken=taken,
        session_exists=session_exists,
    )
    actions.extend(_after_rename(declared.actions, move))
    actions.extend(_stop_strays(team, world, move))
    requeues = declared.requeues
    return AgentsResult(
        plan=Plan(actions=tuple(actions), requeue_after=min(requeues) if requeues else None),
        agents=declared.statuses,
    )


@dataclass(frozen=True)
class _Scene:
    """What every agent's plan in one pass reads besides its own status and pane."""

    world: World
    team: DesiredTeam
    installed: Mapping[str, bool]
    view: ProviderView

    @property
    def starts(self) -> StartContext:
        return StartContext(view=self.view, team=self.team, installed=self.installed)


@dataclass
class _Declared:
    """The declared agents' part of the plan: their actions, statuses and requeues."""

    actions: list[Action] = field(default_factory=list)
    statuses: dict[str, AgentStatus] = field(default_factory=dict)
    requeues: list[float] = field(default_factory=list)


def _stop_former(former: list[Pane], team: DesiredTeam, world: World) -> list[Action]:
    """Stop the panes of this team under its former id (a rename): their agents start anew."""
    return [
        stop_pane(
            pane,
            world,
            grace_sec=team.stop_grace_sec,
            cause=f"team renamed: {pane.team} is now {team.team_id}",
            former=True,
        )
        for pane in former
    ]


def _release_taken(team: DesiredTeam, world: World) -> tuple[list[Action], dict[str, Pane]]:
    """Release every pane a person took over; the first one of each agent is its restart cause."""
    releases: list[Action] = []
    taken: dict[str, Pane] = {}
    for pane in sorted(world.taken_over_panes(team.team_id, team.workspace_marker), key=pane_key):
        releases.append(release_pane(pane, world))
        taken.setdefault(pane.agent, pane)
    return releases, taken


def _plan_declared(
    scene: _Scene,
    previous: TeamStatus,
    *,
    now: datetime,
    generation: int,
    replacing: Mapping[str, Pane],
    taken: Mapping[str, Pane],
    session_exists: bool,
) -> _Declared:
    """Each declared agent in spec order: wait for its former pane, or stop its duplicates
    and plan it from its primary pane. The first create makes the session exist for the next."""
    out = _Declared()
    grouped = panes_by_agent(scene.team, scene.world)
    for desired in scene.team.agents:
        prev = previous.agents.get(desired.id) or AgentStatus()
        builder = StatusBuilder(previous=prev, now=now, generation=generation)
        panes = grouped.get(desired.id, [])
        primary = primary_pane(panes, prev)
        old = replacing.get(desired.id)
        if primary is None and old is not None and not desired.agent.paused:
            # Created on the next pass, once the former agent is gone: never two at once.
            # No requeue of its own: the engine looks again soon after the stop (and
            # later if it failed, rather than spinning on it).
            out.statuses[desired.id] = _replacing(builder, old, desired)
            continue
        if primary is not None:
            out.actions.extend(_stop_duplicates(panes, primary, scene))
        agent_actions, status, requeue = _plan_one(
            desired,
            primary,
            builder,
            scene=scene,
            session_exists=session_exists,
            taken=taken.get(desired.id),
        )
        if any(isinstance(a, CreateAgent) for a in agent_actions):
            session_exists = True
        out.actions.extend(agent_actions)
        out.statuses[desired.id] = status
        if requeue is not None:
            out.requeues.append(requeue)
    return out


def _stop_duplicates(panes: list[Pane], primary: Pane, scene: _Scene) -> list[Action]:
    """Stop every pane of the agent but its primary one: there is never a second agent."""
    return [
        stop_pane(
            extra,
            scene.world,
            grace_sec=scene.team.stop_grace_sec,
            cause="duplicate of " + primary.pane_id,
        )
        for extra in panes
        if extra.pane_id != primary.pane_id
    ]


def _after_rename(actions: Sequence[Action], move: RenameSession | None) -> list[Action]:
    """Windows created in the session being renamed require the rename: if it fails, they
    are skipped (and planned again next pass) instead of failing on a missing session."""
    if move is None:
        return list(actions)
    return [
        replace(a, requires=(*a.requires, move.resource))
        if isinstance(a, CreateAgent) and not a.new_session
        else a
        for a in actions
    ]


def _stop_strays(team: DesiredTeam, world: World, move: RenameSession | None) -> list[Action]:
    """Stop our panes of agents removed from the spec, or left in another session."""
    declared = {d.agent.id for d in team.agents}
    stops: list[Action] = []
    for pane in sorted(world.owned_panes(team.team_id, team.workspace_marker), key=pane_key):
        if pane.agent not in declared:
            cause = "removed from spec"
        elif pane.session_name != team.session and (move is None or pane.session_name != move.old):
            cause = f"left in session {pane.session_name}"
        else:
            continue
        stops.append(stop_pane(pane, world, grace_sec=team.stop_grace_sec, cause=cause))
    return stops


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
    scene: _Scene,
    session_exists: bool,
    taken: Pane | None = None,
) -> AgentPlan:
    """Dispatch on the agent's state; the order of the checks is the decision.

    Paused wins over everything; an agent that cannot be launched (invalid, unsupported)
    or whose CLI is missing is reported, not started; then the pane decides: none (create,
    also after a person took its pane over), dead (`plan_exited`), alive with another
    configuration hash (recreate), or alive and current (dialogs, approvals, readiness).
    """
    launch = desired.launch
    if desired.agent.paused:
        return _paused(desired, pane, b, scene)
    if launch is None:
        return _unlaunchable(desired, b)
    config_hash = launch.config_hash()
    if pane is None:
        if not scene.installed.get(launch.executable, False):
            return _not_installed(desired, b, config_hash=config_hash)
        return _missing(
            desired, b, scene, config_hash=config_hash, session_exists=session_exists, taken=taken
        )
    if pane.dead:
        return plan_exited(
            desired, pane, b, world=scene.world, config_hash=config_hash, starts=scene.starts
        )
    if pane.config_hash != config_hash:
        return _stale(desired, pane, b, scene, config_hash=config_hash)
    return _running(desired, pane, b, scene, config_hash=config_hash)


def _paused(desired: DesiredAgent, pane: Pane | None, b: StatusBuilder, scene: _Scene) -> AgentPlan:
    """`paused: true`: stop its pane if it has one, and report it paused."""
    b.set(C.READY, C.FALSE, C.PAUSED, "paused in the spec")
    b.set(C.CRASH_LOOP_BACK_OFF, C.FALSE, C.PAUSED)
    stops: list[Action] = (
        [stop_pane(pane, scene.world, grace_sec=scene.team.stop_grace_sec, cause="paused")]
        if pane is not None
        else []
    )
    status = b.build(
        paneId=None,
        windowId=None,
        pid=None,
        pidCreateTime=None,
        provider=desired.agent.provider,
        backoffUntil=None,
    )
    return stops, status, None


def _unlaunchable(desired: DesiredAgent, b: StatusBuilder) -> AgentPlan:
    """No launch configuration (an invalid spec, or a provider it cannot run): report why."""
    reason = C.LAUNCH_INVALID if desired.invalid else C.PROVIDER_NOT_INSTALLED
    b.set(C.READY, C.FALSE, reason, desired.unsupported or "")
    return [], b.build(provider=desired.agent.provider), None


def _not_installed(desired: DesiredAgent, b: StatusBuilder, *, config_hash: str) -> AgentPlan:
    """No pane and its CLI is not on PATH: starting it would only exit 127."""
    assert desired.launch is not None
    executable = desired.launch.executable
    b.set(C.READY, C.FALSE, C.PROVIDER_NOT_INSTALLED, f"{executable!r} was not found on PATH")
    return [], b.build(provider=desired.agent.provider, configHash=config_hash), None


def _missing(
    desired: DesiredAgent,
    b: StatusBuilder,
    scene: _Scene,
    *,
    config_hash: str,
    session_exists: bool,
    taken: Pane | None,
) -> AgentPlan:
    """No pane: create its window (first start, resume after a pause, or after a takeover)."""
    assert desired.launch is not None
    provider = desired.agent.provider
    start = session_start(desired, b, scene.view, scene.team)
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
        session=scene.team.session,
        launch=desired.launch,
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
    status = b.build(
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
    )
    return [create], status, None


def _stale(
    desired: DesiredAgent, pane: Pane, b: StatusBuilder, scene: _Scene, *, config_hash: str
) -> AgentPlan:
    """Alive under another configuration hash (a spec change or a restart request): recreate."""
    assert desired.launch is not None
    provider = desired.agent.provider
    ref = _process_ref(pane, scene.world)
    start = session_start(desired, b, scene.view, scene.team)
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
        launch=desired.launch,
        config_hash=config_hash,
        grace_sec=scene.team.stop_grace_sec,
        cause=cause,
        provider_session=start.start,
    )
    status = b.build(
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
    )
    return [recreate], status, None


def _running(
    desired: DesiredAgent, pane: Pane, b: StatusBuilder, scene: _Scene, *, config_hash: str
) -> AgentPlan:
    """Alive and current: answer what its screen asks, judge readiness, follow its session."""
    ref = _process_ref(pane, scene.world)
    same_process = _same_process(b.previous, pane, ref)
    started_at = _started_at(b.previous, ref, same_process=same_process)
    answers, answered, requeue = _attend(
        desired, pane, b, scene, ref=ref, same_process=same_process, started_at=started_at
    )
    if pane.activity is not None:
        answered["lastOutputAt"] = format_epoch(pane.activity)
    capture = plan_capture(
        desired,
        b.previous,
        scene.view.transcripts.get(desired.id),
        now=b.now,
        started_at=parse_time(started_at) if started_at else None,
    )
    if capture.condition is not None:
        b.set(C.SESSION_CAPTURED, *capture.condition)
    if capture.requeue is not None:
        requeue = min(requeue, capture.requeue) if requeue is not None else capture.requeue
    b.set(C.CRASH_LOOP_BACK_OFF, C.FALSE, C.RUNNING)
    status = b.build(
        capture.fields,
        answered,
        applied_restart(desired),
        paneId=pane.pane_id,
        windowId=pane.window_id,
        pid=pane.pane_pid,
        pidCreateTime=ref.create_time if ref else None,
        configHash=config_hash,
        provider=desired.agent.provider,
        startedAt=started_at,
        backoffUntil=None,
    )
    return answers, status, requeue


def _attend(
    desired: DesiredAgent,
    pane: Pane,
    b: StatusBuilder,
    scene: _Scene,
    *,
    ref: ProcessRef | None,
    same_process: bool,
    started_at: str | None,
) -> tuple[list[Action], AgentStatusUpdate, float | None]:
    """What its screen shows sets `Ready`: a first-run dialog (answered when the policy
    allows), else a permission prompt, else the readiness check. Returns the answers to
    send, the status fields they touch and when to look again."""
    prev = b.previous
    screen = scene.world.captures.get(pane.pane_id, Screen(""))
    dialog = plan_dialog(
        desired,
        prev,
        screen,
        pane=pane.pane_id,
        process=ref,
        workspace=scene.team.workspace_marker,
        auto_trust=scene.view.auto_trust,
    )
    approval = (
        plan_approval(desired, prev, screen, pane=pane.pane_id, process=ref, now=b.now)
        if dialog is None
        else None
    )
    answered: AgentStatusUpdate = {
        "approval": approval.status if approval is not None else None
    }
    if dialog is not None:
        b.set(C.READY, C.FALSE, C.AWAITING_INPUT, dialog.message)
        if dialog.action is None:
            return [], answered, READINESS_POLL_SEC
        answered["dialogAnsweredPid"] = dialog.answered_pid
        return [dialog.action], answered, READINESS_POLL_SEC
    if approval is not None:
        b.set(C.READY, C.FALSE, C.AWAITING_APPROVAL, approval.message)
        answers: list[Action] = [approval.action] if approval.action is not None else []
        return answers, answered, APPROVAL_POLL_SEC
    requeue = plan_readiness(
        desired,
        pane,
        b,
        screen=scene.world.captures.get(pane.pane_id),
        same_process=same_process,
        started_at=started_at,
    )
    return [], answered, requeue


def _process_ref(pane: Pane, world: World) -> ProcessRef | None:
    """The pane's process as observed (pid and create time), if the scan saw it."""
    process = world.processes.get(pane.pane_pid) if pane.pane_pid is not None else None
    return ProcessRef(pane.pane_pid, process.create_time) if process and pane.pane_pid else None


def _same_process(prev: AgentStatus, pane: Pane, ref: ProcessRef | None) -> bool:
    """The process the last pass reported (same pid, and same create time when both known)."""
    return prev.pid == pane.pane_pid and (
        ref is None
        or prev.pidCreateTime is None
        or abs(prev.pidCreateTime - ref.create_time) < 0.01
    )


def _started_at(prev: AgentStatus, ref: ProcessRef | None, *, same_process: bool) -> str | None:
    """When the running process started: as reported before, else its create time."""
    if same_process and prev.startedAt:
        return prev.startedAt
    return format_epoch(ref.create_time) if ref else None


def _was_paused(prev: AgentStatus) -> bool:
    """The last pass reported the agent paused: a start now is its resume, and says so."""
    ready = C.find_condition(prev.conditions, C.READY)
    return ready is not None and ready.reason == C.PAUSED

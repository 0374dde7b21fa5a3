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
the orphans controller's (`controllers.orphans`), which never acts on these panes.

Pure: `plan_agents` reads no clock and does no I/O; the snapshot, the previous status,
`now` and the executables found on PATH are its inputs. Its output is data (a `Plan` and
agent statuses), which is what `team-agent plan` prints and what the unit tests compare.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from controllers.backoff import next_restart, wants_restart
from controllers.desired import DesiredAgent, DesiredTeam
from controllers.dialogs import plan_dialog
from controllers.provider_view import EMPTY_VIEW, ProviderView
from controllers.sessions import StartPlan, plan_capture, plan_start, session_notes
from controllers.team import Stall
from reconciler import conditions as C
from reconciler.actions import (
    Action,
    CreateAgent,
    NudgeServer,
    Plan,
    ProcessRef,
    RecreateAgent,
    RestartAgent,
    StopAgent,
)
from reconciler.clock import format_time, parse_time
from reconciler.conditions import Condition, set_condition
from reconciler.controller import ControllerResult, PassInputs, Report
from reconciler.ids import AgentId, PaneId
from reconciler.status import AgentStatus, TeamStatus
from reconciler.world import Pane, World

NUDGE_RETRY_SEC = 0.2
READINESS_POLL_SEC = 0.25


@dataclass(frozen=True)
class AgentsResult:
    """What the agents controller wants done and what it reports."""

    plan: Plan
    agents: Mapping[str, AgentStatus]
    session_conflict: str | None = None


@dataclass
class _Builder:
    """Accumulates one agent's next status; conditions keep their transition times."""

    previous: AgentStatus
    now: datetime
    generation: int
    status: dict[str, object] = field(default_factory=dict)
    conditions: list[Condition] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.conditions = list(self.previous.conditions)

    def set(
        self, cond_type: str, status: C.ConditionStatus, reason: str, message: str = ""
    ) -> None:
        new = C.condition(
            cond_type, status, reason, message, now=self.now, generation=self.generation
        )
        self.conditions, _ = set_condition(self.conditions, new)

    def build(self, **fields: object) -> AgentStatus:
        data = self.previous.model_dump()
        data.update(fields)
        data["conditions"] = self.conditions
        return AgentStatus.model_validate(data)


def panes_to_capture(team: DesiredTeam, world: World, previous: TeamStatus) -> list[PaneId]:
    """Live agent panes whose readiness pattern has not been seen yet for their process.

    Readiness latches: once an agent's pattern was seen, it stays Ready for the life of
    that process, so a converged team needs no capture at all (no-op passes stay O(1)).
    """
    wanted: list[PaneId] = []
    for desired in team.agents:
        if desired.launch is None or desired.launch.readiness_pattern is None:
            continue
        pane = _primary(_agent_panes(team, world, desired.id), previous.agents.get(desired.id))
        if pane is None or pane.dead:
            continue
        prev = previous.agents.get(desired.id)
        if prev is not None and prev.pid == pane.pane_pid and C.is_true(prev.conditions, C.READY):
            continue
        wanted.append(pane.pane_id)
    return wanted


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
    conflict = _session_conflict(team, world)
    if conflict is not None:
        return AgentsResult(plan=Plan(), agents=dict(previous.agents), session_conflict=conflict)

    actions: list[Action] = []
    statuses: dict[str, AgentStatus] = {}
    requeues: list[float] = []
    session_exists = world.session_exists(team.session)
    declared = {d.agent.id for d in team.agents}

    for desired in team.agents:
        prev = previous.agents.get(desired.id) or AgentStatus()
        builder = _Builder(previous=prev, now=now, generation=generation)
        panes = _agent_panes(team, world, desired.id)
        primary = _primary(panes, prev)
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
        )
        if any(isinstance(a, CreateAgent) for a in agent_actions):
            session_exists = True
        actions.extend(agent_actions)
        statuses[desired.id] = status
        if requeue is not None:
            requeues.append(requeue)

    for pane in sorted(world.owned_panes(team.team_id, team.workspace_marker), key=_pane_key):
        if pane.agent not in declared:
            actions.append(
                stop_pane(pane, world, grace_sec=team.stop_grace_sec, cause="removed from spec")
            )
        elif pane.session_name != team.session:
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


def _plan_one(
    desired: DesiredAgent,
    pane: Pane | None,
    b: _Builder,
    *,
    world: World,
    team: DesiredTeam,
    session_exists: bool,
    installed: Mapping[str, bool],
    view: ProviderView,
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
        start = _session_start(desired, b, view, team)
        if start.hold:
            return [], _held(b, configHash=config_hash, provider=provider, paneId=None), None
        b.set(C.READY, C.FALSE, C.STARTING, "creating its window")
        b.set(C.CRASH_LOOP_BACK_OFF, C.FALSE, C.STARTING)
        create = CreateAgent(
            agent=desired.id,
            session=team.session,
            launch=launch,
            config_hash=config_hash,
            new_session=not session_exists,
            provider_session=start.start,
        )
        return (
            [create],
            b.build(
                paneId=None,
                windowId=None,
                pid=None,
                pidCreateTime=None,
                configHash=config_hash,
                provider=provider,
                startedAt=format_time(b.now),
                backoffUntil=None,
                **start.fields,
            ),
            None,
        )

    if pane.dead:
        return _plan_dead(
            desired,
            pane,
            b,
            world=world,
            config_hash=config_hash,
            starts=_Starts(view=view, team=team, installed=installed),
        )

    process = world.processes.get(pane.pane_pid) if pane.pane_pid is not None else None
    ref = ProcessRef(pane.pane_pid, process.create_time) if process and pane.pane_pid else None
    if pane.config_hash != config_hash:
        start = _session_start(desired, b, view, team)
        if start.hold:  # the old configuration keeps running until a person decides
            running = {"pid": pane.pane_pid, "pidCreateTime": ref.create_time if ref else None}
            return [], _held(b, configHash=pane.config_hash, provider=provider, **running), None
        b.set(C.READY, C.FALSE, C.STARTING, "configuration changed: recreating")
        recreate = RecreateAgent(
            agent=desired.id,
            pane=pane.pane_id,
            process=ref,
            launch=launch,
            config_hash=config_hash,
            grace_sec=team.stop_grace_sec,
            provider_session=start.start,
        )
        return (
            [recreate],
            b.build(
                paneId=pane.pane_id,
                windowId=pane.window_id,
                pid=None,
                pidCreateTime=None,
                configHash=config_hash,
                provider=provider,
                startedAt=format_time(b.now),
                backoffSec=0.0,
                backoffUntil=None,
                **start.fields,
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
        else format_time(datetime.fromtimestamp(ref.create_time, timezone.utc))
        if ref
        else None
    )
    dialog = plan_dialog(
        desired,
        prev,
        world.captures.get(pane.pane_id, ""),
        pane=pane.pane_id,
        process=ref,
        workspace=team.workspace_marker,
        auto_trust=view.auto_trust,
    )
    answers: list[Action] = []
    answered: dict[str, object] = {}
    if dialog is not None:
        b.set(C.READY, C.FALSE, C.AWAITING_INPUT, dialog.message)
        requeue: float | None = READINESS_POLL_SEC
        if dialog.action is not None:
            answers.append(dialog.action)
            answered["dialogAnsweredPid"] = dialog.answered_pid
    else:
        requeue = _readiness(
            desired, pane, b, world=world, same_process=same_process, started_at=started_at
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
            paneId=pane.pane_id,
            windowId=pane.window_id,
            pid=pane.pane_pid,
            pidCreateTime=ref.create_time if ref else None,
            configHash=config_hash,
            provider=provider,
            startedAt=started_at,
            backoffUntil=None,
            **capture.fields,
            **answered,
        ),
        requeue,
    )


def _readiness(
    desired: DesiredAgent,
    pane: Pane,
    b: _Builder,
    *,
    world: World,
    same_process: bool,
    started_at: str | None,
) -> float | None:
    """Set `Ready` for a live agent; return seconds until readiness should be looked at."""
    launch = desired.launch
    pattern = launch.readiness_pattern if launch is not None else None
    if pattern is None:
        b.set(C.READY, C.TRUE, C.RUNNING)
        return None
    if same_process and C.is_true(b.previous.conditions, C.READY):
        b.set(C.READY, C.TRUE, C.RUNNING)
        return None
    text = world.captures.get(pane.pane_id, "")
    if re.search(pattern, text, re.MULTILINE):
        b.set(C.READY, C.TRUE, C.RUNNING)
        return None
    timeout = desired.agent.readiness.timeout_sec if desired.agent.readiness else 60.0
    waited = (b.now - parse_time(started_at)).total_seconds() if started_at else 0.0
    if waited > timeout:
        b.set(
            C.READY,
            C.FALSE,
            C.READINESS_TIMEOUT,
            f"readiness pattern {pattern!r} not seen after {timeout:g}s",
        )
        return None
    b.set(C.READY, C.FALSE, C.STARTING, f"waiting for readiness pattern {pattern!r}")
    return READINESS_POLL_SEC


def _plan_dead(
    desired: DesiredAgent,
    pane: Pane,
    b: _Builder,
    *,
    world: World,
    config_hash: str,
    starts: _Starts,
) -> tuple[list[Action], AgentStatus, float | None]:
    """An agent whose process exited: restart now, later (backoff) or never (policy)."""
    assert desired.launch is not None
    prev = b.previous
    process = world.processes.get(pane.pane_pid) if pane.pane_pid is not None else None
    server = world.processes.get(pane.server_pid)
    if pane.dead_status is None and process is not None and process.zombie and server:
        # The agent exited but tmux has not collected it (tmux/tmux#311): no exit code yet.
        # Nudge the server and look again shortly rather than decide without the code.
        b.set(C.READY, C.FALSE, C.EXITED, "exited; waiting for tmux to record the exit code")
        nudge = NudgeServer(
            agent=desired.id, pane=pane.pane_id, server=ProcessRef(server.pid, server.create_time)
        )
        return [nudge], b.build(pid=None, pidCreateTime=None), NUDGE_RETRY_SEC
    # A live, non-zombie process behind a dead pane closed its terminal and lives on: for
    # the team it has exited (code unknown); the process itself is an orphan to report.
    now_ts = b.now.timestamp()
    exited_at = pane.dead_time if pane.dead_time is not None else now_ts
    code = pane.dead_status
    exit_fields: dict[str, object] = {
        "paneId": pane.pane_id,
        "windowId": pane.window_id,
        "pid": None,
        "pidCreateTime": None,
        "lastExitCode": code,
        "lastExitAt": format_time(datetime.fromtimestamp(exited_at, timezone.utc)),
        "provider": desired.agent.provider,
    }
    executable = desired.launch.executable
    if not starts.installed.get(executable, False):
        # Restarting would only exit 127 again: report it, as for an agent never started.
        b.set(C.READY, C.FALSE, C.PROVIDER_NOT_INSTALLED, f"{executable!r} was not found on PATH")
        b.set(C.CRASH_LOOP_BACK_OFF, C.FALSE, C.PROVIDER_NOT_INSTALLED)
        return [], b.build(**exit_fields), None
    if pane.config_hash != config_hash:
        # A new configuration is a new start (a new pod, in Kubernetes terms): no backoff
        # and no restart policy stand between the person's fix and the agent.
        start = _session_start(desired, b, starts.view, starts.team)
        if start.hold:
            return [], _held(b, **exit_fields), None
        b.set(C.READY, C.FALSE, C.STARTING, "configuration changed: starting it")
        b.set(C.CRASH_LOOP_BACK_OFF, C.FALSE, C.STARTING)
        restart = RestartAgent(
            agent=desired.id,
            pane=pane.pane_id,
            launch=desired.launch,
            config_hash=config_hash,
            cause="config changed",
            provider_session=start.start,
        )
        return (
            [restart],
            b.build(
                **exit_fields,
                configHash=config_hash,
                backoffSec=0.0,
                backoffUntil=None,
                startedAt=format_time(b.now),
                **start.fields,
            ),
            None,
        )

    policy = desired.agent.restart_policy
    if not wants_restart(policy, code):
        reason = C.COMPLETED if code == 0 else C.EXITED
        b.set(C.READY, C.FALSE, reason, f"exited with code {code}; restart_policy {policy}")
        b.set(C.CRASH_LOOP_BACK_OFF, C.FALSE, reason)
        return [], b.build(**exit_fields), None

    started = parse_time(prev.startedAt).timestamp() if prev.startedAt else None
    decision = next_restart(exited_at=exited_at, started_at=started, backoff_sec=prev.backoffSec)
    if now_ts + 1e-6 < decision.restart_at:
        wait = decision.restart_at - now_ts
        until = format_time(datetime.fromtimestamp(decision.restart_at, timezone.utc))
        b.set(C.READY, C.FALSE, C.EXITED, f"exited with code {code}")
        b.set(
            C.CRASH_LOOP_BACK_OFF,
            C.TRUE,
            C.BACK_OFF,
            f"back-off {decision.restart_at - exited_at:g}s restarting failed agent "
            f"(exit code {code}, {prev.restartCount} restarts)",
        )
        return [], b.build(**exit_fields, backoffUntil=until), wait

    start = _session_start(desired, b, starts.view, starts.team)
    if start.hold:
        return [], _held(b, **exit_fields), None
    restart = RestartAgent(
        agent=desired.id,
        pane=pane.pane_id,
        launch=desired.launch,
        config_hash=config_hash,
        cause=f"exited with code {code}",
        provider_session=start.start,
    )
    b.set(C.READY, C.FALSE, C.STARTING, f"restarting after exit code {code}")
    b.set(C.CRASH_LOOP_BACK_OFF, C.FALSE, C.STARTING)
    return (
        [restart],
        b.build(
            **exit_fields,
            configHash=config_hash,
            restartCount=prev.restartCount + 1,
            backoffSec=decision.next_backoff_sec,
            backoffUntil=None,
            startedAt=format_time(b.now),
            **start.fields,
        ),
        None,
    )


@dataclass(frozen=True)
class _Starts:
    """What deciding a start needs besides the agent: the pass's provider view and team."""

    view: ProviderView
    team: DesiredTeam
    installed: Mapping[str, bool]


def _session_start(
    desired: DesiredAgent, b: _Builder, view: ProviderView, team: DesiredTeam
) -> StartPlan:
    """The session part of a start (see `controllers.sessions`); sets SessionCaptured."""
    start = plan_start(
        desired,
        b.previous,
        view.transcripts.get(desired.id),
        now=b.now,
        team_id=team.team_id,
        workspace=team.workspace_marker,
    )
    if start.condition is not None:
        b.set(C.SESSION_CAPTURED, *start.condition)
    return start


def _held(b: _Builder, **fields: object) -> AgentStatus:
    """Not started: its session is lost and `session.on_lost` is hold (a person decides)."""
    held = C.find_condition(b.conditions, C.SESSION_CAPTURED)
    b.set(C.READY, C.FALSE, C.SESSION_LOST, held.message if held is not None else "")
    b.set(C.CRASH_LOOP_BACK_OFF, C.FALSE, C.SESSION_LOST)
    return b.build(**{"pid": None, "pidCreateTime": None, **fields})


def _agent_panes(team: DesiredTeam, world: World, agent_id: AgentId) -> list[Pane]:
    return sorted(
        (
            p
            for p in world.owned_panes(team.team_id, team.workspace_marker)
            if p.agent == agent_id and p.session_name == team.session
        ),
        key=_pane_key,
    )


def _primary(panes: Sequence[Pane], prev: AgentStatus | None) -> Pane | None:
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


def _pane_key(pane: Pane) -> tuple[int, int]:
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


def _session_conflict(team: DesiredTeam, world: World) -> str | None:
    """A session of our name marked as another workspace's: never ours to change."""
    for pane in world.session_panes(team.session):
        if pane.session_workspace and pane.session_workspace != team.workspace_marker:
            return (
                f"tmux session {team.session!r} belongs to workspace {pane.session_workspace}; "
                "set runtime.session_name to use another session"
            )
    return None


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

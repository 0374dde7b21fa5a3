"""One reconcile pass: load, observe, plan, apply, report.

A pass is level-triggered: whatever woke it (a spec edit, an agent's exit, the periodic
resync, `reconcile --once`), it loads the spec, observes the whole world afresh, lets the
controllers plan from that one snapshot, applies the plan and writes the status. A pass
that finds nothing to do does nothing but re-read the world (one tmux call, one process
scan) and rewrite the status.

An invalid spec stops the pass before the world is observed: the last good generation
stays in force untouched, and the status says `Stalled=True, reason=SpecInvalid` with
the file, line and column. The caller holds the workspace lock for the whole pass.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from controllers.agents import AgentsResult, panes_to_capture, plan_agents
from controllers.desired import desired_team, installed_executables
from controllers.team import Stall, team_conditions
from reconciler import conditions as C
from reconciler import markers
from reconciler.actions import (
    CreateAgent,
    NudgeServer,
    Plan,
    RecreateAgent,
    RestartAgent,
    StopAgent,
)
from reconciler.apply import ApplyContext, Outcome, apply_plan
from reconciler.clock import Clock, SystemClock, format_time
from reconciler.errors import SpecError, TmuxUnavailable
from reconciler.events import NORMAL, WARNING, Event, EventLog, EventType
from reconciler.specfile import LoadedSpec, load_spec
from reconciler.status import (
    AgentStatus,
    LastReconcile,
    SpecErrorStatus,
    StatusCorrupt,
    StatusStore,
    TeamStatus,
    ensure_state_dir,
)
from reconciler.tmux import Tmux
from reconciler.world import observe, with_captures

EXIT_READY = 0
EXIT_NOT_READY = 1
EXIT_SPEC_INVALID = 2
EXIT_LOCKED = 3
EXIT_UNUSABLE = 4

OBSERVE_AFTER_ACTION_SEC = 0.1
RETRY_FAILED_SEC = 2.0


@dataclass(frozen=True)
class PassResult:
    """What one pass did and found."""

    status: TeamStatus
    plan: Plan
    outcomes: tuple[Outcome, ...]
    exit_code: int
    requeue_after: float | None = None

    @property
    def ready(self) -> bool:
        return self.exit_code == EXIT_READY


@dataclass
class Engine:
    """Reconciles one workspace. Settings are explicit; nothing here is global."""

    spec_path: Path
    workspace: Path
    tmux_socket: str | None = None  # from --tmux-socket / TEAM_AGENT_TMUX_SOCKET
    clock: Clock = field(default_factory=SystemClock)
    python: str = sys.executable
    last_good: LoadedSpec | None = None
    _tmux: dict[str | None, Tmux] = field(default_factory=dict, repr=False)

    @property
    def state_dir(self) -> Path:
        return self.workspace / ".team"

    def tmux_for(self, spec_socket: str | None) -> Tmux:
        socket = self.tmux_socket or spec_socket
        if socket not in self._tmux:
            self._tmux[socket] = Tmux(socket_name=socket)
        return self._tmux[socket]

    def load(self) -> LoadedSpec:
        loaded = load_spec(self.spec_path)
        self.last_good = loaded
        return loaded

    def reconcile(self) -> PassResult:
        """One full pass (see the module docstring). Never raises for a failed action."""
        started = self.clock.now()
        t0 = time.monotonic()
        reconcile_id = uuid.uuid4().hex[:12]
        state = ensure_state_dir(self.workspace)
        store = StatusStore(state)
        events = EventLog(state)
        previous = _read_previous(store, events, started_at=format_time(started))

        try:
            loaded = self.load()
        except SpecError as err:
            return self._spec_invalid(err, previous, store, events, reconcile_id, t0)

        spec = loaded.spec
        generation = previous.generation
        if previous.specHash != loaded.content_hash:
            generation += 1
            for note in loaded.deprecations:
                events.append(
                    _event(
                        WARNING,
                        "Deprecated",
                        f"team/{spec.team_id}",
                        note,
                        started,
                        generation,
                        reconcile_id,
                    )
                )
        if loaded.workspace != self.workspace:
            stall = Stall(
                C.SPEC_INVALID,
                f"team.workspace moved to {loaded.workspace}; "
                f"restart team-agent to reconcile it (still serving {self.workspace})",
            )
            return self._stalled(
                stall,
                previous,
                loaded,
                generation,
                store,
                events,
                reconcile_id,
                t0,
                EXIT_SPEC_INVALID,
            )

        tmux = self.tmux_for(spec.runtime.tmux_socket)
        team = desired_team(spec, self.workspace, python=self.python)
        try:
            world = observe(tmux)
            world = with_captures(world, tmux, panes_to_capture(team, world, previous))
        except TmuxUnavailable as err:
            stall = Stall(C.TMUX_UNAVAILABLE, str(err))
            return self._stalled(
                stall, previous, loaded, generation, store, events, reconcile_id, t0, EXIT_UNUSABLE
            )

        now = self.clock.now()
        installed = installed_executables(d.launch for d in team.agents)
        result = plan_agents(
            team, world, previous, now=now, generation=generation, installed=installed
        )
        if result.session_conflict is not None:
            stall = Stall(C.SESSION_CONFLICT, result.session_conflict)
            return self._stalled(
                stall, previous, loaded, generation, store, events, reconcile_id, t0, EXIT_NOT_READY
            )

        ctx = ApplyContext(
            tmux=tmux,
            world=world,
            team_id=team.team_id,
            workspace=team.workspace_marker,
            state_dir=state,
            python=self.python,
            wake_channel=markers.wake_channel(team.team_id, team.workspace_marker),
        )
        outcomes = apply_plan(result.plan.actions, ctx)
        agents = _after_apply(result, outcomes, now=now, generation=generation)
        for outcome in outcomes:
            events.append(_outcome_event(outcome, now, generation, reconcile_id))
        _transition_events(previous, agents, events, now, generation, reconcile_id)

        paused = frozenset(a.agent.id for a in team.agents if a.agent.paused)
        conditions = team_conditions(
            previous.conditions,
            agents,
            paused=paused,
            acted=bool(outcomes),
            stall=None,
            now=now,
            generation=generation,
        )
        status = TeamStatus(
            team=spec.team_id,
            generation=generation,
            observedGeneration=generation,
            specHash=loaded.content_hash,
            conditions=conditions,
            agents=dict(agents),
            leader=previous.leader,
            orphans=previous.orphans,
            lastReconcile=LastReconcile(
                id=reconcile_id,
                startedAt=format_time(started),
                durationMs=int((time.monotonic() - t0) * 1000),
                actions=[a.render() for a in result.plan.actions],
                error="; ".join(o.message for o in outcomes if not o.ok) or None,
            ),
            specError=None,
        )
        store.write(status)
        code = EXIT_READY if C.is_true(conditions, C.READY) else EXIT_NOT_READY
        requeue = _requeue_after(result.plan.requeue_after, outcomes)
        return PassResult(
            status=status,
            plan=result.plan,
            outcomes=tuple(outcomes),
            exit_code=code,
            requeue_after=requeue,
        )

    def _spec_invalid(
        self,
        err: SpecError,
        previous: TeamStatus,
        store: StatusStore,
        events: EventLog,
        reconcile_id: str,
        t0: float,
    ) -> PassResult:
        """Report the spec error; the world and the agents are not touched."""
        now = self.clock.now()
        issue = err.first
        spec_error = SpecErrorStatus.from_issue(issue)
        if previous.specError != spec_error:
            events.append(
                _event(
                    WARNING,
                    C.SPEC_INVALID,
                    f"team/{previous.team or '-'}",
                    issue.render(),
                    now,
                    previous.generation,
                    reconcile_id,
                )
            )
        stall = Stall(C.SPEC_INVALID, issue.render())
        conditions = team_conditions(
            previous.conditions,
            previous.agents,
            paused=frozenset(),
            acted=False,
            stall=stall,
            now=now,
            generation=previous.generation,
        )
        status = previous.model_copy(
            update={
                "conditions": conditions,
                "specError": spec_error,
                "lastReconcile": _last(reconcile_id, now, t0, str(err)),
            }
        )
        store.write(status)
        return PassResult(status=status, plan=Plan(), outcomes=(), exit_code=EXIT_SPEC_INVALID)

    def _stalled(
        self,
        stall: Stall,
        previous: TeamStatus,
        loaded: LoadedSpec,
        generation: int,
        store: StatusStore,
        events: EventLog,
        reconcile_id: str,
        t0: float,
        code: int,
    ) -> PassResult:
        now = self.clock.now()
        if not C.is_true(previous.conditions, C.STALLED) or _reason(previous) != stall.reason:
            events.append(
                _event(
                    WARNING,
                    stall.reason,
                    f"team/{loaded.spec.team_id}",
                    stall.message,
                    now,
                    generation,
                    reconcile_id,
                )
            )
        conditions = team_conditions(
            previous.conditions,
            previous.agents,
            paused=frozenset(),
            acted=False,
            stall=stall,
            now=now,
            generation=generation,
        )
        status = previous.model_copy(
            update={
                "team": loaded.spec.team_id,
                "generation": generation,
                "specHash": loaded.content_hash,
                "conditions": conditions,
                "specError": None,
                "lastReconcile": _last(reconcile_id, now, t0, stall.message),
            }
        )
        store.write(status)
        return PassResult(
            status=status, plan=Plan(), outcomes=(), exit_code=code, requeue_after=2.0
        )


def _requeue_after(planned: float | None, outcomes: list[Outcome]) -> float | None:
    """When to look again: soon after acting (to observe the result), later after failures."""
    candidates = [planned] if planned is not None else []
    if any(o.ok for o in outcomes):
        candidates.append(OBSERVE_AFTER_ACTION_SEC)
    if any(not o.ok for o in outcomes):
        candidates.append(RETRY_FAILED_SEC)
    return min(candidates) if candidates else None


def _read_previous(store: StatusStore, events: EventLog, *, started_at: str) -> TeamStatus:
    try:
        previous = store.read()
    except StatusCorrupt as err:
        events.append(
            Event(
                time=started_at,
                type=WARNING,
                reason="StatusCorrupt",
                object="team",
                message=f"{err}; starting from an empty status",
            )
        )
        previous = None
    return previous or TeamStatus.empty("")


def _reason(status: TeamStatus) -> str | None:
    found = C.find_condition(status.conditions, C.STALLED)
    return found.reason if found else None


def _last(reconcile_id: str, now: datetime, t0: float, error: str | None) -> LastReconcile:
    return LastReconcile(
        id=reconcile_id,
        startedAt=format_time(now),
        durationMs=int((time.monotonic() - t0) * 1000),
        actions=[],
        error=error,
    )


def _after_apply(
    result: AgentsResult, outcomes: list[Outcome], *, now: datetime, generation: int
) -> Mapping[str, AgentStatus]:
    """Fold outcomes into the planned statuses: new pane ids, or the failure message."""
    agents = dict(result.agents)
    for outcome in outcomes:
        action = outcome.action
        if isinstance(action, (StopAgent, NudgeServer)) or action.agent not in agents:
            continue
        current = agents[action.agent]
        if outcome.ok:
            if isinstance(action, CreateAgent):
                agents[action.agent] = current.model_copy(
                    update={"paneId": outcome.pane_id, "windowId": outcome.window_id}
                )
            continue
        failed = C.condition(
            C.READY, C.FALSE, C.APPLY_FAILED, outcome.message, now=now, generation=generation
        )
        conditions, _ = C.set_condition(current.conditions, failed)
        agents[action.agent] = current.model_copy(update={"conditions": conditions})
    return agents


_VERBS = {
    CreateAgent: "Created",
    RestartAgent: "Restarted",
    RecreateAgent: "Recreated",
    StopAgent: "Stopped",
    NudgeServer: "NudgedServer",
}


def _outcome_event(outcome: Outcome, now: datetime, generation: int, reconcile_id: str) -> Event:
    action = outcome.action
    if outcome.ok:
        where = f" (pane {outcome.pane_id})" if outcome.pane_id else ""
        return _event(
            NORMAL,
            _VERBS[type(action)],
            action.resource,
            f"{action.cause}{where}",
            now,
            generation,
            reconcile_id,
        )
    return _event(
        WARNING,
        "ApplyFailed",
        action.resource,
        f"{_VERBS[type(action)].lower()} failed: {outcome.message}",
        now,
        generation,
        reconcile_id,
    )


def _transition_events(
    previous: TeamStatus,
    agents: Mapping[str, AgentStatus],
    events: EventLog,
    now: datetime,
    generation: int,
    reconcile_id: str,
) -> None:
    """One event when an agent enters crash-loop backoff or becomes ready (not per pass)."""
    for name, status in sorted(agents.items()):
        before = previous.agents.get(name)
        old = before.conditions if before else []
        if C.is_true(status.conditions, C.CRASH_LOOP_BACK_OFF) and not C.is_true(
            old, C.CRASH_LOOP_BACK_OFF
        ):
            found = C.find_condition(status.conditions, C.CRASH_LOOP_BACK_OFF)
            events.append(
                _event(
                    WARNING,
                    C.BACK_OFF,
                    f"agent/{name}",
                    found.message if found else "",
                    now,
                    generation,
                    reconcile_id,
                )
            )
        if C.is_true(status.conditions, C.READY) and not C.is_true(old, C.READY):
            events.append(
                _event(
                    NORMAL,
                    "Ready",
                    f"agent/{name}",
                    "agent is ready",
                    now,
                    generation,
                    reconcile_id,
                )
            )


def _event(
    kind: EventType,
    reason: str,
    obj: str,
    message: str,
    now: datetime,
    generation: int | None,
    reconcile_id: str,
) -> Event:
    return Event(
        time=format_time(now),
        type=kind,
        reason=reason,
        object=obj,
        message=message,
        generation=generation,
        reconcileId=reconcile_id,
    )

"""One reconcile pass: load, observe, plan, apply, report.

A pass is level-triggered: whatever woke it (a spec edit, an agent's exit, the periodic
resync, `reconcile --once`), it loads the spec, observes the whole world afresh, lets the
controllers plan from that one snapshot, applies the plan and writes the status. A pass
that finds nothing to do does nothing but re-read the world (one tmux call, one process
scan) and rewrite the status.

The engine knows no controller by name: `controllers.registry` lists them, and each brings
its own observation, plan, actions and report (`controllers.base`). The steps are methods
of their own (`load`, `observe`, `plan_pass`, `apply`, `report`), and the snapshot and the
executor are injected (`observer`, `executor`), so each step is testable alone.

An invalid spec never touches the running team: the status says `Stalled=True,
reason=SpecInvalid` with the file, line and column (`SpecNotFound` with the path when the
file is gone), and the last good generation stays in force. Stays in force means served:
an engine that loaded a good spec before (`run`) keeps reconciling it, so a crashed agent
is still restarted, with its backoff; an engine that never did (`reconcile --once` on a
broken spec) stops before observing anything.

A controller that raises, or whose input cannot be read, is isolated
(`reconciler.engine.isolation`): the others still run, and the team says `Degraded=True`.
The caller holds the workspace lock for the whole pass.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from pathlib import Path

import msgspec

from controllers.base import (
    Controller,
    ControllerResult,
    Facts,
    ObserveContext,
    PassInputs,
    Report,
    Settled,
    Stall,
)
from controllers.registry import default_controllers, desired_team, installed_executables
from reconciler.api import conditions as C
from reconciler.api.actions import Outcome, Plan, merge_plans
from reconciler.api.clock import Clock, SystemClock, format_time
from reconciler.api.errors import SpecError, SpecNotFound, TmuxUnavailable
from reconciler.api.events import WARNING, Event, Note, outcome_note, to_event
from reconciler.api.exitcodes import EXIT_NOT_READY, EXIT_READY, EXIT_SPEC_INVALID, EXIT_UNUSABLE
from reconciler.api.hooks import (
    APPLIED_ALL,
    LOADED,
    OBSERVED,
    PLANNED,
    WRITTEN,
    PassHooks,
    PassPoint,
)
from reconciler.api.ids import PaneId
from reconciler.api.status import LastReconcile, SpecErrorStatus, TeamStatus
from reconciler.apply.executor import Applier, ApplyContext, apply_plan
from reconciler.engine.isolation import (
    ControllerFailure,
    degraded_condition,
    degraded_notes,
    observe_input,
    run_controllers,
)
from reconciler.engine.reporting import transition_notes
from reconciler.engine.summary import team_conditions
from reconciler.observe.procs import Scanner, scan
from reconciler.observe.tmux import Tmux
from reconciler.observe.world import World, observe, with_captures
from reconciler.specfile.load import LoadedSpec, load_spec
from reconciler.store.eventlog import EventLog
from reconciler.store.statusfile import StatusCorrupt, StatusStore, ensure_state_dir

log = logging.getLogger("team_agent.engine")


OBSERVE_AFTER_ACTION_SEC = 0.1
RETRY_FAILED_SEC = 2.0
NO_PLAN = Plan()

# The one snapshot of a pass (one `list-panes`, one process scan); tests inject their own.
Observer = Callable[[Tmux, Scanner], World]
# Carries out a plan (`apply_plan`); tests inject a recorder.
Executor = Callable[..., list[Outcome]]


def observe_snapshot(tmux: Tmux, scanner: Scanner) -> World:
    return observe(tmux, scanner=scanner)


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


@dataclass(frozen=True)
class Preview:
    """A status observed now and computed in memory (`Engine.preview`), never written."""

    status: TeamStatus
    plan: Plan  # what a pass would do from this observation
    observed_at: datetime


@dataclass(frozen=True)
class Observed:
    """What the observe step hands the plan step: the server, the inputs, who is left out."""

    tmux: Tmux
    inputs: PassInputs
    failures: list[ControllerFailure]


@dataclass(frozen=True)
class Planned:
    """The plan step's result: every controller's result, the merged plan, a stall."""

    results: tuple[ControllerResult, ...]
    names: tuple[str, ...]  # the controller that made each result
    plan: Plan
    stall: Stall | None


@dataclass(frozen=True)
class _DryRun:
    """What `plan` and `preview` share: a pass's inputs and its controllers' results."""

    previous: TeamStatus
    observed: Observed
    planned: Planned


@dataclass
class Engine:
    """Reconciles one workspace. Settings are explicit; nothing here is global."""

    spec_path: Path
    workspace: Path
    tmux_socket: str | None = None  # from --tmux-socket / TEAM_AGENT_TMUX_SOCKET
    clock: Clock = field(default_factory=SystemClock)
    python: str = sys.executable
    last_good: LoadedSpec | None = None
    controllers: tuple[Controller, ...] = field(default_factory=default_controllers)
    scanner: Scanner = scan  # the process-table scan; benchmarks pass a counting wrapper
    observer: Observer = observe_snapshot
    executor: Executor = apply_plan
    hooks: PassHooks | None = None  # None in production; tests/faults inject faults here
    _tmux: dict[str | None, Tmux] = field(default_factory=dict, repr=False)

    @property
    def state_dir(self) -> Path:
        return self.workspace / ".team"

    def tmux_for(self, spec_socket: str | None) -> Tmux:
        socket = self.tmux_socket or spec_socket
        if socket not in self._tmux:
            self._tmux[socket] = Tmux(socket_name=socket)
        return self._tmux[socket]

    def leader_tmux_for(self, socket_path: str) -> Tmux:
        """The leader's server when it is not the workers' (`tmux -S`, from the hint).

        Kept in `_tmux` under its absolute path (never a valid socket *name*, so no
        collision), so `tmux_calls` counts it with the workers' server.
        """
        if socket_path not in self._tmux:
            self._tmux[socket_path] = Tmux(socket_path=socket_path)
        return self._tmux[socket_path]

    @property
    def tmux_calls(self) -> int:
        """tmux invocations so far, over every server this engine has addressed."""
        return sum(t.calls for t in self._tmux.values())

    def _reached(self, point: PassPoint) -> None:
        if self.hooks is not None:
            self.hooks.reached(point, None)

    # -- the steps of a pass -------------------------------------------------------------

    def load(self) -> LoadedSpec:
        loaded = load_spec(self.spec_path, previous=self.last_good)
        self.last_good = loaded
        return loaded

    def observe(self, loaded: LoadedSpec, previous: TeamStatus, generation: int) -> Observed:
        """The one snapshot, each controller's own facts, and the screens they need.

        Raises `TmuxUnavailable` when the workers' tmux cannot be used at all: without the
        snapshot no controller can run. A controller whose observation fails is left out
        and returned as a failure; the others go on.
        """
        spec = loaded.spec
        tmux = self.tmux_for(spec.runtime.tmux_socket)
        team = desired_team(spec, self.workspace, python=self.python)
        world = self.observer(tmux, self.scanner)
        ctx = ObserveContext(
            loaded=loaded,
            team=team,
            world=world,
            previous=previous,
            now=self.clock.now(),
            tmux=tmux,
            tmux_at=self.leader_tmux_for,
            state_dir=self.state_dir,
            env=os.environ,
        )
        failures: list[ControllerFailure] = []
        facts = Facts()
        for controller in self.controllers:
            fact = observe_input(controller.name, partial(controller.observe, ctx), failures)
            if fact is not None:
                facts = facts.with_value(fact)
                ctx = replace(ctx, facts=facts)
        left_out = {f.controller for f in failures}
        wanted: dict[PaneId, None] = {}  # the panes to capture, in order, once each
        for controller in self.controllers:
            if controller.name not in left_out:
                screens = partial(_listed, controller.screens, ctx)
                panes = observe_input(controller.name, screens, failures) or []
                wanted.update(dict.fromkeys(panes))
        inputs = PassInputs(
            loaded=loaded,
            team=team,
            world=with_captures(world, tmux, list(wanted)),
            previous=previous,
            now=ctx.now,
            generation=generation,
            installed=installed_executables(d.launch for d in team.agents),
            facts=facts,
        )
        return Observed(tmux=tmux, inputs=inputs, failures=failures)

    def plan_pass(self, observed: Observed) -> Planned:
        """Every controller's plan and report from the one set of inputs (pure)."""
        ran = run_controllers(self.controllers, observed.inputs, observed.failures)
        results = tuple(result for _, result in ran)
        stall = next((r.report.stall for r in results if r.report.stall is not None), None)
        return Planned(
            results=results,
            names=tuple(name for name, _ in ran),
            plan=merge_plans([r.plan for r in results]),
            stall=stall,
        )

    def apply(self, plan: Plan, observed: Observed) -> list[Outcome]:
        """Carry out the merged plan; each action goes to the controller that owns its type."""
        team = observed.inputs.team
        ctx = ApplyContext(
            tmux=observed.tmux,
            world=observed.inputs.world,
            team_id=team.team_id,
            workspace=team.workspace_marker,
            state_dir=self.state_dir,
            python=self.python,
            tmux_at=self.leader_tmux_for,
        )
        appliers: tuple[Applier, ...] = self.controllers
        return self.executor(plan.actions, ctx, appliers, hooks=self.hooks)

    def report(
        self, observed: Observed, planned: Planned, outcomes: Sequence[Outcome]
    ) -> tuple[TeamStatus, list[Note]]:
        """The status every controller's settled report makes, laid over the previous one,
        and the notes (events) of the pass: the controllers', the outcomes', the transitions'.
        """
        inputs = observed.inputs
        owner = {kind: c.name for c in self.controllers for kind in c.action_types}
        reports: list[Report] = []
        by_name = {c.name: c for c in self.controllers}
        for name, result in zip(planned.names, planned.results, strict=True):
            mine = tuple(o for o in outcomes if owner.get(type(o.action)) == name)
            settled = Settled(result.report, mine, inputs.now, inputs.generation)
            reports.append(by_name[name].settle(settled))
        status = merge_reports(inputs.previous, reports)
        notes = [n for r in reports for n in r.notes]
        notes += [outcome_note(o) for o in outcomes if not o.quiet]
        notes += transition_notes(inputs.previous, status.agents)
        return status, notes

    # -- whole passes ----------------------------------------------------------------------

    def plan(self) -> tuple[Plan, Stall | None]:
        """What a pass would do now, changing nothing (`team-agent plan` / `diff`).

        Takes no lock and writes nothing. Raises `SpecError` for an invalid spec and
        `TmuxUnavailable` when tmux cannot be used.
        """
        dry = self._dry_run()
        return dry.planned.plan, dry.planned.stall

    def preview(self) -> Preview:
        """One observation now and the status this pass would report, changing nothing.

        `team-agent status --refresh`: the same load, observation (one tmux call, one
        process scan) and controllers as a pass, the reports merged over the stored
        status in memory; no lock, no apply, no status or event written, no pane touched.
        Agents' conditions say what is there now, before any action (an agent whose pane
        is gone reads `Starting` with no pid: the plan that would start it is returned
        beside it). Raises `SpecError` and `TmuxUnavailable` as `plan` does.
        """
        dry = self._dry_run()
        inputs = dry.observed.inputs
        status = merge_reports(dry.previous, [r.report for r in dry.planned.results])
        conditions = _summary(
            status, inputs, acted=False, stall=dry.planned.stall, failures=dry.observed.failures
        )
        status = msgspec.structs.replace(
            status,
            team=inputs.loaded.spec.team_id,
            generation=inputs.generation,
            specHash=inputs.loaded.content_hash,
            specError=None,
            conditions=conditions,
        )
        return Preview(status=status, plan=dry.planned.plan, observed_at=inputs.now)

    def _dry_run(self) -> _DryRun:
        """Load, observe and plan as a pass does, with no lock, no apply and no write."""
        loaded = self.load()
        try:
            previous = StatusStore(self.state_dir).read() or TeamStatus.empty(loaded.spec.team_id)
        except StatusCorrupt:
            previous = TeamStatus.empty(loaded.spec.team_id)
        generation = previous.generation + (previous.specHash != loaded.content_hash)
        observed = self.observe(loaded, previous, generation)
        return _DryRun(previous=previous, observed=observed, planned=self.plan_pass(observed))

    def reconcile(self) -> PassResult:
        """One full pass: load, observe, plan, apply, report. Never raises for a failed action."""
        run = _Run.begin(self.workspace, self.clock)
        loaded = self._load_or_stall(run)
        if isinstance(loaded, PassResult):
            return self._written(loaded)
        spec = loaded.spec
        generation = run.identify(loaded)
        if loaded.workspace != self.workspace:
            moved = Stall(
                C.SPEC_INVALID,
                f"team.workspace moved to {loaded.workspace}; restart "
                f"team-agent to reconcile it (still serving {self.workspace})",
            )
            return self._written(run.stall_out(moved, EXIT_SPEC_INVALID, spec.team_id))
        try:
            observed = self.observe(loaded, run.previous, generation)
        except TmuxUnavailable as err:
            stall = Stall(C.TMUX_UNAVAILABLE, str(err))
            return self._written(run.stall_out(stall, EXIT_UNUSABLE, spec.team_id))
        self._reached(OBSERVED)
        planned = self.plan_pass(observed)
        inputs = observed.inputs
        degraded = degraded_condition(observed.failures, now=inputs.now, generation=generation)
        run.emit(degraded_notes(run.previous.conditions, degraded, team=spec.team_id))
        if planned.stall is not None:
            return self._written(run.stall_out(planned.stall, EXIT_NOT_READY, spec.team_id))
        self._reached(PLANNED)
        outcomes = self.apply(planned.plan, observed)
        self._reached(APPLIED_ALL)
        status, notes = self.report(observed, planned, outcomes)
        run.emit(notes)
        return self._written(run.converged(status, inputs, planned.plan, outcomes, observed))

    def _load_or_stall(self, run: _Run) -> LoadedSpec | PassResult:
        """The spec to serve this pass: the file's, or the last good one while it is broken.

        Returns the pass's (stalled) result when there is nothing to serve: the spec never
        loaded here, or the status belongs to another spec.
        """
        try:
            loaded = self.load()
        except (SpecError, SpecNotFound) as err:
            problem = _spec_problem(err, self.spec_path, self.last_good)
            run.spec_problem = problem
            previous = run.previous
            changed = _reason(previous) != problem.stall.reason
            if previous.specError != problem.spec_error or changed:
                if self.last_good is not None:  # `run` (one-shot verbs print the error)
                    log.warning("%s", problem.stall.message)
                team = f"team/{previous.team or '-'}"
                run.emit([Note(WARNING, problem.stall.reason, team, problem.stall.message)])
            last = self.last_good
            if last is None or last.content_hash != previous.specHash:
                # Nothing good was ever loaded here (or the status is another spec's):
                # nothing to keep in force, so nothing is observed or touched.
                stalled = _stalled_status(
                    previous, problem.stall, now=run.started, generation=previous.generation
                )
                return run.finish(
                    msgspec.structs.replace(stalled, specError=problem.spec_error),
                    EXIT_SPEC_INVALID,
                    error=problem.error,
                )
            loaded = last  # the last good generation stays in force: serve it
        self._reached(LOADED)
        return loaded

    def _written(self, result: PassResult) -> PassResult:
        self._reached(WRITTEN)
        return result


def _listed(
    screens: Callable[[ObserveContext], Iterable[PaneId]], ctx: ObserveContext
) -> list[PaneId]:
    return list(screens(ctx))


def _summary(
    status: TeamStatus,
    inputs: PassInputs,
    *,
    acted: bool,
    stall: Stall | None,
    failures: Sequence[ControllerFailure],
) -> list[C.Condition]:
    """The team's `Ready`, `Reconciling`, `Stalled` and `Degraded` from this pass."""
    paused = frozenset(a.agent.id for a in inputs.team.agents if a.agent.paused)
    conditions = team_conditions(
        status.conditions,
        status.agents,
        paused=paused,
        acted=acted,
        stall=stall,
        now=inputs.now,
        generation=inputs.generation,
    )
    degraded = degraded_condition(failures, now=inputs.now, generation=inputs.generation)
    conditions, _ = C.set_condition(conditions, degraded)
    return conditions


@dataclass
class _Run:
    """One pass's bookkeeping: its id and clock, the previous status, events and the write."""

    started: datetime
    t0: float
    reconcile_id: str
    store: StatusStore
    events: EventLog
    previous: TeamStatus
    generation: int | None = None
    identity: dict[str, object] = field(default_factory=dict)
    spec_problem: _SpecProblem | None = None

    @classmethod
    def begin(cls, workspace: Path, clock: Clock) -> _Run:
        started = clock.now()
        state = ensure_state_dir(workspace)
        store, events = StatusStore(state), EventLog(state)
        previous = _read_previous(store, events, started_at=format_time(started))
        return cls(started, time.monotonic(), uuid.uuid4().hex[:12], store, events, previous)

    def emit(self, notes: Sequence[Note]) -> None:
        generation = self.generation if self.generation is not None else self.previous.generation
        for note in notes:
            event = to_event(
                note, now=self.started, generation=generation, reconcile_id=self.reconcile_id
            )
            self.events.append(event)

    def identify(self, loaded: LoadedSpec) -> int:
        """This pass's generation (a new spec hash is a new one), and its identity fields."""
        generation = self.previous.generation
        if self.previous.specHash != loaded.content_hash:
            generation += 1
            self.generation = generation
            team = f"team/{loaded.spec.team_id}"
            self.emit([Note(WARNING, "Deprecated", team, note) for note in loaded.deprecations])
        self.generation = generation
        problem = self.spec_problem
        self.identity = {
            "team": loaded.spec.team_id,
            "generation": generation,
            "specHash": loaded.content_hash,
            "specError": problem.spec_error if problem is not None else None,
        }
        return generation

    def stall_out(self, stall: Stall, code: int, team_id: str) -> PassResult:
        previous = self.previous
        if not C.is_true(previous.conditions, C.STALLED) or _reason(previous) != stall.reason:
            self.emit([Note(WARNING, stall.reason, f"team/{team_id}", stall.message)])
        generation = self.generation if self.generation is not None else previous.generation
        stalled = _stalled_status(previous, stall, now=self.started, generation=generation)
        return self.finish(
            msgspec.structs.replace(stalled, **self.identity),
            code,
            requeue=RETRY_FAILED_SEC,
            error=stall.message,
        )

    def converged(
        self,
        status: TeamStatus,
        inputs: PassInputs,
        plan: Plan,
        outcomes: Sequence[Outcome],
        observed: Observed,
    ) -> PassResult:
        """The status of a pass that applied its plan, and its exit code."""
        problem = self.spec_problem
        conditions = _summary(
            status,
            inputs,
            acted=any(not o.quiet for o in outcomes),
            stall=problem.stall if problem is not None else None,
            failures=observed.failures,
        )
        status = msgspec.structs.replace(
            status, **self.identity, observedGeneration=inputs.generation, conditions=conditions
        )
        code = EXIT_READY if C.is_true(conditions, C.READY) else EXIT_NOT_READY
        errors = [o.message for o in outcomes if not o.ok]
        if problem is not None:
            code = EXIT_SPEC_INVALID
            errors.insert(0, problem.error)
        return self.finish(
            status,
            code,
            plan,
            outcomes,
            requeue=_requeue_after(plan.requeue_after, list(outcomes)),
            error="; ".join(errors) or None,
        )

    def finish(
        self,
        status: TeamStatus,
        code: int,
        plan: Plan = NO_PLAN,
        outcomes: Sequence[Outcome] = (),
        requeue: float | None = None,
        error: str | None = None,
    ) -> PassResult:
        """Write the status with this pass's `lastReconcile`, atomically."""
        status = msgspec.structs.replace(
            status,
            lastReconcile=LastReconcile(
                id=self.reconcile_id,
                startedAt=format_time(self.started),
                durationMs=int((time.monotonic() - self.t0) * 1000),
                actions=[a.render() for a in plan.actions],
                error=error,
            ),
        )
        self.store.write(status)
        return PassResult(
            status=status,
            plan=plan,
            outcomes=tuple(outcomes),
            exit_code=code,
            requeue_after=requeue,
        )


@dataclass(frozen=True)
class _SpecProblem:
    """Why the spec file cannot be used this pass: the stall, `specError`, the error text."""

    stall: Stall
    spec_error: SpecErrorStatus | None
    error: str


def _spec_problem(
    err: SpecError | SpecNotFound, path: Path, last_good: LoadedSpec | None
) -> _SpecProblem:
    """The stall an unusable spec file causes; a missing file names its path."""
    if isinstance(err, SpecError):
        issue = err.first
        return _SpecProblem(
            Stall(C.SPEC_INVALID, issue.render()), SpecErrorStatus.from_issue(issue), str(err)
        )
    kept = (
        "the last good spec stays in force until it is back"
        if last_good is not None
        else "nothing is reconciled until it is back"
    )
    message = f"{path.absolute()}: the spec file is missing (deleted or moved); {kept}"
    return _SpecProblem(Stall(C.SPEC_NOT_FOUND, message), None, message)


def merge_reports(previous: TeamStatus, reports: Sequence[Report]) -> TeamStatus:
    """The previous status with every controller's report laid over it."""
    status = previous
    for report in reports:
        update: dict[str, object] = {}
        if report.agents is not None:
            update["agents"] = dict(report.agents)
        if report.leader is not None:
            update["leader"] = report.leader
        if report.orphans is not None:
            update["orphans"] = list(report.orphans)
        if report.messages is not None:
            update["messages"] = report.messages
        if report.agent_conditions:
            agents = dict(update.get("agents", status.agents))  # type: ignore[call-overload]
            for name, extra in report.agent_conditions.items():
                if name in agents:
                    conds = list(agents[name].conditions)
                    for cond in extra:
                        conds, _ = C.set_condition(conds, cond)
                    agents[name] = msgspec.structs.replace(agents[name], conditions=conds)
            update["agents"] = agents
        conditions = list(status.conditions)
        for cond in report.team_conditions:
            conditions, _ = C.set_condition(conditions, cond)
        update["conditions"] = conditions
        status = msgspec.structs.replace(status, **update)
    return status


def _stalled_status(
    previous: TeamStatus, stall: Stall, *, now: datetime, generation: int
) -> TeamStatus:
    conditions = team_conditions(
        previous.conditions,
        previous.agents,
        paused=frozenset(),
        acted=False,
        stall=stall,
        now=now,
        generation=generation,
    )
    return msgspec.structs.replace(previous, conditions=conditions)


def _requeue_after(planned: float | None, outcomes: list[Outcome]) -> float | None:
    """When to look again: soon after acting (to observe the result), later after failures,
    and when a deferred piece of work asks (a message to a busy recipient: its backoff)."""
    candidates = [planned] if planned is not None else []
    candidates += [o.retry_after for o in outcomes if o.retry_after is not None]
    outcomes = [o for o in outcomes if not o.quiet]  # a deferral changed nothing
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

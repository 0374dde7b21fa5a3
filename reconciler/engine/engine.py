"""One reconcile pass: load, observe, plan, apply, report.

A pass is level-triggered: whatever woke it (a spec edit, an agent's exit, the periodic
resync, `reconcile --once`), it loads the spec, observes the whole world afresh, lets the
controllers plan from that one snapshot, applies the plan and writes the status. A pass
that finds nothing to do does nothing but re-read the world (one tmux call, one process
scan) and rewrite the status.

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
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from controllers.agents.controller import AgentsController
from controllers.agents.panes import panes_to_capture, working_agents
from controllers.leader.controller import LeaderController, leader_pane_to_capture
from controllers.leader.identity import FingerprintSource, machine_fingerprint
from controllers.leader.observe import LeaderWorld, capture_leader, observe_leader
from controllers.messages.controller import MessagesController
from controllers.orphans.controller import OrphansController
from controllers.orphans.observe import observe_orphans
from controllers.sessions.observe import observe_provider_view
from controllers.sessions.view import EMPTY_VIEW
from controllers.team.desired import DesiredTeam, desired_team, installed_executables
from controllers.team.summary import Stall, team_conditions
from reconciler.api import conditions as C
from reconciler.api.actions import Plan, merge_plans
from reconciler.api.clock import Clock, SystemClock, format_time
from reconciler.api.controller import Controller, ControllerResult, Note, PassInputs, Report
from reconciler.api.errors import SpecError, SpecNotFound, TmuxUnavailable
from reconciler.api.events import WARNING, Event, EventLog
from reconciler.api.exitcodes import EXIT_LOCKED as EXIT_LOCKED  # verbs import them from here too
from reconciler.api.exitcodes import EXIT_NOT_READY as EXIT_NOT_READY
from reconciler.api.exitcodes import EXIT_READY as EXIT_READY
from reconciler.api.exitcodes import EXIT_SPEC_INVALID as EXIT_SPEC_INVALID
from reconciler.api.exitcodes import EXIT_UNUSABLE as EXIT_UNUSABLE
from reconciler.api.spec import Spec
from reconciler.api.status import (
    MESSAGES_DB,
    LastReconcile,
    SpecErrorStatus,
    StatusCorrupt,
    StatusStore,
    TeamStatus,
    ensure_state_dir,
)
from reconciler.apply.executor import ApplyContext, Outcome, apply_plan
from reconciler.engine.hooks import (
    APPLIED_ALL,
    LOADED,
    OBSERVED,
    PLANNED,
    WRITTEN,
    PassHooks,
    PassPoint,
)
from reconciler.engine.isolation import (
    ControllerFailure,
    InputUnreadable,
    degraded_condition,
    degraded_notes,
    observe_input,
    run_controllers,
)
from reconciler.engine.reporting import fold_outcomes, outcome_note, to_event, transition_notes
from reconciler.observe.procs import Scanner, scan
from reconciler.observe.tmux import Tmux
from reconciler.observe.world import World, observe, with_captures
from reconciler.specfile.load import LoadedSpec, load_spec

if TYPE_CHECKING:
    from reconciler.store.messages import StoreSnapshot

log = logging.getLogger("team_agent.engine")


OBSERVE_AFTER_ACTION_SEC = 0.1
RETRY_FAILED_SEC = 2.0
NO_PLAN = Plan()


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
class _DryRun:
    """What `plan` and `preview` share: a pass's inputs and its controllers' results."""

    previous: TeamStatus
    inputs: PassInputs
    failures: tuple[ControllerFailure, ...]
    results: tuple[ControllerResult, ...]
    plan: Plan
    stall: Stall | None


def default_controllers() -> tuple[Controller, ...]:
    """The controllers of a pass, in the order their plans are applied."""
    return (AgentsController(), OrphansController(), LeaderController(), MessagesController())


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
    hooks: PassHooks | None = None  # None in production; tests/faults inject faults here
    _tmux: dict[str | None, Tmux] = field(default_factory=dict, repr=False)
    # The machine fingerprint, read once (macOS runs `ioreg` for it): controllers.leader.identity
    _fingerprint: tuple[str, FingerprintSource] | None = field(default=None, repr=False)

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

    def machine_fingerprint(self) -> tuple[str, FingerprintSource]:
        if self._fingerprint is None:
            self._fingerprint = machine_fingerprint(os.environ)
        return self._fingerprint

    def observe_leader(
        self, spec: Spec, tmux: Tmux, *, world: World, previous: TeamStatus
    ) -> LeaderWorld:
        """The leader's server, pane evidence and bound pane's text (0-2 tmux calls)."""
        leader, server = observe_leader(
            spec,
            self.workspace,
            state_dir=self.state_dir,
            world=world,
            workers=tmux,
            tmux_at=self.leader_tmux_for,
            previous=previous.leader,
            env=os.environ,
            fingerprint=self.machine_fingerprint,
        )
        wanted = leader_pane_to_capture(leader, str(self.workspace))
        if server is not None and wanted is not None and wanted not in leader.texts:
            leader = capture_leader(leader, server, wanted)
        return leader

    @property
    def tmux_calls(self) -> int:
        """tmux invocations so far, over every server this engine has addressed."""
        return sum(t.calls for t in self._tmux.values())

    def _reached(self, point: PassPoint) -> None:
        if self.hooks is not None:
            self.hooks.reached(point, None)

    def load(self) -> LoadedSpec:
        loaded = load_spec(self.spec_path, previous=self.last_good)
        self.last_good = loaded
        return loaded

    def observe(
        self,
        tmux: Tmux,
        team: DesiredTeam,
        previous: TeamStatus,
        messages: StoreSnapshot | None = None,
    ) -> World:
        """The pass's one snapshot (plus the captures readiness and approvals need, batched)."""
        world = observe(tmux, scanner=self.scanner)
        working = working_agents(team, world, previous, messages)
        return with_captures(world, tmux, panes_to_capture(team, world, previous, working))

    def read_messages(self) -> StoreSnapshot | None:
        """The message store's pending work; None (and no sqlite3 import) if none was sent.

        Raises `InputUnreadable` naming the file and the fix when the store cannot be
        read (garbage, truncated, a newer schema, a directory in its place).
        """
        path = self.state_dir / MESSAGES_DB
        if not path.exists():
            return None
        from reconciler.store.messages import MessageStore, NewerSchema, StoreError

        try:
            return MessageStore.read_snapshot(self.state_dir, self.clock.now().timestamp())
        except NewerSchema as err:
            raise InputUnreadable(
                str(err), f"use that newer team-agent here, or move {path} aside"
            ) from err
        except StoreError as err:
            raise InputUnreadable(
                str(err),
                f"move it aside (mv {path} {path}.broken); the next `send` starts an empty "
                "store, and what the broken one held is not delivered",
            ) from err

    def gather(
        self, loaded: LoadedSpec, previous: TeamStatus, generation: int
    ) -> tuple[Tmux, PassInputs, list[ControllerFailure]]:
        """Observe everything the controllers read: the one snapshot and what hangs off it.

        Raises `TmuxUnavailable` when the workers' tmux cannot be used at all: without the
        snapshot no controller can run. An input observed for one controller alone that
        cannot be read is left out and returned as that controller's failure.
        """
        spec = loaded.spec
        tmux = self.tmux_for(spec.runtime.tmux_socket)
        team = desired_team(spec, self.workspace, python=self.python)
        failures: list[ControllerFailure] = []
        messages = observe_input(MessagesController.name, self.read_messages, failures)
        world = self.observe(tmux, team, previous, messages)
        # No tmux call and no second process scan: environments, lock files and workspace
        # folders of a few candidates, for the orphans controller (see controllers.orphans.observe).
        orphan_facts = observe_input(
            OrphansController.name,
            lambda: observe_orphans(
                world,
                team_id=team.team_id,
                workspace=team.workspace_marker,
                socket_name=tmux.socket_name,
                previous=previous,
            ),
            failures,
        )
        leader = observe_input(
            LeaderController.name,
            lambda: self.observe_leader(spec, tmux, world=world, previous=previous),
            failures,
        )
        # No tmux call: the session transcripts of agents that need looking at (a stat each).
        provider_view = observe_input(
            AgentsController.name,
            lambda: observe_provider_view(
                team,
                world,
                previous,
                env=os.environ,
                spec_auto_trust=spec.runtime.auto_trust_own_workspace,
            ),
            failures,
        )
        inputs = PassInputs(
            loaded=loaded,
            team=team,
            world=world,
            previous=previous,
            now=self.clock.now(),
            generation=generation,
            installed=installed_executables(d.launch for d in team.agents),
            orphan_facts=orphan_facts,
            leader=leader,
            provider_view=provider_view if provider_view is not None else EMPTY_VIEW,
            messages=messages,
        )
        return tmux, inputs, failures

    def plan(self) -> tuple[Plan, Stall | None]:
        """What a pass would do now, changing nothing (`team-agent plan` / `diff`).

        Takes no lock and writes nothing. Raises `SpecError` for an invalid spec and
        `TmuxUnavailable` when tmux cannot be used.
        """
        dry = self._dry_run()
        return dry.plan, dry.stall

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
        inputs = dry.inputs
        status = _merge_reports(dry.previous, [r.report for r in dry.results])
        paused = frozenset(a.agent.id for a in inputs.team.agents if a.agent.paused)
        conditions = team_conditions(
            status.conditions,
            status.agents,
            paused=paused,
            acted=False,
            stall=dry.stall,
            now=inputs.now,
            generation=inputs.generation,
        )
        degraded = degraded_condition(dry.failures, now=inputs.now, generation=inputs.generation)
        conditions, _ = C.set_condition(conditions, degraded)
        status = status.model_copy(
            update={
                "team": inputs.loaded.spec.team_id,
                "generation": inputs.generation,
                "specHash": inputs.loaded.content_hash,
                "specError": None,
                "conditions": conditions,
            }
        )
        return Preview(status=status, plan=dry.plan, observed_at=inputs.now)

    def _dry_run(self) -> _DryRun:
        """Load, observe and plan as a pass does, with no lock, no apply and no write."""
        loaded = self.load()
        try:
            previous = StatusStore(self.state_dir).read() or TeamStatus.empty(loaded.spec.team_id)
        except StatusCorrupt:
            previous = TeamStatus.empty(loaded.spec.team_id)
        generation = previous.generation + (previous.specHash != loaded.content_hash)
        _, inputs, failures = self.gather(loaded, previous, generation)
        results = run_controllers(self.controllers, inputs, failures)
        stall = next((r.report.stall for r in results if r.report.stall is not None), None)
        return _DryRun(
            previous=previous,
            inputs=inputs,
            failures=tuple(failures),
            results=tuple(results),
            plan=merge_plans([r.plan for r in results]),
            stall=stall,
        )

    def reconcile(self) -> PassResult:
        """One full pass (see the module docstring). Never raises for a failed action."""
        started = self.clock.now()
        t0 = time.monotonic()
        reconcile_id = uuid.uuid4().hex[:12]
        state = ensure_state_dir(self.workspace)
        store = StatusStore(state)
        events = EventLog(state)
        previous = _read_previous(store, events, started_at=format_time(started))

        def emit(notes: Sequence[Note], generation: int | None) -> None:
            for note in notes:
                events.append(
                    to_event(note, now=started, generation=generation, reconcile_id=reconcile_id)
                )

        def finish(
            status: TeamStatus,
            code: int,
            plan: Plan = NO_PLAN,
            outcomes: Sequence[Outcome] = (),
            requeue: float | None = None,
            error: str | None = None,
        ) -> PassResult:
            status = status.model_copy(
                update={
                    "lastReconcile": LastReconcile(
                        id=reconcile_id,
                        startedAt=format_time(started),
                        durationMs=int((time.monotonic() - t0) * 1000),
                        actions=[a.render() for a in plan.actions],
                        error=error,
                    )
                }
            )
            store.write(status)
            self._reached(WRITTEN)
            return PassResult(
                status=status,
                plan=plan,
                outcomes=tuple(outcomes),
                exit_code=code,
                requeue_after=requeue,
            )

        spec_problem: _SpecProblem | None = None
        try:
            loaded = self.load()
        except (SpecError, SpecNotFound) as err:
            spec_problem = _spec_problem(err, self.spec_path, self.last_good)
            if (
                previous.specError != spec_problem.spec_error
                or _reason(previous) != spec_problem.stall.reason
            ):
                if self.last_good is not None:  # `run` (one-shot verbs print the error)
                    log.warning("%s", spec_problem.stall.message)
                emit(
                    [
                        Note(
                            WARNING,
                            spec_problem.stall.reason,
                            f"team/{previous.team or '-'}",
                            spec_problem.stall.message,
                        )
                    ],
                    previous.generation,
                )
            last = self.last_good
            if last is None or last.content_hash != previous.specHash:
                # Nothing good was ever loaded here (or the status is another spec's):
                # nothing to keep in force, so nothing is observed or touched.
                stalled = _stalled_status(
                    previous, spec_problem.stall, now=started, generation=previous.generation
                )
                return finish(
                    stalled.model_copy(update={"specError": spec_problem.spec_error}),
                    EXIT_SPEC_INVALID,
                    error=spec_problem.error,
                )
            loaded = last  # the last good generation stays in force: serve it

        self._reached(LOADED)
        spec = loaded.spec
        generation = previous.generation
        if previous.specHash != loaded.content_hash:
            generation += 1
            emit(
                [
                    Note(WARNING, "Deprecated", f"team/{spec.team_id}", note)
                    for note in loaded.deprecations
                ],
                generation,
            )
        identity = {
            "team": spec.team_id,
            "generation": generation,
            "specHash": loaded.content_hash,
            "specError": spec_problem.spec_error if spec_problem is not None else None,
        }

        def stall_out(stall: Stall, code: int) -> PassResult:
            if not C.is_true(previous.conditions, C.STALLED) or _reason(previous) != stall.reason:
                emit(
                    [Note(WARNING, stall.reason, f"team/{spec.team_id}", stall.message)], generation
                )
            stalled = _stalled_status(previous, stall, now=started, generation=generation)
            return finish(
                stalled.model_copy(update=identity),
                code,
                requeue=RETRY_FAILED_SEC,
                error=stall.message,
            )

        if loaded.workspace != self.workspace:
            return stall_out(
                Stall(
                    C.SPEC_INVALID,
                    f"team.workspace moved to {loaded.workspace}; restart "
                    f"team-agent to reconcile it (still serving {self.workspace})",
                ),
                EXIT_SPEC_INVALID,
            )

        try:
            tmux, inputs, failures = self.gather(loaded, previous, generation)
        except TmuxUnavailable as err:
            return stall_out(Stall(C.TMUX_UNAVAILABLE, str(err)), EXIT_UNUSABLE)
        self._reached(OBSERVED)
        team, world, now = inputs.team, inputs.world, inputs.now
        results = run_controllers(self.controllers, inputs, failures)
        degraded = degraded_condition(failures, now=now, generation=generation)
        emit(degraded_notes(previous.conditions, degraded, team=spec.team_id), generation)
        stall = next((r.report.stall for r in results if r.report.stall is not None), None)
        if stall is not None:
            return stall_out(stall, EXIT_NOT_READY)

        plan = merge_plans([r.plan for r in results])
        ctx = ApplyContext(
            tmux=tmux,
            world=world,
            team_id=team.team_id,
            workspace=team.workspace_marker,
            state_dir=state,
            python=self.python,
            tmux_at=self.leader_tmux_for,
        )
        self._reached(PLANNED)
        outcomes = apply_plan(plan.actions, ctx, hooks=self.hooks)
        self._reached(APPLIED_ALL)

        status = _merge_reports(previous, [r.report for r in results])
        agents = fold_outcomes(status.agents, outcomes, now=now, generation=generation)
        emit([n for r in results for n in r.report.notes], generation)
        emit([outcome_note(o) for o in outcomes if not o.quiet], generation)
        emit(transition_notes(previous, agents), generation)

        paused = frozenset(a.agent.id for a in team.agents if a.agent.paused)
        conditions = team_conditions(
            status.conditions,
            agents,
            paused=paused,
            acted=any(not o.quiet for o in outcomes),
            stall=spec_problem.stall if spec_problem is not None else None,
            now=now,
            generation=generation,
        )
        conditions, _ = C.set_condition(conditions, degraded)
        status = status.model_copy(
            update={
                **identity,
                "observedGeneration": generation,
                "conditions": conditions,
                "agents": agents,
            }
        )
        code = EXIT_READY if C.is_true(conditions, C.READY) else EXIT_NOT_READY
        errors = [o.message for o in outcomes if not o.ok]
        if spec_problem is not None:
            code = EXIT_SPEC_INVALID
            errors.insert(0, spec_problem.error)
        return finish(
            status,
            code,
            plan,
            outcomes,
            requeue=_requeue_after(plan.requeue_after, outcomes),
            error="; ".join(errors) or None,
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


def _merge_reports(previous: TeamStatus, reports: Sequence[Report]) -> TeamStatus:
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
                    agents[name] = agents[name].model_copy(update={"conditions": conds})
            update["agents"] = agents
        conditions = list(status.conditions)
        for cond in report.team_conditions:
            conditions, _ = C.set_condition(conditions, cond)
        update["conditions"] = conditions
        status = status.model_copy(update=update)
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
    return previous.model_copy(update={"conditions": conditions})


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

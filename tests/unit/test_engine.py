"""The engine's own steps (load, observe, plan, apply, report), with the snapshot injected.

No tmux and no process is touched: the `observer` returns an in-memory world, and either
the real executor runs (for actions that only write a file in the test's folder) or a
recording one stands in for it. What is checked is the engine's part: that it runs every
controller it is given, routes each action to its owner, settles reports with outcomes,
skips an action whose prerequisite failed, turns an unclaimed action into a failed
outcome, and writes status and events.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest

from controllers.agents.actions import CreateAgent
from controllers.base import ControllerBase, ControllerResult, PassInputs, Report
from controllers.registry import default_controllers
from reconciler.api import conditions as C
from reconciler.api.actions import Action, Outcome, Plan
from reconciler.api.clock import FakeClock
from reconciler.api.exitcodes import EXIT_NOT_READY, EXIT_READY
from reconciler.api.hooks import PassHooks
from reconciler.apply.executor import Applier, ApplyContext, apply_plan
from reconciler.engine.engine import Engine
from reconciler.observe.procs import Scanner
from reconciler.observe.tmux import Tmux
from reconciler.observe.world import World
from tests.unit.builders import NOW, world
from tests.unit.pluginkit import NOTE_FILE, NOTE_WRITTEN, WANT_FILE, NotesController, WriteNote

SPEC = """\
version: 1
team:
  name: demo
agents:
  - id: impl
    provider: shell
    command: ["sleep", "1000"]
"""


def empty_world(tmux: Tmux, scanner: Scanner) -> World:
    return world()


@dataclass
class RecordingExecutor:
    """Stands in for `apply_plan`: records what it was asked and answers `outcome(action)`."""

    calls: list[tuple[tuple[Action, ...], tuple[str, ...]]] = field(default_factory=list)

    def __call__(
        self,
        actions: Sequence[Action],
        ctx: ApplyContext,
        appliers: Sequence[Applier],
        *,
        hooks: PassHooks | None = None,
    ) -> list[Outcome]:
        self.calls.append((tuple(actions), tuple(a.name for a in appliers)))
        return [self.outcome(a) for a in actions]

    def outcome(self, action: Action) -> Outcome:
        if isinstance(action, CreateAgent):
            return Outcome(action=action, ok=True, pane_id="%7", window_id="@3")
        return Outcome(action=action, ok=True)


def engine(tmp_path: Path, **kwargs: Any) -> Engine:
    (tmp_path / "team.spec.yaml").write_text(SPEC)
    return Engine(
        spec_path=tmp_path / "team.spec.yaml",
        workspace=tmp_path.resolve(),
        clock=FakeClock(NOW),
        observer=empty_world,
        **kwargs,
    )


def events(tmp_path: Path) -> list[dict[str, Any]]:
    lines = (tmp_path / ".team" / "events.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_a_pass_plans_applies_through_the_owner_and_settles_the_report(tmp_path: Path) -> None:
    executor = RecordingExecutor()
    result = engine(tmp_path, executor=executor).reconcile()

    [(actions, appliers)] = executor.calls
    assert [a.render() for a in actions] == [
        "create  agent/impl in new session team-demo (missing)"
    ]
    assert appliers == tuple(c.name for c in default_controllers())
    agent = result.status.agents["impl"]
    assert (agent.paneId, agent.windowId) == ("%7", "@3")  # settled from the outcome
    assert result.exit_code == EXIT_NOT_READY
    assert C.is_true(result.status.conditions, C.RECONCILING)
    written = json.loads((tmp_path / ".team" / "status.json").read_text())
    assert written["agents"]["impl"]["paneId"] == "%7"
    assert [e["reason"] for e in events(tmp_path)] == ["Created"]


def test_a_controller_defined_in_a_test_joins_a_pass(tmp_path: Path) -> None:
    """Observes, plans its own action, has it applied by the real executor, reports."""
    notes = NotesController()
    (tmp_path / WANT_FILE).write_text("hello")
    run = engine(tmp_path, controllers=(notes,))

    first = run.reconcile()
    assert (tmp_path / NOTE_FILE).read_text() == "hello"
    [planned] = first.plan.actions
    assert planned.render() == "write   note/note.txt (the note differs from what is wanted)"
    written = C.find_condition(first.status.conditions, NOTE_WRITTEN)
    assert written is not None and (written.status, written.reason) == (C.FALSE, "Writing")
    assert [e["reason"] for e in events(tmp_path)] == ["Noted"]

    second = run.reconcile()
    assert second.plan.empty and second.exit_code == EXIT_READY
    written = C.find_condition(second.status.conditions, NOTE_WRITTEN)
    assert written is not None and (written.status, written.reason) == (C.TRUE, "UpToDate")
    assert len(notes.applied) == 1


@dataclass(frozen=True)
class Step:
    """A test action: `fail` makes its handler raise like a real failure would."""

    verb: ClassVar[str] = "Stepped"

    name: str
    fail: bool = False
    requires: tuple[str, ...] = ()
    cause: str = "test"

    @property
    def resource(self) -> str:
        return f"step/{self.name}"

    def render(self) -> str:
        return f"step    {self.resource}"


class Unclaimed(Step):
    """An action type no controller declares."""


class StepsController(ControllerBase):
    name = "steps"
    action_types = (Step,)

    def __init__(self, *steps: Step) -> None:
        self.steps = steps
        self.ran: list[str] = []

    def reconcile(self, inputs: PassInputs) -> ControllerResult:
        return ControllerResult(plan=Plan(actions=self.steps), report=Report())

    def apply(self, action: Action, ctx: ApplyContext) -> Outcome:
        assert isinstance(action, Step)
        self.ran.append(action.name)
        if action.fail:
            raise OSError(f"{action.name} could not be done")
        return Outcome(action=action, ok=True)


@pytest.mark.parametrize("first_fails", [True, False])
def test_an_action_whose_prerequisite_failed_is_skipped_and_reported(
    tmp_path: Path, first_fails: bool
) -> None:
    steps = StepsController(
        Step("base", fail=first_fails),
        Step("on-top", requires=("step/base",)),
        Step("after-skipped", requires=("step/on-top",)),
        Step("unrelated"),
    )
    result = engine(tmp_path, controllers=(steps,)).reconcile()

    by_name = {o.action.resource: o for o in result.outcomes}
    if not first_fails:
        assert steps.ran == ["base", "on-top", "after-skipped", "unrelated"]
        assert all(o.ok for o in result.outcomes)
        return
    assert steps.ran == ["base", "unrelated"]  # nothing built on the failure ran
    assert by_name["step/on-top"].skipped and not by_name["step/on-top"].ok
    assert "step/base did not succeed" in by_name["step/on-top"].message
    assert by_name["step/after-skipped"].skipped  # a skip propagates
    failed = [e for e in events(tmp_path) if e["reason"] == "ApplyFailed"]
    assert [e["object"] for e in failed] == ["step/base", "step/on-top", "step/after-skipped"]
    assert result.status.lastReconcile is not None
    assert "skipped" in (result.status.lastReconcile.error or "")


def test_an_action_no_controller_claims_fails_without_stopping_the_pass(tmp_path: Path) -> None:
    steps = StepsController(Unclaimed("stray"), Step("next"))
    result = engine(tmp_path, controllers=(steps,)).reconcile()

    stray, after = result.outcomes
    assert not stray.ok and "no controller applies Unclaimed" in stray.message
    assert after.ok and steps.ran == ["next"]


def test_a_controller_whose_observation_fails_is_left_out_and_named(tmp_path: Path) -> None:
    class Blind(NotesController):
        name = "blind"

        def observe(self, ctx: Any) -> Any:
            raise RuntimeError("cannot see")

    notes, blind = NotesController(), Blind()
    (tmp_path / WANT_FILE).write_text("x")
    result = engine(tmp_path, controllers=(blind, notes)).reconcile()

    assert [a.resource for a in result.plan.actions] == ["note/note.txt"]  # the other ran
    degraded = C.find_condition(result.status.conditions, C.DEGRADED)
    assert degraded is not None and degraded.status == C.TRUE
    assert "blind controller: RuntimeError: cannot see" in degraded.message
    assert not blind.applied


def test_the_plan_step_alone_changes_nothing(tmp_path: Path) -> None:
    executor = RecordingExecutor()
    plan, stall = engine(tmp_path, executor=executor).plan()
    assert stall is None
    assert [a.resource for a in plan.actions] == ["agent/impl"]
    assert executor.calls == []
    assert not (tmp_path / ".team" / "status.json").exists()


def test_write_note_is_an_action(tmp_path: Path) -> None:
    """The test action satisfies the engine's `Action` protocol (checked by mypy too)."""
    action: Action = WriteNote(str(tmp_path / NOTE_FILE), "t")
    assert action.resource == "note/note.txt" and action.requires == ()


class MeetingSteps(StepsController):
    """Each step waits at a barrier for `parties` steps: it only passes if they run at once."""

    def __init__(self, parties: int, *steps: Step) -> None:
        super().__init__(*steps)
        self.barrier = threading.Barrier(parties, timeout=5)

    def apply(self, action: Action, ctx: ApplyContext) -> Outcome:
        try:
            self.barrier.wait()
        except threading.BrokenBarrierError:
            return Outcome(action=action, ok=False, message="ran alone")
        return super().apply(action, ctx)


def _context(tmp_path: Path) -> ApplyContext:
    return ApplyContext(
        tmux=Tmux(socket_name="unused"),
        world=world(),
        team_id="t",
        workspace=str(tmp_path),
        state_dir=tmp_path,
        python="python3",
    )


def test_independent_actions_are_applied_at_once_and_reported_in_plan_order(
    tmp_path: Path,
) -> None:
    steps = [Step(f"s{n}") for n in range(4)]
    meeting = MeetingSteps(4, *steps)
    outcomes = apply_plan(steps, _context(tmp_path), (meeting,), concurrency=4)
    assert [o.action for o in outcomes] == steps
    assert all(o.ok for o in outcomes), [o.message for o in outcomes]


def test_actions_with_dependencies_are_applied_one_after_another(tmp_path: Path) -> None:
    steps = [Step("base"), Step("on-top", requires=("step/base",))]
    meeting = MeetingSteps(2, *steps)
    meeting.barrier = threading.Barrier(2, timeout=0.2)
    outcomes = apply_plan(steps, _context(tmp_path), (meeting,), concurrency=4)
    assert [o.message for o in outcomes] == [
        "ran alone",
        "skipped: step/base did not succeed earlier in this pass",
    ]

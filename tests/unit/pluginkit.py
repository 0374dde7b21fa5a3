"""A small controller defined outside `controllers/`: the proof that a controller is a plug-in.

`NotesController` keeps a file in the workspace (`note.txt`) equal to what `want-note.txt`
asks for. It has everything a real controller has — its own observation (typed facts),
screens it wants (none), a pure plan with its own action type, a handler, and a team
condition in the status — and joins a pass by being handed to the `Engine` beside the
registry's controllers. No engine module names it. The unit tests
(`tests/unit/test_engine.py`) and the end-to-end test on a real tmux server
(`tests/e2e/test_plugin_controller.py`) both use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from controllers.base import ControllerBase, ControllerResult, ObserveContext, PassInputs, Report
from reconciler.api import conditions as C
from reconciler.api.actions import Action, Outcome, Plan
from reconciler.apply.executor import ApplyContext

WANT_FILE = "want-note.txt"
NOTE_FILE = "note.txt"
NOTE_WRITTEN = "NoteWritten"


@dataclass(frozen=True)
class WriteNote:
    """Write `text` to the workspace's note file."""

    verb: ClassVar[str] = "Noted"

    path: str
    text: str
    cause: str = "the note differs from what is wanted"
    requires: tuple[str, ...] = ()

    @property
    def resource(self) -> str:
        return f"note/{Path(self.path).name}"

    def render(self) -> str:
        return f"write   {self.resource} ({self.cause})"


@dataclass(frozen=True)
class NoteFacts:
    """What the notes controller observed: the wanted text and the note as it is."""

    wanted: str | None
    have: str | None
    path: str


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


class NotesController(ControllerBase):
    """Keeps `note.txt` equal to `want-note.txt`; reports `NoteWritten`."""

    name = "notes"
    action_types = (WriteNote,)

    def __init__(self) -> None:
        self.applied: list[WriteNote] = []

    def observe(self, ctx: ObserveContext) -> NoteFacts:
        root = ctx.loaded.workspace
        return NoteFacts(_read(root / WANT_FILE), _read(root / NOTE_FILE), str(root / NOTE_FILE))

    def reconcile(self, inputs: PassInputs) -> ControllerResult:
        facts = inputs.fact(NoteFacts)
        assert facts is not None, "the engine ran this controller's observation first"
        if facts.wanted is None:
            return ControllerResult(plan=Plan(), report=Report())
        done = facts.have == facts.wanted
        condition = C.condition(
            NOTE_WRITTEN,
            C.TRUE if done else C.FALSE,
            "UpToDate" if done else "Writing",
            now=inputs.now,
            generation=inputs.generation,
        )
        actions: tuple[Action, ...] = () if done else (WriteNote(facts.path, facts.wanted),)
        report = Report(team_conditions=(condition,))
        return ControllerResult(plan=Plan(actions=actions), report=report)

    def apply(self, action: Action, ctx: ApplyContext) -> Outcome:
        if not isinstance(action, WriteNote):
            return super().apply(action, ctx)
        Path(action.path).write_text(action.text)
        self.applied.append(action)
        return Outcome(action=action, ok=True)

"""Events as data: what `.team/events.jsonl` holds one of a line, and what makes one.

An `Event` is what happened, as Kubernetes events describe it ("Created agent/impl",
"ApplyFailed"); a `Note` is an event a controller decided to emit, stamped by the engine
with the time and the pass (`to_event`); `outcome_note` is the event an applied action
makes. The log file itself (bounded, append-only, rotated) is `reconciler.store.eventlog`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from reconciler.api.actions import Outcome
from reconciler.api.clock import format_time
from reconciler.api.conditions import CAMEL_CASE_PATTERN
from reconciler.api.pydantic_time import Timestamp

EventType = Literal["Normal", "Warning"]
NORMAL: Final = "Normal"
WARNING: Final = "Warning"


class Event(BaseModel):
    """One thing that happened, as Kubernetes events describe them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    time: Timestamp
    type: EventType
    reason: str = Field(pattern=CAMEL_CASE_PATTERN)
    object: str  # what it is about: "team/demo", "agent/impl", "leader"
    message: str
    generation: int | None = None
    reconcileId: str | None = None  # the pass that emitted it, as logged

    def to_line(self) -> bytes:
        """The event as one newline-terminated JSON line."""
        return self.model_dump_json(by_alias=True).encode() + b"\n"


@dataclass(frozen=True)
class Note:
    """An event a controller decided to emit (the engine stamps time and pass id)."""

    type: EventType
    reason: str
    object: str
    message: str


def outcome_note(outcome: Outcome) -> Note:
    action = outcome.action
    if outcome.ok:
        where = f" (pane {outcome.pane_id})" if outcome.pane_id else ""
        done = f": {outcome.message}" if outcome.message else ""
        return Note(NORMAL, action.verb, action.resource, f"{action.cause}{where}{done}")
    return Note(
        WARNING,
        "ApplyFailed",
        action.resource,
        f"{action.verb.lower()} failed: {outcome.message}",
    )


def to_event(note: Note, *, now: datetime, generation: int | None, reconcile_id: str) -> Event:
    kind: EventType = note.type
    return Event(
        time=format_time(now),
        type=kind,
        reason=note.reason,
        object=note.object,
        message=note.message,
        generation=generation,
        reconcileId=reconcile_id,
    )

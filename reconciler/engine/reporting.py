"""Turning a pass's outcomes into status fields and events.

Kept apart from the engine so the engine reads as the loop it is (load, observe, plan,
apply, report) and these details (which outcome makes which event, which transitions
are worth one) live in one place. What an outcome means for a resource's status is its
controller's (`Controller.settle`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from controllers.base import Note
from reconciler.api import conditions as C
from reconciler.api.clock import format_time
from reconciler.api.events import NORMAL, WARNING, Event, EventType
from reconciler.api.status import AgentStatus, TeamStatus
from reconciler.apply.executor import Outcome


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


def transition_notes(previous: TeamStatus, agents: Mapping[str, AgentStatus]) -> list[Note]:
    """One note when an agent enters crash-loop backoff or becomes ready (not per pass)."""
    notes: list[Note] = []
    for name, status in sorted(agents.items()):
        before = previous.agents.get(name)
        old = before.conditions if before else []
        if C.is_true(status.conditions, C.CRASH_LOOP_BACK_OFF) and not C.is_true(
            old, C.CRASH_LOOP_BACK_OFF
        ):
            found = C.find_condition(status.conditions, C.CRASH_LOOP_BACK_OFF)
            notes.append(Note(WARNING, C.BACK_OFF, f"agent/{name}", found.message if found else ""))
        if C.is_true(status.conditions, C.READY) and not C.is_true(old, C.READY):
            notes.append(Note(NORMAL, "Ready", f"agent/{name}", "agent is ready"))
    return notes


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

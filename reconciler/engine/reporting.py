"""Turning a pass's outcomes into status fields and events.

Kept apart from the engine so the engine reads as the loop it is (load, observe, plan,
apply, report) and these details (which outcome makes which event, which transitions
are worth one) live in one place. What an outcome means for a resource's status is its
controller's (`Controller.settle`).
"""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.api import conditions as C
from reconciler.api.events import NORMAL, WARNING, Note
from reconciler.api.status import AgentStatus, TeamStatus


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



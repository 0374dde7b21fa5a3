"""Turning a pass's outcomes into status fields and events.

Kept apart from the engine so the engine reads as the loop it is (load, observe, plan,
apply, report) and these details (which outcome means which event, how a created pane's
ids reach the agent's status) live in one place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from reconciler.api import conditions as C
from reconciler.api.actions import (
    CreateAgent,
    NudgeServer,
    ReapOrphan,
    RecreateAgent,
    ReleasePane,
    RenameSession,
    RestartAgent,
    SendKeys,
    StopAgent,
)
from reconciler.api.clock import format_time
from reconciler.api.controller import Note
from reconciler.api.events import NORMAL, WARNING, Event, EventType
from reconciler.api.status import AgentStatus, TeamStatus
from reconciler.apply.executor import Outcome

_VERBS: dict[type, str] = {
    CreateAgent: "Created",
    RestartAgent: "Restarted",
    RecreateAgent: "Recreated",
    StopAgent: "Stopped",
    ReleasePane: "Released",
    RenameSession: "RenamedSession",
    NudgeServer: "NudgedServer",
    ReapOrphan: "Reaped",
    SendKeys: "AnsweredDialog",
}


def verb(action: object) -> str:
    """The event reason for an action type ("Created", ...); unknown types say "Applied"."""
    return _VERBS.get(type(action), "Applied")


def fold_outcomes(
    agents: Mapping[str, AgentStatus],
    outcomes: Sequence[Outcome],
    *,
    now: datetime,
    generation: int,
) -> dict[str, AgentStatus]:
    """Planned agent statuses plus what applying revealed: new pane ids, or the failure."""
    folded = dict(agents)
    for outcome in outcomes:
        action = outcome.action
        name = getattr(action, "agent", None)
        if isinstance(action, SendKeys) and not outcome.ok and name in folded:
            # Nothing was typed: the next pass may answer (still only on the same terms).
            folded[name] = folded[name].model_copy(update={"dialogAnsweredPid": None})
            continue
        if not isinstance(action, (CreateAgent, RestartAgent, RecreateAgent)):
            continue
        if name not in folded:
            continue
        current = folded[name]
        if outcome.ok:
            if isinstance(action, CreateAgent):
                folded[name] = current.model_copy(
                    update={"paneId": outcome.pane_id, "windowId": outcome.window_id}
                )
            continue
        failed = C.condition(
            C.READY, C.FALSE, C.APPLY_FAILED, outcome.message, now=now, generation=generation
        )
        conditions, _ = C.set_condition(current.conditions, failed)
        folded[name] = current.model_copy(update={"conditions": conditions})
    return folded


def outcome_note(outcome: Outcome) -> Note:
    action = outcome.action
    resource = str(getattr(action, "resource", "team"))
    if outcome.ok:
        where = f" (pane {outcome.pane_id})" if outcome.pane_id else ""
        done = f": {outcome.message}" if outcome.message else ""
        return Note(NORMAL, verb(action), resource, f"{getattr(action, 'cause', '')}{where}{done}")
    return Note(
        WARNING, "ApplyFailed", resource, f"{verb(action).lower()} failed: {outcome.message}"
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

"""Isolating controllers: one that raises, or whose input cannot be read, never stops the rest.

controller-runtime recovers a panic per reconcile, so one bad object never stops the
manager; kopf runs each handler in its own error scope. A pass here is one function over
every controller, so the engine draws the same line by hand, twice per controller:

* reading what a controller needs besides the snapshot (the message store, the leader's
  server, the orphans' facts, the session transcripts): a failure leaves that input
  unobserved and marks the controller that reads it (`observe_input`);
* running the controller's pure plan: an exception marks it (`run_controllers`).

A marked controller contributes nothing to the pass, neither actions nor a report, so its
part of the status stays what the last pass that could run it wrote; every other
controller plans and applies as usual (a crashed agent is still restarted while the
message store is corrupt). The team's `Degraded` condition names each failed controller,
the problem and, for an unreadable input, the file and the fix. Its transitions are one
event and one log line each, never one per pass and never a traceback.

These two guards are the project's only broad `except`s besides the loop's per-pass guard,
and, as STYLE asks of that one, each ends in a condition.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from controllers.base import Controller, ControllerResult, PassInputs
from reconciler.api import conditions as C
from reconciler.api.conditions import Condition
from reconciler.api.errors import InputUnreadable
from reconciler.api.events import NORMAL, WARNING, Note

log = logging.getLogger("team_agent.engine")

T = TypeVar("T")


@dataclass(frozen=True)
class ControllerFailure:
    """One controller left out of a pass, and why (`reason` is a `Degraded` reason)."""

    controller: str
    reason: str  # C.INPUT_UNREADABLE or C.CONTROLLER_FAILED
    message: str

    def render(self) -> str:
        return f"{self.controller} controller: {self.message}"


def _describe(err: Exception) -> str:
    """An unexpected exception in one line: its type and text, never a traceback."""
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0]}" if text else type(err).__name__


def observe_input(
    controller: str, read: Callable[[], T], failures: list[ControllerFailure]
) -> T | None:
    """`read()`, or None with a failure recorded against `controller` when it raises."""
    try:
        return read()
    except InputUnreadable as err:
        failures.append(ControllerFailure(controller, C.INPUT_UNREADABLE, str(err)))
    except Exception as err:  # the isolation guard (module docstring)
        failures.append(ControllerFailure(controller, C.INPUT_UNREADABLE, _describe(err)))
    return None


def run_controllers(
    controllers: Sequence[Controller], inputs: PassInputs, failures: list[ControllerFailure]
) -> list[tuple[str, ControllerResult]]:
    """Every controller's name and result, in order, except those already failed or that
    raise now."""
    left_out = {failure.controller for failure in failures}
    results: list[tuple[str, ControllerResult]] = []
    for controller in controllers:
        if controller.name in left_out:
            continue
        try:
            results.append((controller.name, controller.reconcile(inputs)))
        except Exception as err:  # the isolation guard (module docstring)
            failures.append(ControllerFailure(controller.name, C.CONTROLLER_FAILED, _describe(err)))
    return results


def degraded_condition(
    failures: Sequence[ControllerFailure], *, now: datetime, generation: int
) -> Condition:
    """`Degraded=True` naming every failed controller, or `False, AsExpected`."""
    if not failures:
        return C.condition(C.DEGRADED, C.FALSE, C.AS_EXPECTED, now=now, generation=generation)
    unreadable = any(f.reason == C.INPUT_UNREADABLE for f in failures)
    return C.condition(
        C.DEGRADED,
        C.TRUE,
        C.INPUT_UNREADABLE if unreadable else C.CONTROLLER_FAILED,
        "; ".join(f.render() for f in failures),
        now=now,
        generation=generation,
    )


def degraded_notes(previous: Sequence[Condition], degraded: Condition, *, team: str) -> list[Note]:
    """One event (and one log line) when `Degraded` turns True, changes, or clears."""
    before = C.find_condition(previous, C.DEGRADED)
    was_true = before is not None and before.status == C.TRUE
    if degraded.status == C.TRUE:
        if was_true and before is not None and before.message == degraded.message:
            return []
        log.warning("Degraded: %s", degraded.message)
        return [Note(WARNING, degraded.reason, f"team/{team}", degraded.message)]
    if was_true:
        log.warning("Degraded no more: every controller ran again")
        return [Note(NORMAL, C.AS_EXPECTED, f"team/{team}", "every controller ran again")]
    return []

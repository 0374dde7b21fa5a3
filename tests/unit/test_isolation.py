"""Pure parts of issue 12's A1 and C9: the `Degraded` condition and the deferral backoff."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from controllers.messages.deliver import BUSY_RETRY_MAX_SEC, BUSY_RETRY_SEC, deferral_delay
from reconciler.api import conditions as C
from reconciler.engine.isolation import ControllerFailure, degraded_condition, degraded_notes
from reconciler.store.records import MessageRecord
from tests.unit.builders import GENERATION, NOW

T0 = 1_780_000_000.123456  # an epoch time whose sums are not exact in binary


def record(*, not_before: float | None, updated_at: float = T0) -> MessageRecord:
    return MessageRecord(
        id="msg-1",
        seq=1,
        sender="leader",
        recipient="impl",
        task=None,
        kind="message",
        body="hi",
        state="queued",
        attempts=0,
        entered=False,
        pane=None,
        created_at=T0,
        updated_at=updated_at,
        not_before=not_before,
        delivered_at=None,
        last_error=None,
    )


class Deferral(NamedTuple):
    previous: float | None  # the delay of the deferral before (None: never deferred)
    expected: float


@pytest.mark.parametrize(
    "case",
    [
        Deferral(None, BUSY_RETRY_SEC),
        Deferral(1.0, 2.0),
        Deferral(2.0, 4.0),
        Deferral(4.0, BUSY_RETRY_MAX_SEC),
        Deferral(BUSY_RETRY_MAX_SEC, BUSY_RETRY_MAX_SEC),
        Deferral(-3.0, BUSY_RETRY_SEC),  # an attempt touched it since: start again
    ],
    ids=["first", "second", "third", "capped", "stays-capped", "after-an-attempt"],
)
def test_a_deferred_message_backs_off_while_it_stays_deferred(case: Deferral) -> None:
    not_before = None if case.previous is None else T0 + case.previous
    assert deferral_delay(record(not_before=not_before)) == case.expected


def test_degraded_names_each_failed_controller_and_clears() -> None:
    failures = [
        ControllerFailure("messages", C.INPUT_UNREADABLE, "/w/.team/messages.db: bad; fix: mv"),
        ControllerFailure("leader", C.CONTROLLER_FAILED, "KeyError: 'x'"),
    ]
    degraded = degraded_condition(failures, now=NOW, generation=GENERATION)
    assert (degraded.status, degraded.reason) == (C.TRUE, C.INPUT_UNREADABLE)
    assert degraded.message == (
        "messages controller: /w/.team/messages.db: bad; fix: mv; leader controller: KeyError: 'x'"
    )
    [note] = degraded_notes([], degraded, team="t")
    assert (note.reason, note.object) == (C.INPUT_UNREADABLE, "team/t")
    assert degraded_notes([degraded], degraded, team="t") == []  # once per episode

    cleared = degraded_condition([], now=NOW, generation=GENERATION)
    assert (cleared.status, cleared.reason) == (C.FALSE, C.AS_EXPECTED)
    [recovered] = degraded_notes([degraded], cleared, team="t")
    assert recovered.reason == C.AS_EXPECTED
    assert degraded_notes([cleared], cleared, team="t") == []

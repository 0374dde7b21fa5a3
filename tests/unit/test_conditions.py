"""Condition model validation and the set/find/remove rules of meta/conditions.go."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

import msgspec
import pytest
from msgspec import ValidationError

from reconciler.api import conditions as C
from reconciler.api.clock import FakeClock, format_time, parse_time
from reconciler.api.conditions import Condition

T0 = datetime(2026, 11, 25, 9, 0, 0, tzinfo=timezone.utc)
T1 = T0 + timedelta(minutes=5)


def cond(
    cond_type: str = C.READY,
    status: C.ConditionStatus = "True",
    reason: str = C.RUNNING,
    message: str = "",
    *,
    at: datetime = T0,
    generation: int = 1,
) -> Condition:
    return C.condition(cond_type, status, reason, message, now=at, generation=generation)


class SetCase(NamedTuple):
    test_id: str
    before: list[Condition]
    new: Condition
    want: Condition
    changed: bool


SET_CASES = [
    SetCase(
        "new-type-is-added",
        before=[],
        new=cond(at=T1),
        want=cond(at=T1),
        changed=True,
    ),
    SetCase(
        "same-everything-is-no-change",
        before=[cond(at=T0)],
        new=cond(at=T1),
        want=cond(at=T0),
        changed=False,
    ),
    SetCase(
        "same-status-keeps-transition-time-but-takes-reason",
        before=[cond("Ready", "False", C.STARTING, "creating", at=T0)],
        new=cond("Ready", "False", C.EXITED, "exited with code 1", at=T1, generation=2),
        want=cond("Ready", "False", C.EXITED, "exited with code 1", at=T0, generation=2),
        changed=True,
    ),
    SetCase(
        "same-status-new-generation-only",
        before=[cond(at=T0, generation=1)],
        new=cond(at=T1, generation=2),
        want=cond(at=T0, generation=2),
        changed=True,
    ),
    SetCase(
        "status-change-moves-transition-time",
        before=[cond("Ready", "True", C.RUNNING, at=T0)],
        new=cond("Ready", "False", C.EXITED, at=T1),
        want=cond("Ready", "False", C.EXITED, at=T1),
        changed=True,
    ),
    SetCase(
        "unknown-to-true-moves-transition-time",
        before=[cond("Ready", "Unknown", C.TMUX_UNAVAILABLE, at=T0)],
        new=cond("Ready", "True", C.RUNNING, at=T1),
        want=cond("Ready", "True", C.RUNNING, at=T1),
        changed=True,
    ),
]


@pytest.mark.parametrize("case", SET_CASES, ids=[c.test_id for c in SET_CASES])
def test_set_condition(case: SetCase) -> None:
    before = list(case.before)
    after, changed = C.set_condition(before, case.new)
    assert changed is case.changed
    assert C.find_condition(after, case.new.type) == case.want
    assert before == case.before  # the input list is not modified
    assert after is not before


def test_set_condition_keeps_other_types_and_sorts_by_type() -> None:
    start = [cond(C.STALLED, "False", C.CONVERGED), cond(C.READY, "True", C.ALL_AGENTS_READY)]
    after, changed = C.set_condition(start, cond(C.ORPHANS_FOUND, "False", C.NO_ORPHANS))
    assert changed
    assert [c.type for c in after] == [C.ORPHANS_FOUND, C.READY, C.STALLED]
    again, changed_again = C.set_condition(after, cond(C.ORPHANS_FOUND, "False", C.NO_ORPHANS))
    assert not changed_again
    assert again == after


def test_remove_find_and_predicates() -> None:
    conds = [
        cond(C.READY, "True", C.RUNNING),
        cond(C.CRASH_LOOP_BACK_OFF, "False", C.RUNNING),
        cond(C.SESSION_CAPTURED, "Unknown", C.CAPTURE_TIMEOUT),
    ]
    assert C.find_condition(conds, C.READY) == conds[0]
    assert C.find_condition(conds, C.STALLED) is None
    assert C.is_true(conds, C.READY) and not C.is_false(conds, C.READY)
    assert C.is_false(conds, C.CRASH_LOOP_BACK_OFF) and not C.is_true(conds, C.CRASH_LOOP_BACK_OFF)
    unknown = C.SESSION_CAPTURED
    assert not C.is_true(conds, unknown) and not C.is_false(conds, unknown)
    assert not C.is_true(conds, C.STALLED) and not C.is_false(conds, C.STALLED)

    after, removed = C.remove_condition(conds, C.READY)
    assert removed and C.find_condition(after, C.READY) is None and len(conds) == 3
    same, removed_again = C.remove_condition(after, C.READY)
    assert not removed_again and same == after


def test_builder_stamps_seconds_precision_utc() -> None:
    clock = FakeClock(datetime(2026, 11, 25, 10, 0, 0, 987654, tzinfo=timezone(timedelta(hours=1))))
    built = C.condition(C.READY, "True", C.RUNNING, now=clock.now(), generation=3)
    assert built.lastTransitionTime == "2026-11-25T09:00:00Z"
    assert built.observedGeneration == 3
    assert built.message == ""


def test_dump_uses_metav1_keys_and_loads_them() -> None:
    built = cond(message="all good")
    dumped = msgspec.to_builtins(built)
    assert list(dumped) == [
        "type",
        "status",
        "reason",
        "message",
        "lastTransitionTime",
        "observedGeneration",
    ]
    assert msgspec.json.decode(msgspec.json.encode(built), type=Condition) == built


def test_condition_is_frozen() -> None:
    built = cond()
    with pytest.raises(AttributeError):
        built.status = "False"  # type: ignore[misc]


VALID: dict[str, Any] = {
    "type": "Ready",
    "status": "True",
    "reason": "Running",
    "message": "",
    "lastTransitionTime": "2026-11-25T09:00:00Z",
    "observedGeneration": 1,
}


class InvalidCase(NamedTuple):
    test_id: str
    field: str
    value: Any


INVALID_CASES = [
    InvalidCase("lowercase-reason", "reason", "running"),
    InvalidCase("reason-with-space", "reason", "Not Ready"),
    InvalidCase("reason-with-underscore", "reason", "Not_Ready"),
    InvalidCase("empty-reason", "reason", ""),
    InvalidCase("lowercase-type", "type", "ready"),
    InvalidCase("lowercase-status", "status", "true"),
    InvalidCase("bool-status", "status", True),
    InvalidCase("other-status", "status", "Maybe"),
    InvalidCase("time-without-zone", "lastTransitionTime", "2026-11-25T09:00:00"),
    InvalidCase("time-with-millis", "lastTransitionTime", "2026-11-25T09:00:00.123Z"),
    InvalidCase("impossible-date", "lastTransitionTime", "2026-02-30T09:00:00Z"),
    InvalidCase("negative-generation", "observedGeneration", -1),
    InvalidCase("unknown-key", "lastUpdateTime", "2026-11-25T09:00:00Z"),
]


@pytest.mark.parametrize("case", INVALID_CASES, ids=[c.test_id for c in INVALID_CASES])
def test_validation_rejects(case: InvalidCase) -> None:
    msgspec.convert(VALID, Condition)  # the baseline is valid
    with pytest.raises(ValidationError):
        msgspec.convert({**VALID, case.field: case.value}, Condition)


def test_constants_are_camel_case_and_unique() -> None:
    every = [*C.CONDITION_TYPES, *C.REASONS]
    for name in every:
        msgspec.convert({**VALID, "type": name, "reason": name}, Condition)
    assert len(C.REASONS & C.CONDITION_TYPES) == 0


class TimeCase(NamedTuple):
    test_id: str
    text: str
    want: str


TIME_CASES = [
    TimeCase("zulu", "2026-11-25T09:00:00Z", "2026-11-25T09:00:00Z"),
    TimeCase("fraction-truncated", "2026-11-25T09:00:00.999999Z", "2026-11-25T09:00:00Z"),
    TimeCase("offset", "2026-11-25T10:30:00+01:30", "2026-11-25T09:00:00Z"),
    TimeCase("lowercase-t-z", "2026-11-25t09:00:00z", "2026-11-25T09:00:00Z"),
    TimeCase("nanoseconds", "2026-11-25T09:00:00.123456789Z", "2026-11-25T09:00:00Z"),
]


@pytest.mark.parametrize("case", TIME_CASES, ids=[c.test_id for c in TIME_CASES])
def test_parse_then_format(case: TimeCase) -> None:
    parsed = parse_time(case.text)
    assert parsed.tzinfo is not None and parsed.utcoffset() == timedelta(0)
    assert format_time(parsed) == case.want


@pytest.mark.parametrize("text", ["", "2026-11-25", "2026-11-25T09:00:00", "yesterday"])
def test_parse_time_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="RFC 3339"):
        parse_time(text)


def test_format_time_rejects_naive() -> None:
    with pytest.raises(ValueError, match="naive"):
        format_time(datetime(2026, 11, 25, 9, 0, 0))  # naive on purpose


def test_fake_clock_moves_only_when_told() -> None:
    clock = FakeClock()
    assert format_time(clock.now()) == "2026-11-25T09:00:00Z" and clock.monotonic() == 0.0
    clock.advance(90)
    assert format_time(clock.now()) == "2026-11-25T09:01:30Z" and clock.monotonic() == 90.0
    clock.set(T0)
    assert clock.now() == T0 and clock.monotonic() == 90.0
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)

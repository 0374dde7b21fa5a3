"""The shared wait and retry policies, on a fake clock (no real sleeping)."""

from __future__ import annotations

import math

import pytest

from reconciler.api.clock import FakeClock
from reconciler.api.retrying import growing, poll, retry_call, retry_on


class Ticks:
    """A fake clock whose sleep advances it, recording every pause."""

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.pauses: list[float] = []

    def now(self) -> float:
        return self.clock.monotonic()

    def sleep(self, seconds: float) -> None:
        self.pauses.append(round(seconds, 6))
        self.clock.advance(seconds)


def test_poll_returns_first_result_that_satisfies() -> None:
    t = Ticks()
    values = iter([0, 0, 7, 9])
    got = poll(
        lambda: next(values),
        until=lambda v: v > 0,
        deadline=t.now() + 10,
        interval=0.5,
        clock=t.now,
        sleep=t.sleep,
    )
    assert got == 7
    assert t.pauses == [0.5, 0.5]


def test_poll_that_holds_at_once_checks_once_and_never_pauses() -> None:
    """`wait` on a team already Ready returns after one look (and before tenacity is
    imported: tests/process/test_verb_imports.py)."""
    t = Ticks()
    calls: list[int] = []

    def check() -> int:
        calls.append(1)
        return 5

    got = poll(
        check,
        until=lambda v: v > 0,
        deadline=t.now() + 10,
        interval=0.5,
        clock=t.now,
        sleep=t.sleep,
    )
    assert (got, len(calls), t.pauses) == (5, 1, [])


def test_poll_at_deadline_returns_last_result_and_cuts_last_pause() -> None:
    t = Ticks()
    seen: list[float] = []

    def check() -> float:
        seen.append(t.now())
        return t.now()

    got = poll(
        check,
        until=lambda _v: False,
        deadline=t.now() + 1.0,
        interval=0.4,
        clock=t.now,
        sleep=t.sleep,
    )
    assert t.pauses == [0.4, 0.4, 0.2]  # the last pause ends at the deadline, not after it
    assert seen == [0.0, 0.4, 0.8, 1.0]
    assert got == 1.0


def test_poll_checks_once_even_past_the_deadline() -> None:
    t = Ticks()
    calls: list[int] = []
    got = poll(
        lambda: calls.append(1) or len(calls),
        until=lambda _v: False,
        deadline=t.now() - 1,
        interval=1.0,
        clock=t.now,
        sleep=t.sleep,
    )
    assert (got, calls, t.pauses) == (1, [1], [])


def test_poll_interval_from_attempt_and_result() -> None:
    t = Ticks()
    values = iter([3.0, 1.0, 2.0, 0.0])
    got = poll(
        lambda: next(values),
        until=lambda v: v == 0.0,
        deadline=math.inf,
        interval=lambda attempt, last: last + attempt / 10,
        clock=t.now,
        sleep=t.sleep,
    )
    assert got == 0.0
    assert t.pauses == [3.1, 1.2, 2.3]


def test_growing_pauses_as_delivery_did() -> None:
    pace = growing(0.02, 1.5, 0.2)
    assert [round(pace(n, None), 6) for n in range(1, 9)] == [
        0.02,
        0.03,
        0.045,
        0.0675,
        0.10125,
        0.151875,
        0.2,
        0.2,
    ]


def test_poll_lets_errors_through_unchanged() -> None:
    t = Ticks()

    def check() -> int:
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        poll(check, until=bool, deadline=t.now() + 5, interval=1, clock=t.now, sleep=t.sleep)
    assert t.pauses == []


class Flaky:
    """Fails with `error` the first `failures` calls, then returns the call count."""

    def __init__(self, failures: int, error: type[Exception] = OSError) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error(f"failure {self.calls}")
        return self.calls


def test_retry_on_succeeds_after_transient_failures() -> None:
    t = Ticks()
    flaky = Flaky(2)
    policy = retry_on(
        lambda e: isinstance(e, OSError), attempts=3, pause=0.05, clock=t.now, sleep=t.sleep
    )
    assert policy(flaky) == 3
    assert t.pauses == [0.05, 0.05]


def test_retry_on_gives_up_after_attempts_with_the_original_error() -> None:
    t = Ticks()
    flaky = Flaky(5)
    policy = retry_on(lambda e: isinstance(e, OSError), attempts=3, clock=t.now, sleep=t.sleep)
    with pytest.raises(OSError, match="failure 3"):
        policy(flaky)
    assert flaky.calls == 3


def test_retry_on_gives_up_after_time_with_the_original_error() -> None:
    t = Ticks()
    flaky = Flaky(1000)
    policy = retry_on(
        lambda e: isinstance(e, OSError), within=1.0, pause=0.3, clock=t.now, sleep=t.sleep
    )
    with pytest.raises(OSError, match="failure 5"):
        policy(flaky)
    assert flaky.calls == 5  # at 0, 0.3, 0.6, 0.9, 1.2 s: the clock passed the limit
    assert t.now() == pytest.approx(1.2)


def test_retry_on_does_not_retry_other_errors() -> None:
    t = Ticks()
    flaky = Flaky(1, error=ValueError)
    policy = retry_on(lambda e: isinstance(e, OSError), attempts=3, clock=t.now, sleep=t.sleep)
    with pytest.raises(ValueError, match="failure 1"):
        policy(flaky)
    assert flaky.calls == 1


def test_retry_on_as_attempt_iterator() -> None:
    t = Ticks()
    flaky = Flaky(2)
    numbers: list[int] = []
    policy = retry_on(lambda e: isinstance(e, OSError), attempts=4, clock=t.now, sleep=t.sleep)
    for attempt in policy:
        with attempt:
            numbers.append(attempt.retry_state.attempt_number)
            flaky()
    assert numbers == [1, 2, 3]


def test_retry_on_needs_a_limit() -> None:
    with pytest.raises(ValueError, match="needs a limit"):
        retry_on(lambda e: True)


def _is_os(exc: BaseException) -> bool:
    return isinstance(exc, OSError)


@pytest.mark.parametrize(
    ("failures", "attempts", "calls", "pauses"),
    [(0, 3, 1, []), (2, 3, 3, [0.05, 0.05]), (1, 1, 1, [])],
)
def test_retry_call_counts_its_first_call_as_retry_on_does(
    failures: int, attempts: int, calls: int, pauses: list[float]
) -> None:
    t = Ticks()
    flaky = Flaky(failures)
    run = lambda: retry_call(  # noqa: E731
        _is_os, flaky, attempts=attempts, pause=0.05, clock=t.now, sleep=t.sleep
    )
    if failures >= attempts:
        with pytest.raises(OSError, match=f"failure {attempts}"):
            run()
    else:
        assert run() == calls
    assert (flaky.calls, t.pauses) == (calls, pauses)


def test_retry_call_gives_up_after_time_and_never_retries_other_errors() -> None:
    t = Ticks()
    slow = Flaky(1000)
    with pytest.raises(OSError, match="failure 5"):
        retry_call(_is_os, slow, within=1.0, pause=0.3, clock=t.now, sleep=t.sleep)
    assert slow.calls == 5  # as retry_on: at 0, 0.3, 0.6, 0.9, 1.2 s
    other = Flaky(1, error=ValueError)
    with pytest.raises(ValueError, match="failure 1"):
        retry_call(_is_os, other, attempts=3, clock=t.now, sleep=t.sleep)
    assert other.calls == 1

"""Retries and waits: the one place their policy is written, on tenacity.

Two shapes recur across the code, and each has one function here:

* `retry_on`: try an operation again after a *failure* (an exception) that is known to be
  transient: a tmux window index taken by a racing client, SQLite's lock while a new
  store switches to WAL, an event log rotated under us, a spec file rewritten while we
  edited it. The caller says which errors, how many attempts or for how long, and the
  pause; after the limit the *original* error is raised (`reraise`), never tenacity's
  `RetryError`, so error messages and exit codes stay those of the operation.
* `poll`: wait for a *condition* until a deadline: a condition in the status (`wait`),
  a request's answer, a `run` exiting, the workspace lock freed, a message showing on a
  screen. A check that returns a value, a predicate on it, a deadline and an interval.

Why tenacity for polling too, rather than a ten-line loop: the waits need exactly what a
retry policy is (at least one attempt, a result predicate, a stop, a wait that may depend
on the attempt or on the last result: delivery's growing pauses, `reconcile --wait`'s
requeue), and one engine for both keeps their edge cases (the last pause cut to the
deadline, errors passing through untouched) in one place. Two of tenacity's own pieces
are not used, on purpose: `stop_after_delay` reads `time.monotonic` inside tenacity, so the
stop here is a deadline on an injected `clock`, and the pause goes through an injected
`sleep`; together they let the unit tests run any wait on a fake clock, without sleeping.

tenacity is imported when a policy is first built, not with this module: `status` imports
this module (it shares a module with `wait`, and reads `EventLog`), and a read-only verb
must stay cheap to start; neither does the engine's import pay for it.

Not here, deliberately: retries that outlive a process (a message's next attempt, an
agent's crash-loop backoff) are state in the store or the status and are planned by a
controller; SQLite's busy handler (`sqlite3.connect(timeout=...)`) retries its own locks.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from tenacity import RetryCallState, Retrying

T = TypeVar("T")

Clock = Callable[[], float]
"""Monotonic seconds: `time.monotonic`, or a fake clock's in tests."""

Sleep = Callable[[float], object]
"""Pause this many seconds: `time.sleep`, a `threading.Event.wait`, or a fake clock's advance."""

Pacing = Callable[[int, T], float]
"""The pause after attempt N (1-based) that returned this result."""


def poll(
    check: Callable[[], T],
    *,
    until: Callable[[T], bool],
    deadline: float,
    interval: float | Pacing[T],
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> T:
    """Call `check` until `until(result)` holds or `clock()` reaches `deadline`; return
    the last result (the caller tells a timeout by testing it again).

    `check` runs at least once, even past the deadline. Between calls it pauses
    `interval` seconds (or `interval(attempt, result)`), never past the deadline, so the
    last check happens at the deadline rather than a whole interval after it. An
    exception from `check` or `until` ends the wait and propagates unchanged.
    `deadline` is on `clock`'s scale; `math.inf` waits until `until` says so.

    The first check runs before tenacity is imported: a wait that holds at once (`wait`
    on a team already Ready, from an agent's turn) should not pay for the import.
    """
    pace = interval if callable(interval) else _fixed(interval)
    first = check()
    if until(first) or clock() >= deadline:
        return first
    sleep(max(0.0, min(pace(1, first), deadline - clock())))

    from tenacity import Retrying, retry_if_result

    def pause(state: RetryCallState) -> float:
        assert state.outcome is not None  # tenacity waits only after an attempt
        wanted = pace(state.attempt_number + 1, state.outcome.result())
        return max(0.0, min(wanted, deadline - clock()))

    def last(state: RetryCallState) -> T:
        assert state.outcome is not None
        result: T = state.outcome.result()
        return result

    retrying = Retrying(
        retry=retry_if_result(lambda result: not until(result)),
        stop=lambda _state: clock() >= deadline,
        wait=pause,
        sleep=_nap(sleep),
        retry_error_callback=last,
    )
    return retrying(check)


def retry_on(
    transient: Callable[[BaseException], bool],
    *,
    attempts: int | None = None,
    within: float | None = None,
    pause: float = 0.0,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> Retrying:
    """A policy that calls again after an error `transient` accepts, pausing `pause` s.

    It stops after `attempts` calls or once `within` seconds have passed since the policy
    was built (whichever comes first; at least one limit is required), and then raises the
    last error itself. Any other error propagates at once. Build one per operation: the
    `within` clock starts here. Use it as `policy(fn, *args)` or
    `for attempt in policy: with attempt: ...`.
    """
    from tenacity import Retrying, retry_if_exception

    if attempts is None and within is None:
        raise ValueError("retry_on needs a limit: attempts, within, or both")
    deadline = math.inf if within is None else clock() + within
    limit = math.inf if attempts is None else attempts

    def stop(state: RetryCallState) -> bool:
        return state.attempt_number >= limit or clock() >= deadline

    return Retrying(
        retry=retry_if_exception(transient),
        stop=stop,
        wait=lambda _state: pause,
        sleep=_nap(sleep),
        reraise=True,
    )


def retry_call(
    transient: Callable[[BaseException], bool],
    fn: Callable[..., T],
    *args: Any,
    attempts: int | None = None,
    within: float | None = None,
    pause: float = 0.0,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> T:
    """`retry_on(transient, ...)(fn, *args)`, the first call made before the policy is
    built: it nearly always succeeds, and building a policy imports tenacity, which a
    short `team-agent` process (`send`, `reconcile --once`) need not pay for. The limits
    are the same: `attempts` counts the first call, `within` starts before it.
    """
    if attempts is None and within is None:
        raise ValueError("retry_call needs a limit: attempts, within, or both")
    start = clock()
    try:
        return fn(*args)
    except BaseException as exc:
        if not transient(exc) or attempts == 1:
            raise
        if within is not None and clock() - start >= within:
            raise
    sleep(pause)
    rest = None if attempts is None else attempts - 1
    left = None if within is None else max(0.0, within - (clock() - start))
    policy = retry_on(transient, attempts=rest, within=left, pause=pause, clock=clock, sleep=sleep)
    result: T = policy(fn, *args)
    return result


def growing(first: float, factor: float, most: float) -> Pacing[object]:
    """Pauses `first`, `first * factor`, ... up to `most` (by attempt, whatever the result)."""

    def pace(attempt: int, _result: object) -> float:
        return float(min(most, first * factor ** (attempt - 1)))

    return pace


def _fixed(seconds: float) -> Pacing[object]:
    return lambda _attempt, _result: seconds


def _nap(sleep: Sleep) -> Callable[[float], None]:
    """tenacity wants a sleep returning None; `Event.wait` returns a bool."""

    def nap(seconds: float) -> None:
        sleep(seconds)

    return nap

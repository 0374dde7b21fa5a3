"""Take the workspace lock, or hand the work to the `team-agent run` that holds it.

`down` and `orphans --reap` need the lock. When it is free they take it and act. When a
live `run` holds it and says it answers this kind of request (`LockHolder.accepts`), they
ask it instead (`reconciler.engine.requests`) and print its answer: `run` is the normal way to
operate a team, so these verbs must work while it runs, within about a second. When
another holder (a one-shot `reconcile`, another `down`) has it, they wait for the lock up
to `--lock-timeout`, as before.

Within the bound, whichever comes first wins: the lock freed, or a `run` to ask. A `run`
that dies while we wait for its answer frees the lock, and we take it. At the bound the
verb exits 3 (another reconciler holds the lock) with who holds it and what to do: a
`run` that does not answer (stopped, hung, or too busy) is named by pid, and the request
is withdrawn, so a `run` that wakes up later never performs it.
"""

from __future__ import annotations

import time
from typing import NoReturn

import psutil

from reconciler.api.durations import parse_duration
from reconciler.api.errors import LockHeld, StateUnwritable
from reconciler.api.exitcodes import EXIT_LOCKED, EXIT_UNUSABLE
from reconciler.api.retrying import poll
from reconciler.cli.util import Target, fail, running_reconciler
from reconciler.engine.requests import Answer, RequestKind, await_answer, submit, withdraw
from reconciler.observe.procs import is_same_process
from reconciler.store.lock import POLL_INTERVAL_SEC, LockHolder, WorkspaceLock, describe_holder
from reconciler.store.statusfile import ensure_state_dir

EXIT_WAIT_SEC = 5.0  # how long `down` waits for the `run` it asked to exit


def lock_or_ask(
    t: Target, timeout: str, *, verb: str, kind: RequestKind
) -> WorkspaceLock | tuple[LockHolder, Answer]:
    """The held lock (release it when done), or the running `run` and its answer.

    Exits 3 at the bound (`timeout`) and 4 when the state folder is unusable.
    """
    try:
        state = ensure_state_dir(t.workspace)
    except StateUnwritable as err:
        fail(str(err), EXIT_UNUSABLE)
    deadline = time.monotonic() + parse_duration(timeout)
    lock = WorkspaceLock(state, verb=verb)
    held: LockHeld | None = None
    holder: LockHolder | None = None

    def attempt() -> WorkspaceLock | tuple[LockHolder, Answer] | None:
        """The lock or the holder's answer; None while another holder keeps the lock."""
        nonlocal held, holder
        while True:  # again at once when the `run` we asked died before it took the request
            try:
                lock.acquire(0)
            except LockHeld as err:
                held = err
            except StateUnwritable as err:
                fail(str(err), EXIT_UNUSABLE)
            else:
                return lock
            holder = running_reconciler(t.workspace)
            if holder is None or kind not in holder.accepts:
                return None
            reply = _ask(t, holder, verb=verb, kind=kind, deadline=deadline, timeout=timeout)
            if reply is not None:
                return holder, reply

    got = poll(
        attempt, until=lambda r: r is not None, deadline=deadline, interval=POLL_INTERVAL_SEC
    )
    if got is None:
        assert held is not None  # an attempt that returns None saw the lock held
        _lock_timeout(held, holder, timeout)
    return got


def _ask(
    t: Target,
    holder: LockHolder,
    *,
    verb: str,
    kind: RequestKind,
    deadline: float,
    timeout: str,
) -> Answer | None:
    """Ask `holder` to do it; None when it died before taking the request."""
    state = t.workspace / ".team"
    try:
        request = submit(state, kind)
    except (OSError, StateUnwritable) as err:
        fail(f"cannot ask {describe_holder(holder)} to {verb}: {err}", EXIT_UNUSABLE)

    def holder_alive() -> bool:
        return holder.createTime is None or _running(holder.pid, holder.createTime)

    reply = await_answer(state, request, deadline=deadline, alive=holder_alive)
    if reply is not None:
        return reply
    who = describe_holder(holder)
    if withdraw(state, request):
        if not holder_alive():
            return None
        fail(
            f"{who} holds the workspace lock and did not answer the `{verb}` request within "
            f"{timeout} (stopped, hung or busy); the request is withdrawn. "
            f"Check it (`ps -p {holder.pid}`, its log); `kill {holder.pid}` stops it and "
            f"leaves the agents running; then run `{verb}` again.",
            EXIT_LOCKED,
        )
    fail(
        f"{who} took the `{verb}` request but did not finish it within {timeout}; "
        "see its log and `team-agent status`",
        EXIT_LOCKED,
    )


def _lock_timeout(held: LockHeld, holder: LockHolder | None, timeout: str) -> NoReturn:
    if holder is not None and holder.verb == "run":  # a `run` that takes no requests
        fail(
            f"{describe_holder(holder)} holds the workspace lock and takes no requests "
            f"(an older team-agent?); `kill {holder.pid}` stops it and leaves the agents "
            "running; then try again",
            EXIT_LOCKED,
        )
    what = "wait for it to finish and try again"
    if holder is not None:
        what += f" (or stop it: `kill {holder.pid}`)"
    fail(f"another reconciler holds the lock after {timeout}: {held}; {what}", EXIT_LOCKED)


def await_exit(holder: LockHolder) -> bool:
    """Wait a little for the `run` that brought the team down to exit; True once it has."""
    if holder.createTime is None:
        return False
    create_time = holder.createTime
    running = poll(
        lambda: _running(holder.pid, create_time),
        until=lambda still: not still,
        deadline=time.monotonic() + EXIT_WAIT_SEC,
        interval=POLL_INTERVAL_SEC,
    )
    return not running


def _running(pid: int, create_time: float) -> bool:
    """Still that process, and not a zombie (an exited child its parent has not reaped)."""
    try:
        return is_same_process(pid, create_time) and (
            psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        )
    except psutil.Error:
        return False

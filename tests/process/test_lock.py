"""The workspace lock across processes: a second process waits and times out naming the
holder, and the kernel frees the lock when the holder dies (a forked child here). The
in-process mechanics are in tests/unit/test_lock.py.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event as MpEvent
from pathlib import Path

import pytest

from reconciler.api.errors import LockHeld
from reconciler.store.lock import WorkspaceLock, read_holder

CTX = multiprocessing.get_context("fork")


def _hold_lock(state_dir: str, ready: MpEvent) -> None:
    lock = WorkspaceLock(Path(state_dir))
    lock.acquire()
    ready.set()
    time.sleep(60)  # killed by the test long before this ends


@pytest.fixture
def holder(state: Path) -> Iterator[BaseProcess]:
    """A child process that holds the lock until the test kills it."""
    ready = CTX.Event()
    proc = CTX.Process(target=_hold_lock, args=(str(state), ready), daemon=True)
    proc.start()
    assert ready.wait(timeout=10), "child never took the lock"
    yield proc
    if proc.is_alive() and proc.pid is not None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.join(timeout=10)


def test_other_process_times_out_naming_the_holder(state: Path, holder: BaseProcess) -> None:
    lock = WorkspaceLock(state)
    started = time.monotonic()
    with pytest.raises(LockHeld) as info:
        lock.acquire(timeout=0.2)
    waited = time.monotonic() - started
    assert info.value.holder_pid == holder.pid
    assert info.value.path == state / "reconciler.lock"
    assert f"pid {holder.pid}" in str(info.value)
    assert 0.2 <= waited < 2.0
    assert not lock.held
    with pytest.raises(LockHeld):
        lock.acquire(timeout=0)


def test_released_when_holder_is_killed(state: Path, holder: BaseProcess) -> None:
    assert holder.pid is not None
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(timeout=10)
    stale = read_holder(state / "reconciler.lock")
    assert stale is not None and stale.pid == holder.pid, "a dead holder's record stays"
    lock = WorkspaceLock(state)
    lock.acquire(timeout=5)
    try:
        now_held = read_holder(lock.path)
        assert now_held is not None and now_held.pid == os.getpid()
    finally:
        lock.release()


def test_waiter_gets_lock_when_holder_dies_during_wait(state: Path, holder: BaseProcess) -> None:
    assert holder.pid is not None
    lock = WorkspaceLock(state, timeout=5)
    os.kill(holder.pid, signal.SIGKILL)
    with lock:
        assert lock.held

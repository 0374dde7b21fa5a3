"""The workspace lock: exclusive across processes, and freed by the kernel when a holder dies."""

from __future__ import annotations

import multiprocessing
import os
import signal
import stat
import time
from collections.abc import Iterator
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event as MpEvent
from pathlib import Path

import psutil
import pytest

from reconciler.api.clock import FakeClock
from reconciler.api.errors import LockHeld, StateUnwritable
from reconciler.store.lock import LockHolder, WorkspaceLock, read_holder
from reconciler.store.statusfile import ensure_state_dir

CTX = multiprocessing.get_context("fork")


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return ensure_state_dir(tmp_path)


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


def test_acquire_records_holder_and_release_clears_it(state: Path) -> None:
    lock = WorkspaceLock(state, clock=FakeClock())
    lock.acquire()
    assert lock.held
    assert stat.S_IMODE(lock.path.stat().st_mode) == 0o600
    assert read_holder(lock.path) == LockHolder(
        pid=os.getpid(),
        createTime=psutil.Process().create_time(),
        acquiredAt="2026-11-25T09:00:00Z",
    )
    lock.release()
    assert not lock.held
    assert read_holder(lock.path) is None
    assert lock.path.exists(), "the lock file is never unlinked"
    lock.release()  # releasing twice is harmless


def test_with_statement_and_reacquire(state: Path) -> None:
    with WorkspaceLock(state) as lock:
        assert lock.held
        with pytest.raises(LockHeld) as info:
            WorkspaceLock(state).acquire(timeout=0)  # another open file: conflicts
        assert info.value.holder_pid == os.getpid()
        with pytest.raises(RuntimeError, match="already held"):
            lock.acquire()
    assert not lock.held
    with WorkspaceLock(state):
        pass


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


def test_missing_state_folder_is_unwritable(tmp_path: Path) -> None:
    with pytest.raises(StateUnwritable, match="ENOENT"):
        WorkspaceLock(tmp_path / "missing").acquire()


@pytest.mark.parametrize(
    "content", [b"", b"garbage", b'{"createTime": 1.0}'], ids=["empty", "garbage", "no-pid"]
)
def test_read_holder_tolerates_bad_content(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "reconciler.lock"
    path.write_bytes(content)
    assert read_holder(path) is None
    assert read_holder(tmp_path / "absent.lock") is None

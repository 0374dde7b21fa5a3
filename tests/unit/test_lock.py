"""The workspace lock in this process: holder record, re-entry, a missing state folder, a
bad record. Across processes (a holder that waits, dies, is killed): tests/process/test_lock.py.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import psutil
import pytest

from reconciler.api.clock import FakeClock
from reconciler.api.errors import LockHeld, StateUnwritable
from reconciler.store.lock import LockHolder, WorkspaceLock, read_holder
from reconciler.store.statusfile import ensure_state_dir


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return ensure_state_dir(tmp_path)


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

"""The workspace lock: one reconciler acts on a workspace at a time.

Two reconcilers on one workspace would race to create the same windows and overwrite
each other's status, so every pass that may change the world runs under
`<state>/reconciler.lock` (DESIGN.md: single writer; `reconcile --once` exits 3 when the
lock is held).

Why `flock` and not a pid file: the kernel releases an flock when the holder's last
descriptor closes, including when the process is SIGKILLed or the machine reboots, so
there is no stale lock to detect, guess about or break. A pid file needs exactly that
guessing (is pid 4242 still ours, or a recycled number?). The file's contents are only a
hint for people and tools: the holder writes its pid, its process create time, when it
acquired the lock, which verb it is and which requests it answers (`team-agent run` answers
`down` and `orphans --reap` while it runs: `reconciler.engine.requests`), and clears them on
release; `read_holder` returns them. Contents left behind by a holder that died are
harmless: whoever acquires next overwrites them.

Details that keep it correct:
- The file is never unlinked. Unlinking would let a waiter lock the old inode while a
  newcomer locks a fresh file at the same path, and both would "hold" the lock.
- The descriptor is not inheritable (Python's default, PEP 446), so tmux servers and
  agents started while we hold the lock do not keep it alive after we die.
- `flock` locks belong to the open file description: a second `WorkspaceLock` on the
  same workspace conflicts with the first even inside one process.
- Waiting polls `LOCK_NB` every 20 ms up to a deadline rather than blocking, so the wait
  is bounded and a timeout can report who holds the lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path
from types import TracebackType
from typing import Final

import msgspec
import psutil

from reconciler.api.clock import Clock, SystemClock, format_time
from reconciler.api.errors import LockHeld, StateUnwritable
from reconciler.api.retrying import poll
from reconciler.store.statusfile import describe_os_error

LOCK_FILE: Final = "reconciler.lock"
POLL_INTERVAL_SEC: Final = 0.02
_FILE_MODE: Final = 0o600


class LockHolder(msgspec.Struct, frozen=True):
    """What the holder wrote into the lock file: who it is and since when.

    A msgspec struct (unknown keys ignored: a newer holder may record more), because
    `status` reads it on every call to tell whether a reconciler is running (issue 16).
    """

    pid: int
    createTime: float | None = None  # the holder's process create time (psutil)
    acquiredAt: str | None = None
    verb: str | None = None  # `run`, `reconcile`, `down`, `orphans --reap` (for messages)
    accepts: tuple[str, ...] = ()  # request kinds it answers while holding the lock


def describe_holder(holder: LockHolder | None) -> str:
    """Who holds a lock, for a message: "`team-agent run` (pid 4242)", or "another process"."""
    if holder is None:
        return "another process"
    if holder.verb is None:
        return f"pid {holder.pid}"
    return f"`team-agent {holder.verb}` (pid {holder.pid})"


def read_holder(path: Path) -> LockHolder | None:
    """The holder recorded in the lock file at `path`, or None if none is recorded.

    This is a hint, not proof: a holder that was SIGKILLed leaves its record behind while
    the lock itself is free. Compare `createTime` with the live process (pid reuse) before
    calling anything stale or alive.
    """
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    if not raw.strip():
        return None
    try:
        return msgspec.json.decode(raw, type=LockHolder)
    except msgspec.DecodeError:  # also a record of the wrong shape (ValidationError)
        return None


class WorkspaceLock:
    """An exclusive `flock` on `<state>/reconciler.lock`.

    `timeout` is how long `with lock:` waits; `acquire(timeout)` overrides it per call.
    `verb` and `accepts` go into the holder record (see `LockHolder`). `clock` stamps
    `acquiredAt`; the wait itself uses real monotonic time, because it
    waits on a real process. Release explicitly or use `with`: a held lock that is merely
    dropped stays held until the process exits.
    """

    def __init__(
        self,
        state_dir: Path,
        *,
        timeout: float = 0.0,
        clock: Clock | None = None,
        verb: str | None = None,
        accepts: tuple[str, ...] = (),
    ) -> None:
        self._path = state_dir / LOCK_FILE
        self._timeout = timeout
        self._verb = verb
        self._accepts = accepts
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._fd: int | None = None

    @property
    def path(self) -> Path:
        return self._path

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, timeout: float | None = None) -> None:
        """Take the lock, waiting up to `timeout` seconds (0: try once).

        Raises `LockHeld` (with the holder's recorded pid) on timeout and
        `StateUnwritable` when the lock file cannot be opened or written.
        """
        if self._fd is not None:
            raise RuntimeError(f"{self._path} is already held by this WorkspaceLock")
        wait = self._timeout if timeout is None else timeout
        deadline = time.monotonic() + max(wait, 0.0)
        fd = self._open()
        try:
            locked = _lock_before(fd, deadline)
            if locked:
                self._record_holder(fd)
        except BaseException:
            os.close(fd)  # closing releases the flock if we got it
            raise
        if not locked:
            os.close(fd)
            holder = read_holder(self._path)
            raise LockHeld(self._path, holder.pid if holder else None, who=describe_holder(holder))
        self._fd = fd

    def release(self) -> None:
        """Clear the holder record and release the lock; a no-op when not held."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)  # still holding the lock, so no one else is writing
        finally:
            os.close(fd)

    def __enter__(self) -> WorkspaceLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def _open(self) -> int:
        try:
            return os.open(self._path, os.O_RDWR | os.O_CREAT, _FILE_MODE)
        except OSError as exc:
            problem = describe_os_error(exc)
            raise StateUnwritable(f"cannot open lock {self._path}: {problem}") from exc

    def _record_holder(self, fd: int) -> None:
        me = psutil.Process()
        holder = LockHolder(
            pid=me.pid,
            createTime=me.create_time(),
            acquiredAt=format_time(self._clock.now()),
            verb=self._verb,
            accepts=self._accepts,
        )
        data = msgspec.json.encode(holder) + b"\n"
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)
        except OSError as exc:
            problem = describe_os_error(exc)
            raise StateUnwritable(f"cannot write lock {self._path}: {problem}") from exc


def _lock_before(fd: int, deadline: float) -> bool:
    """Poll for the lock until `deadline` (monotonic); at least one attempt."""
    return poll(lambda: _try_lock(fd), until=bool, deadline=deadline, interval=POLL_INTERVAL_SEC)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as exc:
        problem = describe_os_error(exc)
        raise StateUnwritable(f"cannot lock: {problem}") from exc
    return True

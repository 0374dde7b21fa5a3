"""The event log: a bounded, append-only record of what the reconciler did and saw.

`.team/events.jsonl` holds one JSON `Event` (`reconciler.api.events`) a line, for people
(`team-agent events`) and tools (log shippers, CI artifacts).

Events are never read back to make decisions. Everything a pass needs to carry over
(restart counts, backoff, captured session ids) lives in `status.json`; the predecessor
tool recovered state by scanning the event log backwards and lost it to rotation
(STYLE.md, "the event log as state"). `EventLog.read` exists for display only.

Writing:
- Each line is written with a single `write()` on a descriptor opened with `O_APPEND`,
  so lines from concurrent writers (the reconciler, a CLI verb) never interleave.
- Appends and rotation are serialised with `flock` on the current file; a writer that
  finds the file rotated under it reopens the new one. Rotation shifts
  `events.jsonl` → `.1` → … → `.N` and drops the oldest, so the log stays within about
  `(backups + 1) * max_bytes`.
- A line cut short by a crash is skipped by `read`, and the next append starts on a
  fresh line, so one torn write costs one event, not two.
- No fsync: losing the last events in a power cut is acceptable; slowing every pass is
  not. Files are 0600: messages can name paths and commands.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from pathlib import Path
from typing import Final

from pydantic import ValidationError

from reconciler.api.clock import parse_time
from reconciler.api.errors import StateUnwritable
from reconciler.api.events import Event
from reconciler.api.retrying import retry_on
from reconciler.store.statusfile import describe_os_error

EVENTS_FILE: Final = "events.jsonl"
_FILE_MODE: Final = 0o600
_REOPEN_ATTEMPTS: Final = 8


class _Reopen(Exception):
    """The file we opened is not the current log any more: open it again."""


class EventLog:
    """Appends to and reads `<state>/events.jsonl` and its rotated predecessors."""

    def __init__(self, state_dir: Path, *, max_bytes: int = 1_000_000, backups: int = 3) -> None:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        if backups < 0:
            raise ValueError("backups must be zero or more")
        self._dir = state_dir
        self._max_bytes = max_bytes
        self._backups = backups

    @property
    def path(self) -> Path:
        return self._dir / EVENTS_FILE

    def files(self) -> list[Path]:
        """Existing log files, oldest first (`.N`, …, `.1`, then the current file)."""
        candidates = [self._rotated(n) for n in range(self._backups, 0, -1)] + [self.path]
        return [path for path in candidates if path.exists()]

    def append(self, event: Event) -> None:
        """Append `event` as one line, rotating first if the line would overflow the file.

        Raises `StateUnwritable` when the log cannot be written.
        """
        line = event.to_line()
        try:
            self._append_line(line)
        except OSError as exc:
            problem = describe_os_error(exc)
            raise StateUnwritable(f"cannot append to {self.path}: {problem}") from exc

    def read(self, limit: int | None = None, since: str | None = None) -> list[Event]:
        """Events in the order they were written, oldest first, for display.

        `since` (an RFC 3339 time) keeps events at or after it; `limit` keeps the newest
        `limit` of those. Lines that do not parse (a write cut by a crash, a foreign line)
        are skipped. A reader racing a rotation may miss or repeat a file's worth of
        events; that is acceptable for a display.
        """
        cutoff = parse_time(since) if since is not None else None
        events: list[Event] = []
        for path in self.files():
            try:
                raw = path.read_bytes()
            except FileNotFoundError:
                continue  # rotated away between listing and reading
            for line in raw.splitlines():
                try:
                    event = Event.model_validate_json(line)
                except ValidationError:
                    continue
                if cutoff is None or parse_time(event.time) >= cutoff:
                    events.append(event)
        if limit is not None:
            events = events[-limit:] if limit > 0 else []
        return events

    def _append_line(self, line: bytes) -> None:
        # Reopened while another writer rotates under us or after we rotate; the last
        # attempt writes to what it opened, so contention never makes an append fail.
        # The first attempt comes before the policy: it nearly always succeeds, and
        # building one imports tenacity, which `report` from a worker need not pay for.
        try:
            self._append_once(line, last_try=False)
        except _Reopen:
            later = _REOPEN_ATTEMPTS - 1
            reopen = retry_on(lambda e: isinstance(e, _Reopen), attempts=later)
            for attempt in reopen:
                with attempt:
                    last_try = attempt.retry_state.attempt_number == later
                    self._append_once(line, last_try=last_try)

    def _append_once(self, line: bytes, *, last_try: bool) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, _FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if not last_try and not self._is_current(fd):
                raise _Reopen("another writer rotated it while we waited for the lock")
            size = os.fstat(fd).st_size
            if not last_try and size > 0 and size + len(line) > self._max_bytes:
                self._rotate()
                raise _Reopen("rotated: write to the new file")
            if size > 0 and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line  # the previous writer died mid-line
            written = os.write(fd, line)
            if written != len(line):
                raise OSError(errno.ENOSPC, f"short write ({written} of {len(line)} bytes)")
        finally:
            os.close(fd)  # also releases the flock

    def _is_current(self, fd: int) -> bool:
        try:
            on_disk = os.stat(self.path)
        except FileNotFoundError:
            return False
        opened = os.fstat(fd)
        return (opened.st_dev, opened.st_ino) == (on_disk.st_dev, on_disk.st_ino)

    def _rotate(self) -> None:
        """Shift `.N-1` → `.N`, …, current → `.1`; the old `.N` is replaced (dropped).

        Called with the current file's flock held, so rotations never overlap.
        """
        if self._backups == 0:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            return
        for n in range(self._backups - 1, 0, -1):
            with contextlib.suppress(FileNotFoundError):
                os.replace(self._rotated(n), self._rotated(n + 1))
        os.replace(self.path, self._rotated(1))

    def _rotated(self, n: int) -> Path:
        return self._dir / f"{EVENTS_FILE}.{n}"

"""The status file: `.team/status.json` read and written so it is never half-seen.

A crash at any moment leaves the old file or the new one: the new status is written to a
temporary file in the same folder, fsynced, renamed over the old one, and the folder is
fsynced. A file that exists but cannot be used raises `StatusCorrupt` rather than being
read as "no status" (a reader that silently saw nothing would report a running team as
absent). It calls the `os` functions through the `os` module (`os.replace`,
`os.fsync`), which is the seam tests use to inject ENOSPC at each step. Only the reconciler
that holds the workspace lock writes status (single writer); readers need no lock thanks
to the atomic replace. The models are `reconciler.api.status`'s.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path

import msgspec

from reconciler.api.errors import StateUnwritable, TeamAgentError
from reconciler.api.status import STATE_DIR, STATUS_FILE, AgentStatus, TeamStatus

_STATE_DIR_MODE = 0o700
_FILE_MODE = 0o600  # messages can name things people consider private


class StatusCorrupt(TeamAgentError):
    """`status.json` exists but cannot be used: unreadable, not JSON, or not a TeamStatus.

    Raised rather than treated as "no status": a reader that silently saw nothing would
    report a running team as absent.
    """

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


def ensure_state_dir(workspace: Path) -> Path:
    """Create `<workspace>/.team` (mode 0700) and return it.

    An existing folder with group/other permissions is narrowed to 0700, but only when we
    own it: chmod on someone else's folder would fail or, as root, change their setup.
    The workspace itself must exist. Raises `StateUnwritable` when the folder cannot be
    made (a file in the way, permissions, read-only file system).
    """
    state = workspace / STATE_DIR
    try:
        state.mkdir(mode=_STATE_DIR_MODE, exist_ok=True)
        info = state.stat()
        if not stat.S_ISDIR(info.st_mode):
            raise StateUnwritable(f"{state} exists and is not a directory")
        if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) & 0o077:
            state.chmod(_STATE_DIR_MODE)
    except OSError as exc:
        problem = describe_os_error(exc)
        raise StateUnwritable(f"cannot create state folder {state}: {problem}") from exc
    return state


class StatusStore:
    """Reads and atomically writes `<state>/status.json`."""

    def __init__(self, state_dir: Path) -> None:
        self._dir = state_dir

    @property
    def path(self) -> Path:
        return self._dir / STATUS_FILE

    def read(self) -> TeamStatus | None:
        """The stored status; None when there is none yet.

        Raises `StatusCorrupt` when the file exists but cannot be read or parsed.
        """
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StatusCorrupt(self.path, f"cannot read: {describe_os_error(exc)}") from exc
        try:
            return msgspec.json.decode(raw, type=TeamStatus)
        except msgspec.DecodeError as exc:  # ValidationError is one: the JSON or its shape
            raise StatusCorrupt(self.path, f"not a valid TeamStatus: {_locate(raw, exc)}") from exc

    def write(self, status: TeamStatus) -> None:
        """Replace `status.json` with `status`, atomically and durably.

        Raises `StateUnwritable` (naming the path and the OS error) when any step fails;
        the previous file is then untouched and no temp file is left behind.

        A writer SIGKILLed between its temp file and the rename leaves that temp file
        (tests/faults found them piling up, one per such crash). Only the lock holder
        writes the status (single writer), so any `.status.*.tmp` present now is such a
        leftover, and is removed first.
        """
        for leftover in self._dir.glob(f".{self.path.stem}.*.tmp"):
            with contextlib.suppress(OSError):
                leftover.unlink()
        write_atomically(self.path, status.to_json().encode())


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` (mode 0600): temp file, fsync, rename, fsync the folder.

    Shared by every state file other programs read while we rewrite it (`status.json`,
    the leader records). Raises `StateUnwritable` naming the path and the OS error; the
    previous file is then untouched and no temp file is left behind.
    """

    def unwritable(exc: OSError) -> StateUnwritable:
        return StateUnwritable(f"cannot write {path}: {describe_os_error(exc)}")

    folder = path.parent
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.stem}.", suffix=".tmp")
    except OSError as exc:
        raise unwritable(exc) from exc
    try:
        try:
            os.fchmod(fd, _FILE_MODE)
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise unwritable(exc) from exc
    try:
        _fsync_dir(folder)
    except OSError as exc:
        # The new file is in place; only its durability across a power cut is unknown.
        raise unwritable(exc) from exc


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError as exc:
        # Some file systems cannot fsync a directory; the rename is as durable as they get.
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def describe_os_error(exc: OSError) -> str:
    """`ENOSPC (No space left on device)`: the errno name people search for, and its text."""
    if exc.errno is not None:
        return f"{errno.errorcode.get(exc.errno, exc.errno)} ({os.strerror(exc.errno)})"
    return str(exc)


_AGENT_PATH = "$.agents[...]"


def _locate(raw: bytes, exc: msgspec.DecodeError) -> str:
    """msgspec's message, with the agent named where it says `$.agents[...]`.

    msgspec's error paths do not carry dictionary keys; `agents` is the status's one
    dictionary, so on this (failing, rare) path its entries are converted one by one to
    find the one at fault, and the message names it as pydantic's did.
    """
    message = str(exc)
    if _AGENT_PATH not in message:
        return message
    doc = msgspec.json.decode(raw)  # it parsed: the failure was a value's
    agents = doc.get("agents") if isinstance(doc, dict) else None
    for name, agent in agents.items() if isinstance(agents, dict) else ():
        try:
            msgspec.convert(agent, AgentStatus)
        except msgspec.ValidationError:
            key = msgspec.json.encode(name).decode()
            return message.replace(_AGENT_PATH, f"$.agents[{key}]")
    return message

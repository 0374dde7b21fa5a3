"""Sessions of the fake agent, kept on disk the way real agent CLIs keep theirs.

Role in the loop: the reconciler's session capture finds an agent's transcript, records its
session id and passes it back with ``--resume`` after a restart. This module gives the fake
the same on-disk behaviour as a real CLI, so that path runs in demos and tests:

* a uuid4 session id (or the one given) and a JSONL transcript
  ``<FAKE_AGENT_HOME or ~/.fake-agent>/sessions/<id>.jsonl``. As with Claude Code, the
  transcript does not exist until the first message, so session capture must allow for
  that gap. Its first line is a ``session_meta`` record that ties it to the agent;
* ``--session-id`` and ``--resume`` refused with Claude Code's messages (exit code 1);
* ``FAKE_AGENT_ARGV_LOG``: one JSON line per start, so tests can see how it was launched.

Standard library only, like the rest of the fake.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal, TypedDict

from reconciler.fakeagent.terminal import write_all

ENV_HOME = "FAKE_AGENT_HOME"
ENV_ARGV_LOG = "FAKE_AGENT_ARGV_LOG"
ENV_AGENT_ID = "TEAM_AGENT_ID"
# Session ids become file names; this keeps "../x" and "a/b" out of the sessions folder.
_SESSION_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class SessionMeta(TypedDict):
    """First line of a new transcript, what session capture reads to match it to an agent."""

    type: Literal["session_meta"]
    sessionId: str
    cwd: str
    agentId: str | None
    timestamp: str
    argv: list[str]


Role = Literal["user", "assistant"]  # who said a transcript turn


class Message(TypedDict):
    """One conversation turn in a transcript."""

    type: Role
    text: str
    timestamp: str
    sessionId: str


class ArgvLogEntry(TypedDict):
    """One line of ``$FAKE_AGENT_ARGV_LOG``: how one start was invoked."""

    pid: int
    argv: list[str]
    env_team_agent_id: str | None
    time: str


class SessionError(Exception):
    """The asked-for session cannot be used; the message is Claude Code's, the exit code 1."""


def utc_now() -> str:
    """Timestamp in the format Claude Code's transcripts use, e.g. ``2026-11-25T09:00:00.123Z``."""
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    return now.replace("+00:00", "Z")


def _json_line(record: SessionMeta | Message | ArgvLogEntry) -> bytes:
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def parse_session_id(text: str) -> str:
    """Argument type of ``--session-id`` and ``--resume``: an id that is a safe file name."""
    if not _SESSION_ID_RE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"invalid session ID: {text!r}")
    return text


def agent_home() -> Path:
    """Where sessions live: ``$FAKE_AGENT_HOME``, so tests and demos can isolate them."""
    return Path(os.environ.get(ENV_HOME) or Path.home() / ".fake-agent")


def session_file(home: Path, session_id: str) -> Path:
    return home / "sessions" / f"{session_id}.jsonl"


def count_messages(path: Path) -> int:
    """User and assistant records in a transcript; unreadable lines are skipped, not fatal."""
    count = 0
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("type") in ("user", "assistant"):
                count += 1
    return count


class Transcript:
    """The append-only JSONL file of one session.

    The file is opened on the first append, not before, which makes it lazy the way Claude
    Code's is. Each append is a single ``os.write`` on an ``O_APPEND`` descriptor, so a
    SIGTERM or SIGKILL never leaves half a line behind.
    """

    def __init__(self, path: Path, *, meta: SessionMeta | None) -> None:
        """``meta`` is the first line of a new session; None when resuming an existing file."""
        self.path = path
        self._meta = meta
        self._fd: int | None = None

    def append(self, record: Message) -> None:
        data = _json_line(record)
        if self._fd is None:
            self._fd = self._open()
            if self._meta is not None:
                data = _json_line(self._meta) + data
        write_all(self._fd, data)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _open(self) -> int:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
        if self._meta is not None:
            # O_EXCL: two processes started with the same --session-id must not share a file.
            flags |= os.O_EXCL
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        return os.open(self.path, flags, 0o600)  # transcripts may quote secrets


@dataclass(frozen=True)
class Session:
    """The session this run works in, resolved (and checked) before the loop starts."""

    session_id: str
    transcript: Transcript
    resumed_messages: int | None  # None for a new session


def pick_session_id(*, resume: str | None, session_id: str | None) -> str:
    """The session to resume, else the id asked for, else a new uuid4 as Claude Code makes."""
    return resume or session_id or str(uuid.uuid4())


def open_session(session_id: str, path: Path, *, resume: bool, argv: list[str]) -> Session:
    """Check the ``--resume``/``--session-id`` rules and set up the transcript at ``path``.

    Resuming needs the transcript to exist and appends to it. A new session needs the file
    not to exist yet; its transcript starts with a ``session_meta`` line recording ``argv``.
    Raises ``SessionError`` otherwise. Nothing is written here: the transcript stays lazy.
    """
    if resume:
        if not path.is_file():
            raise SessionError(f"No conversation found with session ID: {session_id}")
        return Session(
            session_id=session_id,
            transcript=Transcript(path, meta=None),
            resumed_messages=count_messages(path),
        )
    if path.exists():
        raise SessionError(f"Error: Session ID {session_id} is already in use.")
    meta: SessionMeta = {
        "type": "session_meta",
        "sessionId": session_id,
        "cwd": os.getcwd(),
        "agentId": os.environ.get(ENV_AGENT_ID) or None,
        "timestamp": utc_now(),
        "argv": argv,
    }
    return Session(
        session_id=session_id, transcript=Transcript(path, meta=meta), resumed_messages=None
    )


def log_argv(argv: list[str]) -> None:
    """Append this start's argv to ``$FAKE_AGENT_ARGV_LOG``, so tests can see how it was run.

    A failure is reported on stderr and does not stop the agent: a test that relies on the
    log fails on its own assertions, while a demo keeps working.
    """
    target = os.environ.get(ENV_ARGV_LOG)
    if not target:
        return
    entry: ArgvLogEntry = {
        "pid": os.getpid(),
        "argv": argv,
        "env_team_agent_id": os.environ.get(ENV_AGENT_ID),
        "time": utc_now(),
    }
    try:
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            write_all(fd, _json_line(entry))
        finally:
            os.close(fd)
    except OSError as exc:
        print(f"fake-agent: cannot write {ENV_ARGV_LOG}: {exc}", file=sys.stderr)

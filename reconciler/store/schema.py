"""The message store's SQL layer: schema, migrations, the file and its connection, rows.

`reconciler.store.messages` composes transactions out of what is here; nothing else uses it.

The schema version lives in the database itself (`PRAGMA user_version`), so a file
carries its own format wherever it is copied. `MIGRATIONS[i]` upgrades version `i` to
`i + 1`; the newest version is `len(MIGRATIONS)`. Migrations are append-only: a released
entry is never edited, a change is a new entry (`ALTER TABLE ... ADD COLUMN`, a new
table, a copy-and-rename), so every database, however old, reaches the same schema.

`migrate` runs all pending migrations and the version bump in ONE write transaction
(`BEGIN IMMEDIATE`), re-reading the version once it holds the write lock: two processes
opening a fresh file at once (a `send` and the reconciler) migrate it exactly once, and a
crash mid-migration leaves the old version intact. A database newer than this code is
refused rather than read: this code cannot know what the newer columns mean.

Statements are split with `sqlite3.complete_statement` and run one by one, because
`executescript` commits any open transaction first (Python < 3.12), which would break the
one-transaction rule.

The file itself is set up here too (`prepare_file`, `connect`): created 0600 before
SQLite would create it with the umask, WAL (readers never block the writer),
`synchronous=FULL` (a committed `entered` mark survives a power cut, not only a crash;
one fsync per write, a few per message), a busy timeout so writers from several
processes queue instead of failing, and autocommit mode so every transaction is explicit.

Ids come from the row's sequence number, chosen inside the caller's write transaction
(`next_seq`), so `msg-<seq>` is unique across processes without any lock of ours.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final, Literal

from reconciler.api.errors import TeamAgentError
from reconciler.api.retrying import retry_call
from reconciler.store.records import (
    MESSAGE_COLUMNS,
    MessageKind,
    MessageRecord,
    message_from_row,
)

BUSY_TIMEOUT_SEC: Final = 5.0
_FILE_MODE: Final = 0o600

# v1 (issue #6): messages, results, alerts.
_V1: Final = """
CREATE TABLE messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    sender TEXT NOT NULL,
    recipient TEXT NOT NULL,
    task TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('message', 'result', 'alert', 'reminder')),
    state TEXT NOT NULL CHECK (state IN ('queued', 'delivering', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    entered INTEGER NOT NULL DEFAULT 0 CHECK (entered IN (0, 1)),
    pane TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    not_before REAL,
    delivered_at REAL,
    last_error TEXT,
    result_seq INTEGER REFERENCES results (seq),
    answered INTEGER NOT NULL DEFAULT 0 CHECK (answered IN (0, 1)),  -- a result came for it
    body TEXT NOT NULL  -- last: long bodies spill into overflow pages, read only when asked for
);
CREATE INDEX messages_state ON messages (state);
CREATE INDEX messages_recipient ON messages (recipient, created_at);
CREATE INDEX messages_open_tasks ON messages (task, recipient, seq)
    WHERE answered = 0 AND task IS NOT NULL AND kind = 'message';
CREATE TABLE results (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    task_id TEXT,
    agent_id TEXT NOT NULL,
    status TEXT NOT NULL,
    summary TEXT NOT NULL,
    envelope TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX results_task ON results (task_id, agent_id, created_at);
CREATE TABLE alerts (
    key TEXT PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES messages (id),
    created_at REAL NOT NULL
);
"""

MIGRATIONS: Final[tuple[str, ...]] = (_V1,)
SCHEMA_VERSION: Final = len(MIGRATIONS)


class StoreError(TeamAgentError):
    """The message store cannot be used: unreadable, corrupt, locked too long, too new."""


class NewerSchema(StoreError):
    """The database was written by a newer team-agent; this one refuses to touch it."""

    def __init__(self, path: str, found: int, known: int) -> None:
        self.found = found
        self.known = known
        super().__init__(
            f"{path} is at schema version {found}, written by a newer team-agent "
            f"(this one knows up to version {known}): upgrade team-agent"
        )


def statements(script: str) -> list[str]:
    """Split a migration into complete SQL statements (triggers and all).

    A trailing part without its `;` is kept as a statement unless it is only comments.
    """
    out: list[str] = []
    pending = ""
    pieces = script.split(";")
    for index, piece in enumerate(pieces):
        pending += piece if index == len(pieces) - 1 else piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \t\r\n;"):
                out.append(pending.strip())
            pending = ""
    code = [line for line in pending.splitlines() if not line.strip().startswith("--")]
    if "".join(code).strip():
        out.append(pending.strip())
    return out


def user_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(conn: sqlite3.Connection, path: str, migrations: Sequence[str] = MIGRATIONS) -> int:
    """Bring the database to `len(migrations)`; return the version it was at.

    `conn` must be in autocommit mode (`isolation_level=None`): the transaction here is
    explicit. Raises `NewerSchema` for a database past `len(migrations)`.
    """
    target = len(migrations)
    found = user_version(conn)
    if found == target:
        return found  # the common case costs one read, no write lock
    if found > target:
        raise NewerSchema(path, found, target)
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = _upgrade(conn, path, migrations)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return found


def _upgrade(conn: sqlite3.Connection, path: str, migrations: Sequence[str]) -> int:
    found = user_version(conn)  # someone may have migrated while we waited for the lock
    if found > len(migrations):
        raise NewerSchema(path, found, len(migrations))
    for script in migrations[found:]:
        for statement in statements(script):
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {len(migrations)}")
    return found


def prepare_file(path: Path) -> None:
    """Create the database file 0600 before SQLite does (it would use the umask).

    SQLite gives its `-wal` and `-shm` files the database file's mode. An existing file
    with wider permissions is narrowed, but only when we own it.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, _FILE_MODE)
        try:
            info = os.fstat(fd)
            if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) & 0o077:
                os.fchmod(fd, _FILE_MODE)
        finally:
            os.close(fd)
    except OSError as exc:
        raise StoreError(f"cannot create {path}: {exc.strerror or exc}") from exc


def connect(path: Path) -> sqlite3.Connection:
    """A configured connection (WAL, FULL sync, foreign keys, autocommit).

    Switching a fresh file to WAL takes an exclusive lock and SQLite does not run its busy
    handler for it, so processes opening a new store at the same moment retry that one
    step until `BUSY_TIMEOUT_SEC`.
    """
    with translated(path):
        conn = sqlite3.connect(
            str(path),
            timeout=BUSY_TIMEOUT_SEC,
            isolation_level=None,  # autocommit: every transaction here is explicit
            check_same_thread=False,  # the run loop's threads take turns (see MessageStore)
        )
        try:
            _set_wal(conn)
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            conn.close()
            raise
    return conn


def _set_wal(conn: sqlite3.Connection) -> None:
    """WAL mode, retried while another connection holds the lock."""
    retry_call(
        _is_locked, conn.execute, "PRAGMA journal_mode = WAL", within=BUSY_TIMEOUT_SEC, pause=0.01
    )


def _is_locked(exc: BaseException) -> bool:
    """SQLite's "database is locked", which it raises without its busy handler here."""
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


@contextlib.contextmanager
def translated(path: Path) -> Iterator[None]:
    """sqlite3's errors as `StoreError`, naming the file (callers need not know sqlite3)."""
    try:
        yield
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: {exc}") from exc


# -- the row-level statements the store's transactions are made of ----------------

# The latest task message per (task, worker) that no result answers yet. `add_result`
# marks every earlier task message of that worker and task `answered`, so this reads only
# open work (a partial index), not the whole history; a task sent again after its result
# is a new, unanswered message: new work.
OPEN_TASKS: Final = """
SELECT m.task, m.recipient, m.id, m.state, m.created_at
FROM messages AS m INDEXED BY messages_open_tasks
WHERE m.answered = 0 AND m.task IS NOT NULL AND m.kind = 'message' AND m.recipient != 'leader'
  AND NOT EXISTS (
    SELECT 1 FROM messages AS l
    WHERE l.answered = 0 AND l.task IS NOT NULL AND l.kind = 'message'
      AND l.task = m.task AND l.recipient = m.recipient AND l.seq > m.seq
  )
ORDER BY m.seq
"""
MARK_ANSWERED: Final = """
UPDATE messages SET answered = 1
WHERE answered = 0 AND task IS NOT NULL AND kind = 'message' AND task = ? AND recipient = ?
"""


def insert_message(
    conn: sqlite3.Connection,
    *,
    sender: str,
    recipient: str,
    body: str,
    task: str | None,
    kind: MessageKind,
    now: float,
    result_seq: int | None = None,
) -> MessageRecord:
    seq = next_seq(conn, "messages")
    record = MessageRecord(
        id=f"msg-{seq}",
        seq=seq,
        sender=sender,
        recipient=recipient,
        task=task,
        kind=kind,
        body=body,
        state="queued",
        attempts=0,
        entered=False,
        pane=None,
        created_at=now,
        updated_at=now,
        not_before=None,
        delivered_at=None,
        last_error=None,
    )
    conn.execute(
        "INSERT INTO messages (seq, id, sender, recipient, task, kind, body, state, attempts, "
        "entered, created_at, updated_at, result_seq) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', 0, 0, ?, ?, ?)",
        (seq, record.id, sender, recipient, task, kind, body, now, now, result_seq),
    )
    return record


def next_seq(conn: sqlite3.Connection, table: Literal["messages", "results"]) -> int:
    """The sequence number the next row gets (inside the write transaction: no race).

    As AUTOINCREMENT would choose it: above every seq ever used, deleted rows included.
    """
    row = conn.execute(
        f"SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = ?), 0), "
        f"COALESCE((SELECT MAX(seq) FROM {table}), 0)) + 1",
        (table,),
    ).fetchone()
    return int(row[0])


def get_message(conn: sqlite3.Connection, message_id: str) -> MessageRecord | None:
    row = conn.execute(
        f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?", (message_id,)
    ).fetchone()
    return message_from_row(row) if row is not None else None

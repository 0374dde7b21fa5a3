"""The message store: messages, results and alerts in `.team/messages.db` (SQLite, WAL).

Messages are resources like agents (docs: issue #6): `team-agent send` records the
intent here and returns; the reconciler reads a `StoreSnapshot` each pass, plans
deliveries, and the executor writes each step's outcome back. So the store is the one
place where a message's state lives, and its transitions are what make delivery
at-most-once:

    queued --begin_attempt--> delivering --mark_entered--> (entered) --mark_delivered--> delivered
       ^                          |                                       \\
       +------retry_later---------+                                        +--mark_failed--> failed

`mark_entered` is committed BEFORE the executor presses Enter, so a reconciler killed at
any moment can tell, after a restart, whether a submission may already have happened.
`delivered` and `failed` are final: no method moves a message out of them, and
`begin_attempt` returns None for them, so a late or repeated pass never delivers twice.

Concurrency: `send` and `report` run in other processes while the reconciler holds its
own connection, so every write is one short `BEGIN IMMEDIATE` transaction (writers queue
on SQLite's lock for up to `BUSY_TIMEOUT_SEC`, readers never wait in WAL mode), and ids
come from the row's sequence number inside that transaction (`msg-<seq>`, `res-<seq>`):
unique across processes without any lock of ours. The workspace lock is not needed.

The records it returns live in `reconciler.store.records`, the schema, migrations and
connection setup in `reconciler.store.schema`; both are re-exported here (`__all__`) so
callers import the store's API from one place. Callers that run every pass import this
module lazily (it loads sqlite3); `read_snapshot` creates nothing when no store exists.
Every method that stamps a time takes `now` (epoch seconds), so tests control time.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Final

from reconciler.api.status import MESSAGES_DB
from reconciler.store.records import (
    FINAL_STATES,
    LEADER,
    MESSAGE_COLUMNS,
    PENDING_STATES,
    RESULT_COLUMNS,
    SYSTEM_SENDER,
    MessageKind,
    MessageRecord,
    MessageState,
    OpenTask,
    ResultRecord,
    StoreSnapshot,
    message_from_row,
    result_from_row,
)
from reconciler.store.schema import (
    MARK_ANSWERED,
    OPEN_TASKS,
    SCHEMA_VERSION,
    NewerSchema,
    StoreError,
    connect,
    get_message,
    insert_message,
    migrate,
    next_seq,
    prepare_file,
    translated,
)

if TYPE_CHECKING:  # the envelope's models (pydantic) load only when a result is added
    from reconciler.api.envelope import ResultEnvelope
    from reconciler.api.spec import ResultFormat

__all__ = [
    "DB_FILE",
    "FINAL_STATES",
    "LEADER",
    "PENDING_STATES",
    "SCHEMA_VERSION",
    "SYSTEM_SENDER",
    "MessageKind",
    "MessageRecord",
    "MessageState",
    "MessageStore",
    "NewerSchema",
    "OpenTask",
    "ResultRecord",
    "StoreError",
    "StoreSnapshot",
]

DB_FILE: Final = MESSAGES_DB
_IN_PENDING: Final = "state IN ('queued', 'delivering')"


class MessageStore:
    """A connection to one workspace's message store. Use `open`; close it (or `with`).

    One instance is one SQLite connection: share it between threads only one call at a
    time (the reconciler's pass and its executor take turns).
    """

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path

    @classmethod
    def open(cls, state_dir: Path) -> MessageStore:
        """Open `<state_dir>/messages.db`, creating it (0600) and migrating as needed.

        Raises `StoreError` when the file cannot be created or read, is not a database,
        or was written by a newer team-agent (`NewerSchema`).
        """
        path = state_dir / DB_FILE
        prepare_file(path)
        conn = connect(path)
        try:
            with translated(path):
                migrate(conn, str(path))
        except BaseException:
            conn.close()
            raise
        return cls(conn, path)

    @classmethod
    def read_snapshot(cls, state_dir: Path, now: float) -> StoreSnapshot:
        """The pass's view of the store; `StoreSnapshot.EMPTY`, creating nothing, without one."""
        if not (state_dir / DB_FILE).exists():
            return StoreSnapshot.EMPTY
        with cls.open(state_dir) as store:
            return store.snapshot(now)

    @staticmethod
    def exists(state_dir: Path) -> bool:
        """Whether a store was ever created here (readers show nothing when not)."""
        return (state_dir / DB_FILE).exists()

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> MessageStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writes ---------------------------------------------------------------------

    def send(
        self,
        *,
        sender: str,
        recipients: Sequence[str],
        body: str,
        task: str | None,
        now: float,
        kind: MessageKind = "message",
    ) -> list[MessageRecord]:
        """Queue one message per recipient, all in one transaction (all or none)."""
        if not recipients:
            raise ValueError("a message needs at least one recipient")
        with self._write() as conn:
            return [
                insert_message(
                    conn, sender=sender, recipient=r, body=body, task=task, kind=kind, now=now
                )
                for r in recipients
            ]

    def begin_attempt(self, message_id: str, *, pane: str, now: float) -> MessageRecord | None:
        """queued|delivering -> delivering, one more attempt, on `pane`; None when final.

        None also for an unknown id. The executor calls it right before pasting, so a
        message that another pass (or a restarted reconciler) already finished is never
        pasted again.
        """
        with self._write() as conn:
            record = get_message(conn, message_id)
            if record is None or record.state not in PENDING_STATES:
                return None
            conn.execute(
                "UPDATE messages SET state = 'delivering', attempts = attempts + 1, pane = ?, "
                "updated_at = ? WHERE id = ?",
                (pane, now, message_id),
            )
            return replace(
                record, state="delivering", attempts=record.attempts + 1, pane=pane, updated_at=now
            )

    def mark_entered(self, message_id: str, *, now: float) -> bool:
        """Record that Enter is about to be pressed; commit this BEFORE pressing it."""
        return self._update(message_id, "entered = 1", (), now=now, states=("delivering",))

    def mark_delivered(self, message_id: str, *, now: float) -> bool:
        """delivering|queued -> delivered (final)."""
        return self._update(
            message_id,
            "state = 'delivered', delivered_at = ?, not_before = NULL",
            (now,),
            now=now,
            states=PENDING_STATES,
        )

    def mark_failed(self, message_id: str, error: str, *, now: float) -> bool:
        """delivering|queued -> failed (final), with the reason."""
        return self._update(
            message_id,
            "state = 'failed', last_error = ?, not_before = NULL",
            (error,),
            now=now,
            states=PENDING_STATES,
        )

    def retry_later(self, message_id: str, error: str, *, not_before: float, now: float) -> bool:
        """Back to queued after a failed attempt; `entered` stays as it was."""
        return self._update(
            message_id,
            "state = 'queued', last_error = ?, not_before = ?",
            (error, not_before),
            now=now,
            states=PENDING_STATES,
        )

    def defer(self, message_id: str, reason: str, *, not_before: float, now: float) -> bool:
        """The target cannot take input yet (busy, a dialog): no attempt counted."""
        return self._update(
            message_id,
            "last_error = ?, not_before = ?",
            (reason, not_before),
            now=now,
            states=PENDING_STATES,
        )

    def add_result(
        self,
        envelope: ResultEnvelope,
        *,
        now: float,
        notify: str | None,
        result_format: ResultFormat = "envelope-v1",
    ) -> tuple[ResultRecord, MessageRecord | None]:
        """Store a result and, when `notify` names someone, one `result` message to them.

        All in one transaction: a result is never stored without its notice nor noticed
        twice, and the task messages it answers leave `open_tasks` with it. No notice goes
        to the reporter itself (a leader recording its own result would otherwise message
        itself, and a fake leader would answer that forever).
        """
        from reconciler.api.envelope import render_result

        with self._write() as conn:
            seq = next_seq(conn, "results")
            record = ResultRecord(
                id=f"res-{seq}",
                seq=seq,
                task_id=envelope.task_id,
                agent_id=envelope.agent_id,
                status=envelope.status,
                summary=envelope.summary,
                envelope=envelope,
                created_at=now,
            )
            conn.execute(
                f"INSERT INTO results ({RESULT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    seq,
                    record.task_id,
                    record.agent_id,
                    record.status,
                    record.summary,
                    envelope.model_dump_json(),
                    now,
                ),
            )
            if envelope.task_id is not None:
                conn.execute(MARK_ANSWERED, (envelope.task_id, envelope.agent_id))
            message = None
            if notify is not None and notify != envelope.agent_id:
                message = insert_message(
                    conn,
                    sender=envelope.agent_id,
                    recipient=notify,
                    body=render_result(envelope, result_format),
                    task=envelope.task_id,
                    kind="result",
                    now=now,
                    result_seq=seq,
                )
            return record, message

    def raise_alert(
        self, key: str, *, recipient: str, body: str, kind: MessageKind, now: float
    ) -> MessageRecord | None:
        """Queue an alert once per `key` (an episode: "stuck:impl:<since>"); None if raised."""
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM alerts WHERE key = ?", (key,)).fetchone():
                return None
            record = insert_message(
                conn,
                sender=SYSTEM_SENDER,
                recipient=recipient,
                body=body,
                task=None,
                kind=kind,
                now=now,
            )
            conn.execute(
                "INSERT INTO alerts (key, message_id, created_at) VALUES (?, ?, ?)",
                (key, record.id, now),
            )
            return record

    # -- reads ----------------------------------------------------------------------

    def get(self, message_id: str) -> MessageRecord | None:
        with self._read() as conn:
            return get_message(conn, message_id)

    def snapshot(self, now: float) -> StoreSnapshot:
        """Pending messages, open tasks and counts, from one consistent read.

        `pending` holds every queued or delivering message whatever its `not_before`:
        the plan compares with `now` itself, and needs the waiting ones to know when to
        come back.
        """
        del now  # part of the pass's inputs; nothing stored depends on it (see above)
        with self._read() as conn:
            pending = conn.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE {_IN_PENDING} ORDER BY seq"
            ).fetchall()
            counts = dict(conn.execute("SELECT state, COUNT(*) FROM messages GROUP BY state"))
            tasks = conn.execute(OPEN_TASKS).fetchall()
        return StoreSnapshot(
            pending=tuple(message_from_row(row) for row in pending),
            open_tasks=tuple(
                OpenTask(task=t, agent=a, message_id=m, state=s, since=c) for t, a, m, s, c in tasks
            ),
            failed_count=int(counts.get("failed", 0)),
            delivered_count=int(counts.get("delivered", 0)),
        )

    def inbox(self, agent: str, *, since: float | None = None) -> list[MessageRecord]:
        """Every message to `agent` (any state), oldest first; from `since` when given."""
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE recipient = ? "
                "AND created_at >= ? ORDER BY seq",
                (agent, since if since is not None else float("-inf")),
            ).fetchall()
        return [message_from_row(row) for row in rows]

    def results(
        self, *, since: float | None = None, task: str | None = None, agent: str | None = None
    ) -> list[ResultRecord]:
        """Results, oldest first, filtered by any of time, task and agent."""
        where = ["created_at >= ?"]
        params: list[object] = [since if since is not None else float("-inf")]
        if task is not None:
            where.append("task_id = ?")
            params.append(task)
        if agent is not None:
            where.append("agent_id = ?")
            params.append(agent)
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {RESULT_COLUMNS} FROM results WHERE {' AND '.join(where)} ORDER BY seq",
                params,
            ).fetchall()
        return [result_from_row(row) for row in rows]

    # -- plumbing -------------------------------------------------------------------

    def _update(
        self,
        message_id: str,
        assignments: str,
        params: tuple[object, ...],
        *,
        now: float,
        states: Sequence[MessageState],
    ) -> bool:
        """One guarded transition: applies only from `states`; True when it applied."""
        marks = ", ".join("?" for _ in states)
        with self._write() as conn:
            cursor = conn.execute(
                f"UPDATE messages SET {assignments}, updated_at = ? "
                f"WHERE id = ? AND state IN ({marks})",
                (*params, now, message_id, *states),
            )
            return cursor.rowcount == 1

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._transaction("BEGIN IMMEDIATE") as conn:
            yield conn

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._transaction("BEGIN") as conn:
            yield conn

    @contextlib.contextmanager
    def _transaction(self, begin: str) -> Iterator[sqlite3.Connection]:
        conn = self._conn
        with translated(self.path):
            conn.execute(begin)
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.rollback()
                raise

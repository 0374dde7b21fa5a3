"""The message store on a real SQLite file: migrations, transitions, concurrency, alerts."""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from reconciler.api.envelope import ResultEnvelope, render_result
from reconciler.store.messages import (
    DB_FILE,
    LEADER,
    SCHEMA_VERSION,
    SYSTEM_SENDER,
    MessageRecord,
    MessageState,
    MessageStore,
    NewerSchema,
    OpenTask,
    StoreError,
    StoreSnapshot,
)
from reconciler.store.schema import MIGRATIONS, migrate, statements
from reconciler.store.statusfile import ensure_state_dir

T0 = 1_800_000_000.0


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return ensure_state_dir(tmp_path)


@pytest.fixture
def store(state: Path) -> Iterator[MessageStore]:
    with MessageStore.open(state) as opened:
        yield opened


def raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(str(path), isolation_level=None)


def version_of(path: Path) -> int:
    conn = raw(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def send_one(store: MessageStore, to: str = "impl", *, task: str | None = None) -> MessageRecord:
    return store.send(sender=LEADER, recipients=[to], body="hello", task=task, now=T0)[0]


def envelope(agent: str = "impl", task: str | None = "T1", **extra: Any) -> ResultEnvelope:
    return ResultEnvelope.model_validate(
        {"agent_id": agent, "task_id": task, "status": "done", "summary": "did it", **extra}
    )


# -- migrations -------------------------------------------------------------------------


def test_fresh_store_is_at_schema_version_in_wal_mode(state: Path) -> None:
    with MessageStore.open(state) as store:
        send_one(store)
        path = state / DB_FILE
        assert version_of(path) == SCHEMA_VERSION == len(MIGRATIONS)
        conn = raw(path)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"messages", "results", "alerts"} <= tables
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.close()


def test_reopening_a_current_store_keeps_its_rows(state: Path) -> None:
    with MessageStore.open(state) as store:
        sent = send_one(store)
    with MessageStore.open(state) as store:
        assert store.get(sent.id) == sent


def test_version_0_database_with_data_is_upgraded_and_its_data_kept(state: Path) -> None:
    path = state / DB_FILE
    conn = raw(path)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.executemany("INSERT INTO notes VALUES (?)", [("kept 1",), ("kept 2",)])
    conn.close()
    assert version_of(path) == 0
    with MessageStore.open(state) as store:
        sent = send_one(store)
        assert store.get(sent.id) == sent
    assert version_of(path) == SCHEMA_VERSION
    conn = raw(path)
    assert [r[0] for r in conn.execute("SELECT body FROM notes")] == ["kept 1", "kept 2"]
    conn.close()


def test_a_later_migration_upgrades_rows_in_place(state: Path) -> None:
    """The chain mechanism as the next migration will use it: v1 rows survive into v2."""
    with MessageStore.open(state) as store:
        sent = send_one(store)
    v2 = (*MIGRATIONS, "ALTER TABLE messages ADD COLUMN priority INTEGER NOT NULL DEFAULT 5;")
    conn = raw(state / DB_FILE)
    assert migrate(conn, "db", v2) == SCHEMA_VERSION
    assert migrate(conn, "db", v2) == len(v2)  # already there: nothing to do
    row = conn.execute("SELECT id, body, priority FROM messages").fetchone()
    conn.close()
    assert row == (sent.id, "hello", 5)
    assert version_of(state / DB_FILE) == len(v2)


def test_a_failing_migration_leaves_the_old_version_untouched(state: Path) -> None:
    broken = (*MIGRATIONS, "CREATE TABLE extra (x INTEGER); INSERT INTO nowhere VALUES (1);")
    conn = raw(state / DB_FILE)
    with pytest.raises(sqlite3.OperationalError, match="nowhere"):
        migrate(conn, "db", broken)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    assert version_of(state / DB_FILE) == 0
    assert "messages" not in tables and "extra" not in tables


def test_a_newer_database_is_refused_with_a_clear_error(state: Path) -> None:
    with MessageStore.open(state) as store:
        send_one(store)
    conn = raw(state / DB_FILE)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(NewerSchema, match="written by a newer team-agent") as caught:
        MessageStore.open(state)
    assert caught.value.found == SCHEMA_VERSION + 1
    assert str(state / DB_FILE) in str(caught.value)
    with pytest.raises(StoreError, match="upgrade team-agent"):
        MessageStore.read_snapshot(state, T0)
    assert version_of(state / DB_FILE) == SCHEMA_VERSION + 1


def test_a_file_that_is_not_a_database_is_a_store_error(state: Path) -> None:
    (state / DB_FILE).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match=DB_FILE):
        MessageStore.open(state)


def test_statements_keep_trigger_bodies_whole() -> None:
    script = """
    CREATE TABLE t (x);
    CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET x = 1; DELETE FROM t; END;
    -- a comment
    """
    got = statements(script)
    assert len(got) == 2
    assert got[1].startswith("CREATE TRIGGER") and got[1].endswith("END;")
    assert statements("CREATE TABLE a (x);; CREATE TABLE b (y)") == [
        "CREATE TABLE a (x);",
        "CREATE TABLE b (y)",
    ]


# -- files -------------------------------------------------------------------------------


def test_files_are_0600(state: Path) -> None:
    with MessageStore.open(state) as store:
        send_one(store)  # WAL and shared-memory files exist while a connection is open
        for name in (DB_FILE, f"{DB_FILE}-wal", f"{DB_FILE}-shm"):
            assert stat.S_IMODE((state / name).stat().st_mode) == 0o600, name


def test_an_existing_wider_file_is_narrowed(state: Path) -> None:
    path = state / DB_FILE
    path.touch()
    path.chmod(0o644)
    MessageStore.open(state).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_read_snapshot_without_a_store_is_empty_and_creates_nothing(tmp_path: Path) -> None:
    assert MessageStore.read_snapshot(tmp_path / ".team", T0) is StoreSnapshot.EMPTY
    assert not (tmp_path / ".team").exists()
    state = ensure_state_dir(tmp_path)
    assert MessageStore.read_snapshot(state, T0) is StoreSnapshot.EMPTY
    assert list(state.iterdir()) == []


# -- transitions -------------------------------------------------------------------------


def put_in(store: MessageStore, state: MessageState) -> MessageRecord:
    record = send_one(store)
    if state != "queued":
        assert store.begin_attempt(record.id, pane="%1", now=T0 + 1) is not None
    if state == "delivered":
        assert store.mark_delivered(record.id, now=T0 + 2)
    if state == "failed":
        assert store.mark_failed(record.id, "first failure", now=T0 + 2)
    got = store.get(record.id)
    assert got is not None and got.state == state
    return got


Op = Callable[[MessageStore, str], object]


class Transition(NamedTuple):
    start: MessageState
    op: str
    applied: bool
    end: MessageState


OPS: dict[str, Op] = {
    "begin_attempt": lambda s, i: s.begin_attempt(i, pane="%9", now=T0 + 10),
    "mark_entered": lambda s, i: s.mark_entered(i, now=T0 + 10),
    "mark_delivered": lambda s, i: s.mark_delivered(i, now=T0 + 10),
    "mark_failed": lambda s, i: s.mark_failed(i, "gone", now=T0 + 10),
    "retry_later": lambda s, i: s.retry_later(i, "flaky", not_before=T0 + 20, now=T0 + 10),
    "defer": lambda s, i: s.defer(i, "busy", not_before=T0 + 15, now=T0 + 10),
}

TRANSITIONS = [
    Transition("queued", "begin_attempt", True, "delivering"),
    Transition("delivering", "begin_attempt", True, "delivering"),
    Transition("delivered", "begin_attempt", False, "delivered"),
    Transition("failed", "begin_attempt", False, "failed"),
    Transition("queued", "mark_entered", False, "queued"),
    Transition("delivering", "mark_entered", True, "delivering"),
    Transition("delivered", "mark_entered", False, "delivered"),
    Transition("failed", "mark_entered", False, "failed"),
    Transition("queued", "mark_delivered", True, "delivered"),
    Transition("delivering", "mark_delivered", True, "delivered"),
    Transition("delivered", "mark_delivered", False, "delivered"),
    Transition("failed", "mark_delivered", False, "failed"),
    Transition("queued", "mark_failed", True, "failed"),
    Transition("delivering", "mark_failed", True, "failed"),
    Transition("delivered", "mark_failed", False, "delivered"),
    Transition("failed", "mark_failed", False, "failed"),
    Transition("queued", "retry_later", True, "queued"),
    Transition("delivering", "retry_later", True, "queued"),
    Transition("delivered", "retry_later", False, "delivered"),
    Transition("failed", "retry_later", False, "failed"),
    Transition("queued", "defer", True, "queued"),
    Transition("delivering", "defer", True, "delivering"),
    Transition("delivered", "defer", False, "delivered"),
    Transition("failed", "defer", False, "failed"),
]


@pytest.mark.parametrize("case", TRANSITIONS, ids=[f"{t.op}-from-{t.start}" for t in TRANSITIONS])
def test_transition(store: MessageStore, case: Transition) -> None:
    before = put_in(store, case.start)
    returned = OPS[case.op](store, before.id)
    after = store.get(before.id)
    assert after is not None
    assert after.state == case.end
    if case.op == "begin_attempt":
        assert (returned is not None) == case.applied
        if returned is not None:
            assert returned == after
    else:
        assert returned is case.applied
    if not case.applied:
        assert after == before  # a refused transition changes nothing, not even updated_at
        return
    assert after.updated_at == T0 + 10
    expected = {
        "begin_attempt": {"attempts": before.attempts + 1, "pane": "%9"},
        "mark_entered": {"entered": True},
        "mark_delivered": {"delivered_at": T0 + 10, "not_before": None},
        "mark_failed": {"last_error": "gone", "not_before": None},
        "retry_later": {"last_error": "flaky", "not_before": T0 + 20},
        "defer": {"last_error": "busy", "not_before": T0 + 15, "attempts": before.attempts},
    }[case.op]
    assert {key: getattr(after, key) for key in expected} == expected


def test_unknown_ids_change_nothing(store: MessageStore) -> None:
    assert store.get("msg-404") is None
    assert store.begin_attempt("msg-404", pane="%1", now=T0) is None
    assert store.mark_delivered("msg-404", now=T0) is False


def test_retry_after_enter_keeps_the_entered_mark(store: MessageStore) -> None:
    record = send_one(store)
    store.begin_attempt(record.id, pane="%1", now=T0)
    store.mark_entered(record.id, now=T0)
    store.retry_later(record.id, "not seen after Enter", not_before=T0 + 5, now=T0 + 1)
    after = store.get(record.id)
    assert after is not None
    assert (after.state, after.entered, after.attempts, after.pane) == ("queued", True, 1, "%1")


def test_a_delivered_message_is_never_attempted_again_by_another_connection(
    state: Path, store: MessageStore
) -> None:
    """Two reconcilers (or one restarted) racing on one message: the second gets None."""
    record = send_one(store)
    with MessageStore.open(state) as other:
        first = store.begin_attempt(record.id, pane="%1", now=T0)
        assert first is not None and first.attempts == 1
        assert store.mark_entered(record.id, now=T0)
        assert store.mark_delivered(record.id, now=T0 + 1)
        assert other.begin_attempt(record.id, pane="%1", now=T0 + 2) is None
        assert other.mark_failed(record.id, "late failure", now=T0 + 2) is False
    final = store.get(record.id)
    assert final is not None
    assert (final.state, final.attempts, final.last_error) == ("delivered", 1, None)


# -- sending, reading --------------------------------------------------------------------


def test_send_queues_one_record_per_recipient_with_sequential_ids(store: MessageStore) -> None:
    records = store.send(
        sender="impl", recipients=["review", LEADER], body="a\nb", task="T7", now=T0
    )
    assert [(r.id, r.seq, r.recipient) for r in records] == [
        ("msg-1", 1, "review"),
        ("msg-2", 2, LEADER),
    ]
    assert [store.get(r.id) for r in records] == records
    first = records[0]
    assert (first.state, first.attempts, first.entered, first.kind) == (
        "queued",
        0,
        False,
        "message",
    )
    assert first.header() == "[team-agent] msg-1 from impl task=T7"
    assert first.text() == "[team-agent] msg-1 from impl task=T7\na\nb"
    untasked = send_one(store)
    assert untasked.header() == "[team-agent] msg-3 from leader"
    with pytest.raises(ValueError, match="recipient"):
        store.send(sender=LEADER, recipients=[], body="x", task=None, now=T0)


def test_snapshot_lists_pending_by_seq_and_counts_the_rest(store: MessageStore) -> None:
    a, b, c, d = (send_one(store, to) for to in ("impl", "review", "impl", "review"))
    store.begin_attempt(b.id, pane="%2", now=T0)
    store.mark_delivered(c.id, now=T0)
    store.mark_failed(d.id, "x", now=T0)
    store.defer(a.id, "busy", not_before=T0 + 99, now=T0)
    snap = store.snapshot(T0)
    assert [(m.id, m.state) for m in snap.pending] == [(a.id, "queued"), (b.id, "delivering")]
    assert snap.pending[0].not_before == T0 + 99  # waiting ones are listed: the plan decides
    assert (snap.delivered_count, snap.failed_count) == (1, 1)
    assert MessageStore.read_snapshot(store.path.parent, T0) == snap


def test_inbox_is_per_recipient_and_since(store: MessageStore) -> None:
    early = store.send(sender=LEADER, recipients=["impl"], body="1", task=None, now=T0)[0]
    store.send(sender=LEADER, recipients=["review"], body="2", task=None, now=T0 + 5)
    late = store.send(sender=LEADER, recipients=["impl"], body="3", task=None, now=T0 + 10)[0]
    assert store.inbox("impl") == [early, late]
    assert store.inbox("impl", since=T0 + 10) == [late]
    assert store.inbox("nobody") == []


# -- results, alerts, open tasks ---------------------------------------------------------


def test_add_result_notifies_the_leader_once_in_the_same_transaction(store: MessageStore) -> None:
    env = envelope(changes=["a.py"])
    result, message = store.add_result(env, now=T0, notify=LEADER)
    assert (result.id, result.task_id, result.agent_id, result.status) == (
        "res-1",
        "T1",
        "impl",
        "done",
    )
    assert store.results() == [result]
    assert message is not None
    assert (message.sender, message.recipient, message.kind, message.task) == (
        "impl",
        LEADER,
        "result",
        "T1",
    )
    assert message.body == render_result(env, "envelope-v1")
    assert store.inbox(LEADER) == [message]
    _, text_message = store.add_result(env, now=T0 + 1, notify=LEADER, result_format="text")
    assert text_message is not None and text_message.body == render_result(env, "text")


def test_add_result_without_notify_or_to_oneself_sends_nothing(store: MessageStore) -> None:
    assert store.add_result(envelope(), now=T0, notify=None)[1] is None
    assert store.add_result(envelope(agent=LEADER), now=T0, notify=LEADER)[1] is None
    assert store.inbox(LEADER) == []
    assert [r.id for r in store.results()] == ["res-1", "res-2"]


def test_add_result_is_all_or_nothing(state: Path, store: MessageStore) -> None:
    conn = raw(state / DB_FILE)
    conn.execute(
        "CREATE TRIGGER no_notices BEFORE INSERT ON messages WHEN NEW.kind = 'result' "
        "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
    )
    conn.close()
    with pytest.raises(StoreError, match="injected failure"):
        store.add_result(envelope(), now=T0, notify=LEADER)
    assert store.results() == []
    assert store.add_result(envelope(), now=T0, notify=None)[0].id == "res-1"


def test_results_filters(store: MessageStore) -> None:
    a = store.add_result(envelope("impl", "T1"), now=T0, notify=None)[0]
    b = store.add_result(envelope("review", "T1"), now=T0 + 5, notify=None)[0]
    c = store.add_result(envelope("impl", "T2"), now=T0 + 10, notify=None)[0]
    assert store.results(task="T1") == [a, b]
    assert store.results(agent="impl") == [a, c]
    assert store.results(since=T0 + 5) == [b, c]
    assert store.results(task="T1", agent="review", since=T0 + 1) == [b]
    assert c.envelope == envelope("impl", "T2")


def test_raise_alert_is_idempotent_per_key(store: MessageStore, state: Path) -> None:
    first = store.raise_alert(
        "stuck:impl:1", recipient=LEADER, body="impl is stuck", kind="alert", now=T0
    )
    assert first is not None
    assert (first.sender, first.kind, first.recipient) == (SYSTEM_SENDER, "alert", LEADER)
    with MessageStore.open(state) as other:
        again = other.raise_alert("stuck:impl:1", recipient=LEADER, body="x", kind="alert", now=T0)
    assert again is None
    second = store.raise_alert("idle:2", recipient=LEADER, body="idle", kind="reminder", now=T0)
    assert second is not None and second.kind == "reminder"
    assert [m.id for m in store.inbox(LEADER)] == [first.id, second.id]


def test_open_tasks(store: MessageStore) -> None:
    def task(to: str, name: str, at: float) -> MessageRecord:
        return store.send(sender=LEADER, recipients=[to], body="do", task=name, now=at)[0]

    t1_impl = task("impl", "T1", T0)
    t1_review = task("review", "T1", T0)
    store.send(sender=LEADER, recipients=["impl"], body="no task", task=None, now=T0)
    task(LEADER, "T9", T0)  # to the leader: not a worker's task
    t3_old = task("impl", "T3", T0)
    t3_new = task("impl", "T3", T0 + 1)
    store.add_result(envelope("impl", "T1"), now=T0 + 2, notify=LEADER)  # answers impl's T1 only
    store.add_result(envelope("review", "T2"), now=T0 + 2, notify=None)  # another task
    open_now = {(o.task, o.agent): o for o in store.snapshot(T0).open_tasks}
    assert set(open_now) == {("T1", "review"), ("T3", "impl")}
    assert open_now["T1", "review"] == OpenTask("T1", "review", t1_review.id, "queued", T0)
    assert open_now["T3", "impl"].message_id == t3_new.id != t3_old.id
    again = task("impl", "T1", T0 + 3)  # the same task sent again after its result: new work
    reopened = {(o.task, o.agent): o for o in store.snapshot(T0).open_tasks}
    assert reopened["T1", "impl"].message_id == again.id != t1_impl.id

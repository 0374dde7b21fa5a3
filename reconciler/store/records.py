"""What the message store hands out: frozen records of messages, results and open tasks.

Plain data, so controllers can plan from a `StoreSnapshot` without touching SQLite
(`reconciler.store.messages` reads it once per pass), and so the columns and the fields are
declared side by side: `MESSAGE_COLUMNS` lists exactly the fields of `MessageRecord` in
order, and `message_from_row` zips a row back into them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal, cast

if TYPE_CHECKING:
    from reconciler.api.envelope import ResultEnvelope

SYSTEM_SENDER: Final = "team-agent"  # the sender of alerts and reminders
LEADER: Final = "leader"

MessageState = Literal["queued", "delivering", "delivered", "failed"]
MessageKind = Literal["message", "result", "alert", "reminder"]
PENDING_STATES: Final[tuple[MessageState, ...]] = ("queued", "delivering")
FINAL_STATES: Final[tuple[MessageState, ...]] = ("delivered", "failed")


@dataclass(frozen=True)
class MessageRecord:
    """One message as stored; `text()` is exactly what is pasted into the recipient's pane."""

    id: str  # "msg-<seq>"
    seq: int
    sender: str
    recipient: str
    task: str | None
    kind: MessageKind
    body: str
    state: MessageState
    attempts: int
    entered: bool  # Enter was pressed (or about to be) for this message
    pane: str | None  # the pane of the latest delivery attempt
    created_at: float  # epoch seconds, as every time here
    updated_at: float
    not_before: float | None  # no attempt before this time (a retry's backoff, a busy pane)
    delivered_at: float | None
    last_error: str | None

    def header(self) -> str:
        """`[team-agent] msg-7 from leader task=T1` (the task part only when set)."""
        task = f" task={self.task}" if self.task else ""
        return f"[team-agent] {self.id} from {self.sender}{task}"

    def text(self) -> str:
        return f"{self.header()}\n{self.body}"


@dataclass(frozen=True)
class ResultRecord:
    """One reported result; `envelope` is the whole report, the rest is for lookups."""

    id: str  # "res-<seq>"
    seq: int
    task_id: str | None
    agent_id: str
    status: str
    summary: str
    envelope: ResultEnvelope
    created_at: float


@dataclass(frozen=True)
class OpenTask:
    """The latest task message to a worker that no result from that worker answers yet."""

    task: str
    agent: str
    message_id: str
    state: MessageState
    since: float  # when that message was sent


@dataclass(frozen=True)
class StoreSnapshot:
    """What one pass reads, in one read transaction (a consistent view)."""

    pending: tuple[MessageRecord, ...]  # queued or delivering, by seq, whatever not_before
    open_tasks: tuple[OpenTask, ...]
    failed_count: int
    delivered_count: int

    EMPTY: ClassVar[StoreSnapshot]


StoreSnapshot.EMPTY = StoreSnapshot(pending=(), open_tasks=(), failed_count=0, delivered_count=0)

MESSAGE_COLUMNS: Final = (
    "id, seq, sender, recipient, task, kind, body, state, attempts, entered, pane, "
    "created_at, updated_at, not_before, delivered_at, last_error"
)
RESULT_COLUMNS: Final = "id, seq, task_id, agent_id, status, summary, envelope, created_at"


def message_from_row(row: tuple[Any, ...]) -> MessageRecord:
    """A row selected as `MESSAGE_COLUMNS`, as a record."""
    return MessageRecord(
        id=row[0],
        seq=row[1],
        sender=row[2],
        recipient=row[3],
        task=row[4],
        kind=cast("MessageKind", row[5]),
        body=row[6],
        state=cast("MessageState", row[7]),
        attempts=row[8],
        entered=bool(row[9]),
        pane=row[10],
        created_at=row[11],
        updated_at=row[12],
        not_before=row[13],
        delivered_at=row[14],
        last_error=row[15],
    )


def result_from_row(row: tuple[Any, ...]) -> ResultRecord:
    """A row selected as `RESULT_COLUMNS`, as a record (the envelope parsed back).

    The envelope's model (pydantic) is imported here, not with the module: `inbox` and
    `send` read and write messages only, on an agent's every turn."""
    from reconciler.api.envelope import ResultEnvelope

    return ResultRecord(
        id=row[0],
        seq=row[1],
        task_id=row[2],
        agent_id=row[3],
        status=row[4],
        summary=row[5],
        envelope=ResultEnvelope.model_validate_json(row[6]),
        created_at=row[7],
    )

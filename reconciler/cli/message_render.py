"""Output of the message verbs: rich tables for people, stable JSON for tools.

`-o json` is the machine contract (DESIGN.md, CLI): lists of objects whose keys are the
store's field names in camelCase, times as RFC 3339 UTC strings (`format_time`), absent
values as `null`. Tables are for people and may change; cells are plain `Text`, never
rich markup, because bodies and summaries are other programs' text (`[result]` must print
as written, not be taken for a style).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Literal

from reconciler.api import conditions as C
from reconciler.api.clock import format_epoch, parse_time
from reconciler.api.status import TeamStatus
from reconciler.cli import output
from reconciler.cli.output import Output
from reconciler.store.freshness import describe_age
from reconciler.store.records import MessageRecord, ResultRecord

ListFormat = Literal["table", "json"]
_PREVIEW_CHARS = 72


def iso(epoch: float | None) -> str | None:
    """Epoch seconds as `2026-11-25T09:00:00Z`; None stays None."""
    if epoch is None:
        return None
    return format_epoch(epoch)


def message_json(record: MessageRecord) -> dict[str, object]:
    return {
        "id": record.id,
        "seq": record.seq,
        "sender": record.sender,
        "recipient": record.recipient,
        "task": record.task,
        "kind": record.kind,
        "state": record.state,
        "attempts": record.attempts,
        "createdAt": iso(record.created_at),
        "updatedAt": iso(record.updated_at),
        "deliveredAt": iso(record.delivered_at),
        "notBefore": iso(record.not_before),
        "lastError": record.last_error,
        "body": record.body,
    }


def result_json(record: ResultRecord) -> dict[str, object]:
    return {
        "id": record.id,
        "taskId": record.task_id,
        "agentId": record.agent_id,
        "status": record.status,
        "summary": record.summary,
        "envelope": record.envelope.model_dump(mode="json"),
        "createdAt": iso(record.created_at),
    }


def approvals_json(status: TeamStatus | None) -> list[dict[str, object]]:
    """Agents whose Ready condition says AwaitingApproval, with what they ask, by agent id."""
    rows: list[dict[str, object]] = []
    if status is None:
        return rows
    for name, agent in sorted(status.agents.items()):
        ready = C.find_condition(agent.conditions, C.READY)
        if ready is None or ready.status != C.FALSE or ready.reason != C.AWAITING_APPROVAL:
            continue
        approval = agent.approval
        rows.append(
            {
                "agent": name,
                "tool": approval.tool if approval else None,
                "prompt": approval.prompt if approval else None,
                "since": approval.since if approval else ready.lastTransitionTime,
                "paneId": agent.paneId,
                "message": ready.message,
            }
        )
    return rows


def print_json(rows: object, console: Output) -> None:
    console.file.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")


def render_messages(
    records: Sequence[MessageRecord], fmt: ListFormat, console: Output, *, now: float
) -> None:
    if fmt == "json":
        print_json([message_json(r) for r in records], console)
        return
    table = output.table("ID", "FROM", "TO", "KIND", "TASK", "STATE", "TRIES", "AGE", "MESSAGE")
    for r in records:
        note = f"  [{r.last_error}]" if r.last_error and r.state != "delivered" else ""
        table.add_row(
            *output.cells(
                r.id,
                r.sender,
                r.recipient,
                r.kind,
                r.task or "-",
                r.state,
                str(r.attempts),
                _ago(now - r.created_at),
                preview(r.body) + note,
            )
        )
    console.print(table)


def render_results(
    records: Sequence[ResultRecord], fmt: ListFormat, console: Output, *, now: float
) -> None:
    if fmt == "json":
        print_json([result_json(r) for r in records], console)
        return
    table = output.table("ID", "TASK", "AGENT", "STATUS", "AGE", "SUMMARY")
    for r in records:
        table.add_row(
            *output.cells(
                r.id,
                r.task_id or "-",
                r.agent_id,
                r.status,
                _ago(now - r.created_at),
                preview(r.summary),
            )
        )
    console.print(table)


def render_approvals(status: TeamStatus | None, fmt: ListFormat, console: Output) -> None:
    rows = approvals_json(status)
    if fmt == "json":
        print_json(rows, console)
        return
    table = output.table("AGENT", "TOOL", "PANE", "AGE", "PROMPT")
    now = datetime.now(timezone.utc)
    for row in rows:
        since = row["since"]
        age = _ago((now - parse_time(since)).total_seconds()) if isinstance(since, str) else "-"
        table.add_row(
            *output.cells(
                str(row["agent"]),
                str(row["tool"] or "-"),
                str(row["paneId"] or "-"),
                age,
                preview(str(row["prompt"] or row["message"] or "")),
            )
        )
    console.print(table)


def preview(text: str) -> str:
    """The first non-blank line, cut to fit a table, with how much more there is."""
    lines = text.splitlines() or [""]
    first = next((line for line in lines if line.strip()), "").strip()
    if len(first) > _PREVIEW_CHARS:
        first = first[: _PREVIEW_CHARS - 1] + "…"
    more = len(lines) - 1
    return f"{first} (+{more} lines)" if more > 0 else first


def _ago(seconds: float) -> str:
    return describe_age(max(0, int(seconds)))

"""Verbs for results: `report` (a worker hands back a result envelope) and `results`.

`report` stores the envelope and, when `communication.leader_receives_results` holds,
one short `result` message to the leader in the same transaction (`MessageStore.add_result`),
appends a `Result` event and wakes the reconciler, which delivers that message like any
other. Run from a worker's pane it needs no `-f` (see `reconciler.cli.place`).
Invalid envelopes exit 2 naming the field; nothing is stored then.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import NoReturn

import click
from pydantic import ValidationError

from reconciler.api.clock import format_time
from reconciler.api.envelope import ResultEnvelope
from reconciler.api.errors import StateUnwritable
from reconciler.api.events import NORMAL, Event
from reconciler.api.exitcodes import EXIT_SPEC_INVALID, EXIT_UNUSABLE
from reconciler.api.launch import ENV_AGENT_ID
from reconciler.cli.message_render import (
    ListFormat,
    message_json,
    print_json,
    render_results,
    result_json,
)
from reconciler.cli.place import (
    LIST_OUTPUT,
    ONE_OUTPUT,
    check_member,
    open_store,
    place,
    since_arg,
    state_dir_of,
    wake,
)
from reconciler.cli.util import console, fail
from reconciler.store.eventlog import EventLog
from reconciler.store.messages import LEADER, MessageStore, ResultRecord, StoreError

RESULT_EVENT_REASON = "Result"


@click.command()
@click.argument("source", required=False, metavar="[FILE|-]")
@click.option("--task", "task_id", default=None, help="The task this result answers.")
@click.option("--status", type=click.Choice(["done", "partial", "failed", "blocked"]), default=None)
@click.option("--summary", default=None, help="What was done.")
@click.option("--agent", "agent_id", default=None, help="Reporter (default $TEAM_AGENT_ID).")
@click.option("-o", "--output", "fmt", type=ONE_OUTPUT, default="text")
@click.pass_context
def report(
    ctx: click.Context,
    source: str | None,
    task_id: str | None,
    status: str | None,
    summary: str | None,
    agent_id: str | None,
    fmt: str,
) -> None:
    """Report a result envelope v1 from FILE or stdin (`-`), or from the flags.

    Flags override the file's fields. The result reaches the leader as one short message
    when communication.leader_receives_results (the default) holds.
    """
    data = _envelope_data(source)
    for key, value in (("task_id", task_id), ("status", status), ("summary", summary)):
        if value is not None:
            data[key] = value
    if agent_id is not None or "agent_id" not in data:
        data["agent_id"] = agent_id or os.environ.get(ENV_AGENT_ID)
    if data["agent_id"] is None:
        fail(f"no agent: set ${ENV_AGENT_ID} or pass --agent", EXIT_SPEC_INVALID)
    envelope = _validated(data, source)
    p = place(ctx)
    loaded = p.require_spec()[1] if p.target is not None else None
    check_member(envelope.agent_id, p.target, "agent")
    communication = loaded.spec.communication if loaded is not None else None
    notify = LEADER if communication is None or communication.leader_receives_results else None
    state = state_dir_of(p)
    with open_store(state) as store:
        try:
            result, message = store.add_result(
                envelope,
                now=time.time(),
                notify=notify,
                result_format=communication.result_format if communication else "envelope-v1",
            )
        except StoreError as err:
            fail(str(err), EXIT_UNUSABLE)
    _log_result(state, result.id, envelope)
    wake(state)
    if fmt == "json":
        out = {"result": result_json(result), "message": message and message_json(message)}
        print_json(out, console())
    else:
        click.echo(result.id + (f" ({message.id} to {message.recipient})" if message else ""))


def _envelope_data(source: str | None) -> dict[str, object]:
    if source is None:
        return {}
    try:
        raw = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        fail(f"cannot read {source}: {err}", EXIT_SPEC_INVALID)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        _invalid(source, f"not JSON: line {err.lineno} column {err.colno}: {err.msg}")
    if not isinstance(data, dict):
        _invalid(source, "a result envelope is a JSON object")
    return data


def _validated(data: dict[str, object], source: str | None) -> ResultEnvelope:
    try:
        return ResultEnvelope.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in e['loc']) or 'envelope'}: {e['msg']}"
            for e in err.errors()
        )
        _invalid(source, problems)


def _invalid(source: str | None, problem: str) -> NoReturn:
    where = "stdin" if source == "-" else source or "flags"
    fail(f"invalid result envelope ({where}): {problem}", EXIT_SPEC_INVALID)


def _log_result(state: Path, result_id: str, envelope: ResultEnvelope) -> None:
    first = (envelope.summary.strip().splitlines() or [""])[0][:200]
    task = f" task {envelope.task_id}" if envelope.task_id else ""
    event = Event(
        time=format_time(datetime.now(timezone.utc)),
        type=NORMAL,
        reason=RESULT_EVENT_REASON,
        object=f"agent/{envelope.agent_id}",
        message=f"{result_id}{task}: {envelope.status} - {first}",
    )
    try:
        EventLog(state).append(event)
    except StateUnwritable as err:
        click.echo(f"team-agent: warning: {err}", err=True)


@click.command()
@click.option("--task", default=None, help="Only this task's results.")
@click.option("--agent", default=None, help="Only this agent's results.")
@click.option("--since", default=None, help="An RFC 3339 time, or a duration back (10m).")
@click.option("-o", "--output", "fmt", type=LIST_OUTPUT, default="table")
@click.pass_context
def results(
    ctx: click.Context, task: str | None, agent: str | None, since: str | None, fmt: ListFormat
) -> None:
    """Reported results, oldest first (`-o json`: the full envelopes)."""
    p = place(ctx)
    now = time.time()
    cutoff = since_arg(since, now)
    found: list[ResultRecord] = []
    if MessageStore.exists(p.state_dir):
        with open_store(p.state_dir) as store:
            try:
                found = store.results(since=cutoff, task=task, agent=agent)
            except StoreError as err:
                fail(str(err), EXIT_UNUSABLE)
    render_results(found, fmt, console(), now=now)

"""Verbs that read the message store and the status: `inbox` and `approvals`.

They only read and create nothing (no lock: the store serialises its own writers).
"""

from __future__ import annotations

import os
import time

import click

from reconciler.api.exitcodes import EXIT_UNUSABLE
from reconciler.api.launch import ENV_AGENT_ID
from reconciler.cli.message_render import (
    ListFormat,
    render_approvals,
    render_messages,
)
from reconciler.cli.place import (
    LIST_OUTPUT,
    check_member,
    open_store,
    place,
    since_arg,
)
from reconciler.cli.util import (
    console,
    fail,
)
from reconciler.store.messages import LEADER, MessageRecord, MessageStore, StoreError
from reconciler.store.statusfile import StatusCorrupt, StatusStore


@click.command()
@click.argument("agent", required=False)
@click.option("--since", default=None, help="An RFC 3339 time, or a duration back (10m).")
@click.option("-o", "--output", "fmt", type=LIST_OUTPUT, default="table")
@click.pass_context
def inbox(ctx: click.Context, agent: str | None, since: str | None, fmt: ListFormat) -> None:
    """Messages to AGENT (default $TEAM_AGENT_ID, else leader), any state, oldest first."""
    p = place(ctx)
    agent = agent or os.environ.get(ENV_AGENT_ID) or LEADER
    check_member(agent, p.target, "agent")
    now = time.time()
    cutoff = since_arg(since, now)
    records: list[MessageRecord] = []
    if MessageStore.exists(p.state_dir):
        with open_store(p.state_dir) as store:
            try:
                records = store.inbox(agent, since=cutoff)
            except StoreError as err:
                fail(str(err), EXIT_UNUSABLE)
    render_messages(records, fmt, console(), now=now)


@click.command()
@click.option("-o", "--output", "fmt", type=LIST_OUTPUT, default="table")
@click.pass_context
def approvals(ctx: click.Context, fmt: ListFormat) -> None:
    """Agents waiting on a tool permission prompt (Ready=False, reason AwaitingApproval)."""
    p = place(ctx)
    try:
        current = StatusStore(p.state_dir).read()
    except StatusCorrupt as err:
        fail(str(err), EXIT_UNUSABLE)
    render_approvals(current, fmt, console())

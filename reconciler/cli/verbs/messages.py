"""`send`: queue a message for agents or the leader.

`send` (like `report`, `reconciler.cli.verbs.results`) only records intent (a queued
message) and touches `.team/wake`; the running reconciler delivers, verifies and reports
(issue #6). It takes no workspace lock: the store serialises its own writers, so a
worker can send while `team-agent run` holds the lock. Where it acts (`-f`, or the
agent's own workspace) is `reconciler.cli.place`'s. Exit codes: 0 done, 1 a `--wait`
that did not end delivered, 2 usage (unknown recipient, invalid spec), 4 the state
folder or the store unusable; refusals of a caller that is not the team's as `down`'s
(see its epilog).
"""

from __future__ import annotations

import os
import re
import shlex
import sys
import time

import click

from reconciler.api.durations import parse_duration
from reconciler.api.envelope import TASK_ID_PATTERN
from reconciler.api.exitcodes import EXIT_NOT_READY, EXIT_SPEC_INVALID, EXIT_UNUSABLE
from reconciler.api.launch import ENV_AGENT_ID
from reconciler.api.retrying import poll
from reconciler.cli.message_render import (
    message_json,
    print_json,
)
from reconciler.cli.place import (
    ONE_OUTPUT,
    check_member,
    open_store,
    place,
    state_dir_of,
    wake,
)
from reconciler.cli.util import (
    Target,
    console,
    fail,
    invocation,
    running_reconciler,
    shown_path,
)
from reconciler.cli.verbs.ownership import TEAM_ACTION_EPILOG, guard_team_action
from reconciler.specfile.load import LoadedSpec
from reconciler.store.messages import LEADER, MessageRecord, MessageStore, StoreError

MAX_BODY_BYTES = 1_000_000  # a message is pasted into a terminal: a megabyte is plenty
_POLL_SEC = 0.1
# C0 controls other than tab, newline and carriage return, DEL, and C1: typed into a
# terminal they are keystrokes (ESC[201~ would end a bracketed paste), not text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u0080-\u009f]")


def read_body(message: str) -> str:
    """The message text (`-`: all of stdin, byte for byte), or exit 2 saying what is wrong."""
    raw = sys.stdin.buffer.read() if message == "-" else message.encode("utf-8", "surrogateescape")
    if len(raw) > MAX_BODY_BYTES:
        fail(f"message is {len(raw)} bytes; the limit is {MAX_BODY_BYTES}", EXIT_SPEC_INVALID)
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        fail(f"message is not UTF-8 (byte {err.start})", EXIT_SPEC_INVALID)
    if not body.strip():
        fail("message is empty", EXIT_SPEC_INVALID)
    bad = _CONTROL.search(body)
    if bad is not None:
        line = body.count("\n", 0, bad.start()) + 1
        fail(
            f"message holds control character U+{ord(bad.group()):04X} on line {line}: "
            "it would reach the terminal as a keystroke",
            EXIT_SPEC_INVALID,
        )
    return body


def recipients_of(spec_text: str, sender: str, t: Target, loaded: LoadedSpec) -> list[str]:
    """`a,b`, `leader`, or `*` (every declared worker but the sender), deduplicated."""
    out: list[str] = []
    for name in (part.strip() for part in spec_text.split(",")):
        if not name:
            continue
        names = [a.id for a in loaded.spec.agents if a.id != sender] if name == "*" else [name]
        for each in names:
            check_member(each, t, "recipient")
            if each not in out:
                out.append(each)
    if not out:
        fail(f"no recipients in {spec_text!r}", EXIT_SPEC_INVALID)
    for each in out:
        check_allowed(sender, each, loaded)
    return out


def check_allowed(sender: str, recipient: str, loaded: LoadedSpec) -> None:
    """`communication.allow`, when it lists edges, is the whole set of worker-to-worker
    directions; the leader may always talk to a worker and a worker to the leader."""
    allow = loaded.spec.communication.allow
    if not allow or LEADER in (sender, recipient):
        return
    if any(edge.from_ == sender and edge.to == recipient for edge in allow):
        return
    fail(
        f"{sender} may not send to {recipient}: communication.allow has no edge "
        f"from {sender} to {recipient}",
        EXIT_SPEC_INVALID,
    )


@click.command(epilog=TEAM_ACTION_EPILOG)
@click.argument("args", nargs=-1, metavar="[TO] MESSAGE")
@click.option("--to", "to_opt", default=None, help="Recipients a,b (instead of TO).")
@click.option("--task", default=None, help="The task this message assigns or concerns.")
@click.option("--from", "sender", default=None, help="Default $TEAM_AGENT_ID, else leader.")
@click.option(
    "--wait",
    "wait_for",
    is_flag=False,
    flag_value="60s",
    default=None,
    metavar="[DURATION]",
    help="Wait until delivered (exit 0) or failed (exit 1); default 60s. Put it last, or "
    "write --wait=DURATION.",
)
@click.option("-o", "--output", "fmt", type=ONE_OUTPUT, default="text")
@click.pass_context
def send(
    ctx: click.Context,
    args: tuple[str, ...],
    to_opt: str | None,
    task: str | None,
    sender: str | None,
    wait_for: str | None,
    fmt: str,
) -> None:
    """Queue MESSAGE for TO: an agent id, `leader`, `a,b`, or `*` (every worker).

    MESSAGE `-` reads it from stdin. Prints the message id(s) at once; the running
    reconciler (`team-agent run`) delivers it when the recipient is Ready.
    """
    if to_opt is not None and len(args) == 1:
        to_text, message = to_opt, args[0]
    elif to_opt is None and len(args) == 2:
        to_text, message = args
    else:
        fail("usage: team-agent send TO MESSAGE, or send --to A,B MESSAGE", EXIT_SPEC_INVALID)
    p = place(ctx)
    t, loaded = p.require_spec()
    guard_team_action(t, loaded, "send")
    sender = sender or os.environ.get(ENV_AGENT_ID) or LEADER
    check_member(sender, t, "sender")
    recipients = recipients_of(to_text, sender, t, loaded)
    if task is not None and re.fullmatch(TASK_ID_PATTERN, task) is None:
        fail(f"--task {task!r}: one word of printable characters (max 100)", EXIT_SPEC_INVALID)
    body = read_body(message)
    state = state_dir_of(p)
    with open_store(state) as store:
        try:
            records = store.send(
                sender=sender, recipients=recipients, body=body, task=task, now=time.time()
            )
        except StoreError as err:
            fail(str(err), EXIT_UNUSABLE)
        wake(state)
        if fmt == "text":
            click.echo("\n".join(r.id for r in records))
        if running_reconciler(p.workspace) is None:
            _warn_undelivered(t)
        if wait_for is not None:
            records = _wait_delivered(store, records, parse_duration(wait_for))
        if fmt == "json":
            print_json([message_json(r) for r in records], console())
    if wait_for is not None and any(r.state != "delivered" for r in records):
        sys.exit(EXIT_NOT_READY)


def _warn_undelivered(t: Target) -> None:
    """Say why a queued message may wait forever: only a reconciler delivers (issue 12, D14)."""
    again = f"{invocation()} -f {shlex.quote(shown_path(t.spec_path))}"
    click.echo(
        f"team-agent: no reconciler is running for {t.workspace}: nothing delivers this "
        f"message until `{again} run` (or `{again} reconcile --once`) runs there",
        err=True,
    )


def _wait_delivered(
    store: MessageStore, records: list[MessageRecord], timeout: float
) -> list[MessageRecord]:
    """Poll until every message is delivered or failed, or the deadline; report on stderr."""

    def latest() -> list[MessageRecord]:
        try:
            return [store.get(r.id) or r for r in records]
        except StoreError as err:
            fail(str(err), EXIT_UNUSABLE)

    current = poll(
        latest,
        until=lambda seen: all(r.state in ("delivered", "failed") for r in seen),
        deadline=time.monotonic() + timeout,
        interval=_POLL_SEC,
    )
    for r in current:
        if r.state == "delivered":
            click.echo(f"{r.id} delivered to {r.recipient}", err=True)
        elif r.state == "failed":
            click.echo(f"{r.id} failed: {r.last_error}", err=True)
        else:
            why = f" ({r.last_error})" if r.last_error else ""
            click.echo(f"{r.id} still {r.state} after {timeout:g}s{why}", err=True)
    return current

"""Verbs that talk through the message store: `send`, `inbox`, `approvals`, and what
they share with `report`/`results` (`reconciler.cli.verbs.results`).

`send` and `report` only record intent (a queued message, a stored result) and touch
`.team/wake`; the running reconciler delivers, verifies and reports (issue #6). None of
them takes the workspace lock: the store serialises its own writers, so a worker can
report while `team-agent run` holds the lock. The others only read, and create nothing.

Run from an agent's pane, they find their team without `-f`: the reconciler gives every
agent `TEAM_AGENT_WORKSPACE` and `TEAM_AGENT_ID`, and the spec is looked for in that
workspace (as `./team.spec.yaml` would be). Exit codes: 0 done, 1 a `--wait` that did not
end delivered, 2 usage (unknown recipient, invalid envelope, invalid spec), 4 the state
folder or the store unusable; `send` refusals as `down`'s (see its epilog).
"""

from __future__ import annotations

import os
import re
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import click

from reconciler.api.clock import parse_time
from reconciler.api.durations import parse_duration
from reconciler.api.envelope import TASK_ID_PATTERN
from reconciler.api.errors import SpecError, SpecNotFound, StateUnwritable
from reconciler.api.exitcodes import EXIT_NOT_READY, EXIT_SPEC_INVALID, EXIT_UNUSABLE
from reconciler.api.launch import ENV_AGENT_ID, ENV_WORKSPACE
from reconciler.api.retrying import poll
from reconciler.api.status import STATE_DIR
from reconciler.cli.message_render import (
    ListFormat,
    message_json,
    print_json,
    render_approvals,
    render_messages,
)
from reconciler.cli.util import (
    Target,
    console,
    fail,
    invocation,
    running_reconciler,
    shown_path,
    target,
)
from reconciler.cli.verbs.ownership import TEAM_ACTION_EPILOG, guard_team_action
from reconciler.engine.wake import touch_wake
from reconciler.specfile.load import LoadedSpec, find_spec, load_spec
from reconciler.store.messages import LEADER, MessageRecord, MessageStore, StoreError
from reconciler.store.statusfile import StatusCorrupt, StatusStore, ensure_state_dir

MAX_BODY_BYTES = 1_000_000  # a message is pasted into a terminal: a megabyte is plenty
_POLL_SEC = 0.1
# C0 controls other than tab, newline and carriage return, DEL, and C1: typed into a
# terminal they are keystrokes (ESC[201~ would end a bracketed paste), not text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u0080-\u009f]")
LIST_OUTPUT = click.Choice(["table", "json"])
ONE_OUTPUT = click.Choice(["text", "json"])


@dataclass(frozen=True)
class Place:
    """The workspace a message verb acts on, and its spec when one was found."""

    workspace: Path
    target: Target | None  # None: $TEAM_AGENT_WORKSPACE holds no spec of its own

    @property
    def state_dir(self) -> Path:
        return self.workspace / STATE_DIR

    @property
    def loaded(self) -> LoadedSpec | None:
        return self.target.loaded if self.target is not None else None

    def require_spec(self) -> tuple[Target, LoadedSpec]:
        if self.target is None:
            fail(
                f"no team.spec.yaml in ${ENV_WORKSPACE} ({self.workspace}): pass -f SPEC",
                EXIT_SPEC_INVALID,
            )
        return self.target, self.target.require_spec()


def place(ctx: click.Context) -> Place:
    """`-f`, else the workspace in $TEAM_AGENT_WORKSPACE (an agent's pane), else the cwd."""
    env_workspace = os.environ.get(ENV_WORKSPACE)
    if ctx.obj["spec_file"] is not None or not env_workspace:
        t = target(ctx)
        return Place(t.workspace, t)
    workspace = Path(env_workspace).resolve()
    try:
        path = find_spec(None, workspace)
    except SpecNotFound:
        return Place(workspace, None)
    try:
        loaded = load_spec(path)
    except SpecError as err:
        return Place(workspace, Target(path, None, err, ctx.obj["socket"]))
    if loaded.workspace != workspace:
        return Place(workspace, None)  # another team's spec (its workspace is elsewhere)
    return Place(workspace, Target(path, loaded, None, ctx.obj["socket"]))


def members(loaded: LoadedSpec | None) -> list[str] | None:
    """Who may send and receive: the declared workers and `leader` (None: unknown)."""
    if loaded is None:
        return None
    return [agent.id for agent in loaded.spec.agents] + [LEADER]


def check_member(name: str, loaded: LoadedSpec | None, what: str) -> None:
    known = members(loaded)
    if known is not None and name not in known:
        fail(f"unknown {what} {name!r} (expected one of: {', '.join(known)})", EXIT_SPEC_INVALID)


def open_store(state_dir: Path) -> MessageStore:
    try:
        return MessageStore.open(state_dir)
    except StoreError as err:
        fail(str(err), EXIT_UNUSABLE)


def state_dir_of(p: Place) -> Path:
    try:
        return ensure_state_dir(p.workspace)
    except StateUnwritable as err:
        fail(str(err), EXIT_UNUSABLE)


def wake(state_dir: Path) -> None:
    """Ask a running reconciler for a pass now; the periodic resync covers a failure."""
    try:
        touch_wake(state_dir)
    except OSError as err:
        click.echo(f"team-agent: warning: cannot wake the reconciler: {err}", err=True)


def since_arg(text: str | None, now: float) -> float | None:
    """`--since`: an RFC 3339 time, or a duration back from now (`10m`)."""
    if text is None:
        return None
    try:
        return parse_time(text).timestamp()
    except ValueError:
        return now - parse_duration(text)


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


def recipients_of(spec_text: str, sender: str, loaded: LoadedSpec) -> list[str]:
    """`a,b`, `leader`, or `*` (every declared worker but the sender), deduplicated."""
    out: list[str] = []
    for name in (part.strip() for part in spec_text.split(",")):
        if not name:
            continue
        names = [a.id for a in loaded.spec.agents if a.id != sender] if name == "*" else [name]
        for each in names:
            check_member(each, loaded, "recipient")
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
    check_member(sender, loaded, "sender")
    recipients = recipients_of(to_text, sender, loaded)
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


@click.command()
@click.argument("agent", required=False)
@click.option("--since", default=None, help="An RFC 3339 time, or a duration back (10m).")
@click.option("-o", "--output", "fmt", type=LIST_OUTPUT, default="table")
@click.pass_context
def inbox(ctx: click.Context, agent: str | None, since: str | None, fmt: ListFormat) -> None:
    """Messages to AGENT (default $TEAM_AGENT_ID, else leader), any state, oldest first."""
    p = place(ctx)
    agent = agent or os.environ.get(ENV_AGENT_ID) or LEADER
    check_member(agent, p.loaded, "agent")
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

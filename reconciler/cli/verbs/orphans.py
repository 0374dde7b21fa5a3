"""`team-agent orphans [-o json] [--reap]`: what a dead or changed team left behind.

Without `--reap` it only looks, like `plan`: no lock, no status write, nothing signalled
or killed. It takes one snapshot, observes what orphan detection needs
(`controllers.orphans.observe`), runs the orphans controller's pure plan and prints every
orphan with why it is one (`controllers.orphans.sweep`). Exit 0 when there is none, 1 when
there are some.

With `--reap` it holds the workspace lock, plans the same way with reaping forced,
applies only those `ReapOrphan` actions, and records the result as `down` does: one
event per reaped orphan (and per refusal), and `status.orphans` / `OrphansFound` updated
to what is left. Nothing else about the team changes (no agent is created, restarted or
stopped, no generation is claimed as observed). While `team-agent run` holds the lock,
`run` does exactly that on request (`reconciler.cli.verbs.handoff`) and goes on running; the
verb prints what it reaped. Exit 0 when every orphan was reaped, 1 when one was not (the
message says why: it changed since it was seen, it is held by a live process, ...), 3
when the lock stays held (and no `run` answered) for `--lock-timeout`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

import click
import msgspec

from controllers.orphans.actions import ReapOrphan
from controllers.orphans.plan import OrphansResult
from controllers.orphans.sweep import find_orphans, reap_orphans
from reconciler.api.errors import StateUnwritable, TmuxUnavailable
from reconciler.api.exitcodes import EXIT_NOT_READY, EXIT_READY, EXIT_UNUSABLE
from reconciler.api.status import OrphanStatus, TeamStatus
from reconciler.cli.util import console, fail, read_status, target
from reconciler.cli.verbs.handoff import lock_or_ask
from reconciler.engine.requests import REAP_ORPHANS, ReapLine
from reconciler.observe.tmux import Tmux
from reconciler.specfile.load import LoadedSpec
from reconciler.store.lock import describe_holder


@click.command()
@click.option("-o", "--output", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option("--reap", is_flag=True, help="Reap them (SIGTERM, grace, SIGKILL; kill panes).")
@click.option(
    "--lock-timeout",
    default="10s",
    show_default=True,
    help="With --reap: how long to wait for the lock, or for a running `run` to answer.",
)
@click.pass_context
def orphans(ctx: click.Context, fmt: str, reap: bool, lock_timeout: str) -> None:
    """List what a dead or changed team left behind; --reap removes it. Exit 0 none, 1 some.

    While `team-agent run` holds the lock, --reap asks it to reap and prints what it did.
    """
    t = target(ctx)
    loaded = t.require_spec()
    tmux = Tmux(socket_name=t.socket)
    if not reap:
        found = _find(loaded, tmux, read_status(t))
        _print([o.status for o in found.orphans], [], fmt)
        sys.exit(EXIT_NOT_READY if found.orphans else EXIT_READY)
    held = lock_or_ask(t, lock_timeout, verb="orphans --reap", kind=REAP_ORPHANS)
    if isinstance(held, tuple):
        holder, reply = held
        if reply.error is not None:
            fail(f"{describe_holder(holder)} could not reap: {reply.error}", EXIT_UNUSABLE)
        _print(reply.orphans, reply.reaped, fmt)
        sys.exit(EXIT_READY if all(r.ok for r in reply.reaped) else EXIT_NOT_READY)
    try:
        swept, outcomes = reap_orphans(loaded, tmux, read_status(t), python=sys.executable)
    except (TmuxUnavailable, StateUnwritable) as err:
        fail(str(err), EXIT_UNUSABLE)
    finally:
        held.release()
    lines = [
        ReapLine(resource=o.action.resource, ok=o.ok, message=o.message)
        for o in outcomes
        if isinstance(o.action, ReapOrphan)
    ]
    _print([o.status for o in swept.orphans], lines, fmt)
    sys.exit(EXIT_READY if all(o.ok for o in outcomes) else EXIT_NOT_READY)


def _find(loaded: LoadedSpec, tmux: Tmux, current: TeamStatus | None) -> OrphansResult:
    try:
        _, found = find_orphans(loaded, tmux, current, reap=False, python=sys.executable)
    except TmuxUnavailable as err:
        fail(str(err), EXIT_UNUSABLE)
    return found


def _print(found: Sequence[OrphanStatus], reaped: Sequence[ReapLine], fmt: str) -> None:
    if fmt == "json":
        data = {
            "count": len(found),
            "orphans": [msgspec.to_builtins(o) for o in found],
            "reaped": [msgspec.to_builtins(r) for r in reaped],
        }
        click.echo(json.dumps(data, indent=2))
        return
    out = console()
    if not found:
        out.print("no orphans", highlight=False)
    for orphan in found:
        what = orphan.paneId if orphan.pid is None else f"pid {orphan.pid}"
        if orphan.kind == "session":
            what = f"session {orphan.session}"
        out.print(f"{orphan.kind:8} {what}  {orphan.reason}", highlight=False, markup=False)
        out.print(f"         marker: {orphan.marker}", highlight=False, markup=False)
    for line in reaped:
        verdict = "reaped" if line.ok else "FAILED"
        out.print(f"{verdict:8} {line.resource}: {line.message}", highlight=False, markup=False)

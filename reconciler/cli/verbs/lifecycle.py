"""The verbs of a running team: `run` (the controller loop) and `down`.

`run` holds the workspace lock for as long as it runs; `down` while it runs asks it to
stop the team (`reconciler.cli.verbs.handoff`, `reconciler.engine.requests`), and `run` does, then
exits, so nothing recreates the team. Apart from `reconcile` so that a one-shot does not
import the loop, watchfiles, the requests or the caller checks.
"""

from __future__ import annotations

import sys
import time

import click

from controllers.team.down import down_team
from reconciler.api import conditions as C
from reconciler.api.errors import TmuxUnavailable
from reconciler.api.exitcodes import EXIT_UNUSABLE
from reconciler.cli.request_handlers import perform
from reconciler.cli.util import Locked, fail, target
from reconciler.cli.verbs.handoff import await_exit, lock_or_ask
from reconciler.cli.verbs.ownership import TEAM_ACTION_EPILOG, guard_team_action
from reconciler.engine.engine import PassResult
from reconciler.engine.loop import Loop
from reconciler.engine.requests import DOWN, RUN_ACCEPTS, Answer, Request
from reconciler.observe.tmux import Tmux
from reconciler.store.lock import describe_holder


@click.command()
@click.option("--lock-timeout", default="10s", show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing per pass.")
@click.pass_context
def run(ctx: click.Context, lock_timeout: str, quiet: bool) -> None:
    """The controller loop: follows spec edits, restarts exited agents, resyncs."""
    t = target(ctx)
    if t.loaded is None and t.error is not None:
        click.echo(f"warning: {t.error} (waiting for a valid spec)", err=True)
    engine = t.engine()

    def report(result: PassResult | None, why: str) -> None:
        if quiet:
            return
        stamp = time.strftime("%H:%M:%S")
        if result is None:
            click.echo(f"{stamp} pass failed ({why}); see the log", err=True)
            return
        ready = C.find_condition(result.status.conditions, C.READY)
        summary = f"Ready={ready.status} ({ready.reason})" if ready else ""
        lines = [a.render() for a in result.plan.actions]
        if lines or why != "resync":
            click.echo(f"{stamp} [{why}] {summary}" + "".join(f"\n    {x}" for x in lines))

    def served(request: Request, reply: Answer) -> None:
        stamp = time.strftime("%H:%M:%S")
        asked = f"{stamp} [{request.kind} requested by pid {request.pid}]"
        if reply.error is not None:
            ends = "; run exits" if reply.runExits else ""
            click.echo(f"{asked} failed: {reply.error}{ends}", err=True)
            return
        lines = [f"stopped {x}" for x in reply.stopped] + [f"failed  {x}" for x in reply.failed]
        lines += [
            f"{'reaped' if r.ok else 'FAILED'} {r.resource}: {r.message}" for r in reply.reaped
        ]
        if reply.runExits:
            lines.append("the team is down: run exits")
        click.echo(asked + "".join(f"\n    {x}" for x in lines))

    with Locked(t, lock_timeout, verb="run", accepts=RUN_ACCEPTS):
        loop = Loop(engine=engine, perform=perform, on_pass=report, on_request=served)
        loop.install_signal_handlers()
        loop.run()


@click.command(epilog=TEAM_ACTION_EPILOG)
@click.option(
    "--lock-timeout",
    default="10s",
    show_default=True,
    help="How long to wait for the lock, or for a running `run` to answer.",
)
@click.pass_context
def down(ctx: click.Context, lock_timeout: str) -> None:
    """Stop every agent this team owns (never the leader, never anything unmarked).

    While `team-agent run` holds the lock, it stops the team itself and exits.
    """
    t = target(ctx)
    loaded = t.require_spec()
    guard_team_action(t, loaded, "down")
    held = lock_or_ask(t, lock_timeout, verb="down", kind=DOWN)
    if isinstance(held, tuple):
        holder, reply = held
        if reply.error is not None:
            fail(
                f"{describe_holder(holder)} could not bring the team down: {reply.error} "
                "(it exits all the same, so nothing recreates what it stopped)",
                EXIT_UNUSABLE,
            )
        _print_down(reply.stopped, reply.failed)
        gone = await_exit(holder)
        click.echo(
            f"{describe_holder(holder)} stopped the team and "
            + ("exited" if gone else "is exiting")
        )
        sys.exit(1 if reply.failed else 0)
    try:
        stopped, failed = down_team(loaded, Tmux(socket_name=t.socket), python=sys.executable)
    except TmuxUnavailable as err:
        fail(str(err), EXIT_UNUSABLE)
    finally:
        held.release()
    _print_down(stopped, failed)
    sys.exit(1 if failed else 0)


def _print_down(stopped: list[str], failed: list[str]) -> None:
    for line in stopped:
        click.echo(f"stopped {line}")
    for line in failed:
        click.echo(f"failed  {line}", err=True)
    if not stopped and not failed:
        click.echo("nothing to stop")

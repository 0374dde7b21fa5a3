"""Verbs that change the world: `reconcile`, `run`, `down` (all under the workspace lock)."""

from __future__ import annotations

import sys
import time

import click

from reconciler import conditions as C
from reconciler.cliutil import (
    OUTPUT,
    Locked,
    console,
    fail,
    run_pass,
    target,
)
from reconciler.down import down_team
from reconciler.durations import parse_duration
from reconciler.engine import (
    EXIT_NOT_READY,
    EXIT_SPEC_INVALID,
    EXIT_UNUSABLE,
    PassResult,
)
from reconciler.errors import TmuxUnavailable
from reconciler.loop import Loop
from reconciler.render import OutputFormat, render_status
from reconciler.tmux import Tmux
from reconciler.verbs.ownership import TEAM_ACTION_EPILOG, guard_team_action


@click.command()
@click.option("--once", is_flag=True, required=True, help="One pass (the only mode so far).")
@click.option("--wait", "wait_for", default=None, help="Passes until Ready or this deadline.")
@click.option(
    "--lock-timeout",
    default="10s",
    show_default=True,
    help="How long to wait for another reconciler's lock.",
)
@click.option("-o", "--output", "fmt", type=OUTPUT, default="table")
@click.pass_context
def reconcile(
    ctx: click.Context, once: bool, wait_for: str | None, lock_timeout: str, fmt: OutputFormat
) -> None:
    """Converge the world to the spec; exit 0 Ready, 1 not Ready."""
    t = target(ctx)
    deadline = time.monotonic() + (parse_duration(wait_for) if wait_for else 0.0)
    engine = t.engine()
    with Locked(t, lock_timeout):
        result = run_pass(engine)
        while (
            not result.ready and result.exit_code == EXIT_NOT_READY and time.monotonic() < deadline
        ):
            time.sleep(
                min(
                    max(result.requeue_after or 0.2, 0.05),
                    0.25,
                    max(deadline - time.monotonic(), 0.0),
                )
            )
            result = run_pass(engine)
    render_status(result.status, fmt, console())
    if result.exit_code == EXIT_SPEC_INVALID and t.error is not None:
        click.echo(str(t.error), err=True)
    sys.exit(result.exit_code)


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

    with Locked(t, lock_timeout):
        loop = Loop(engine=engine, on_pass=report)
        loop.install_signal_handlers()
        loop.run()


@click.command(epilog=TEAM_ACTION_EPILOG)
@click.option("--lock-timeout", default="10s", show_default=True)
@click.pass_context
def down(ctx: click.Context, lock_timeout: str) -> None:
    """Stop every agent this team owns (never the leader, never anything unmarked)."""
    t = target(ctx)
    loaded = t.require_spec()
    guard_team_action(t, loaded, "down")
    with Locked(t, lock_timeout):
        try:
            stopped, failed = down_team(loaded, Tmux(socket_name=t.socket), python=sys.executable)
        except TmuxUnavailable as err:
            fail(str(err), EXIT_UNUSABLE)
    for line in stopped:
        click.echo(f"stopped {line}")
    for line in failed:
        click.echo(f"failed  {line}", err=True)
    if not stopped and not failed:
        click.echo("nothing to stop")
    sys.exit(1 if failed else 0)

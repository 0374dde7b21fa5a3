"""`reconcile --once [--wait]`: converge the world to the spec, under the workspace lock.

Alone in its module so that a one-shot in CI imports only what a pass needs: the loop of
`run` (watchfiles, requests) and `down` (ownership checks) are in `verbs/lifecycle.py`.
"""

from __future__ import annotations

import sys
import time

import click

from reconciler.api.durations import parse_duration
from reconciler.api.exitcodes import EXIT_NOT_READY, EXIT_SPEC_INVALID
from reconciler.api.retrying import poll
from reconciler.cli.render import OutputFormat, render_status
from reconciler.cli.util import (
    OUTPUT,
    Locked,
    console,
    run_pass,
    target,
)


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
    with Locked(t, lock_timeout, verb="reconcile"):
        result = poll(
            lambda: run_pass(engine),
            until=lambda r: r.ready or r.exit_code != EXIT_NOT_READY,
            deadline=deadline,
            # The pass's own requeue, within 50-250 ms: soon enough to see an agent come up.
            interval=lambda _n, r: min(max(r.requeue_after or 0.2, 0.05), 0.25),
        )
    render_status(result.status, fmt, console())
    if result.exit_code == EXIT_SPEC_INVALID and t.error is not None:
        click.echo(str(t.error), err=True)
    sys.exit(result.exit_code)

"""Verbs that read the team's status: `status` and `wait`.

Agents, CI and monitors call them all the time, so this module imports what reading
`.team/status.json` needs and nothing that acts (no engine, no tmux; `status --refresh`
loads the engine when asked).
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timezone

import click

from reconciler.api import conditions as C
from reconciler.api.clock import format_time
from reconciler.api.durations import parse_duration
from reconciler.api.errors import SpecError, TmuxUnavailable
from reconciler.api.exitcodes import EXIT_NOT_READY, EXIT_READY, EXIT_SPEC_INVALID, EXIT_UNUSABLE
from reconciler.api.retrying import poll
from reconciler.cli.render import OutputFormat, render_status
from reconciler.cli.util import (
    OUTPUT,
    Target,
    console,
    fail,
    observation_of,
    read_status,
    reconciler_holder,
    target,
)
from reconciler.store.freshness import (
    REFRESH_SOURCE,
    Observation,
    as_previewed,
    as_seen,
    stale_reason,
)


@click.command()
@click.option("-o", "--output", "fmt", type=OUTPUT, default="table")
@click.option(
    "--refresh",
    is_flag=True,
    help="Observe the team now instead of reading the last status (no lock, nothing written).",
)
@click.pass_context
def status(ctx: click.Context, fmt: OutputFormat, refresh: bool) -> None:
    """Show the last status and how current it is (reads .team/status.json; changes nothing).

    A status observed longer ago than the resync interval while no reconciler holds the
    workspace is stale: its conditions read Unknown (reason StatusStale). --refresh
    observes now as a pass would (one tmux call, one process scan) and prints what the
    controllers report, acting on nothing and writing nothing.
    """
    t = target(ctx)
    if refresh:
        _refresh(t, fmt)
        return
    current = read_status(t)
    if current is None:
        fail("no status yet: run `team-agent reconcile --once` or `team-agent run`", EXIT_NOT_READY)
    now = datetime.now(timezone.utc)
    observation = observation_of(t, current, now)
    render_status(as_seen(current, observation, now=now), fmt, console(), observation)


def _refresh(t: Target, fmt: OutputFormat) -> None:
    """`status --refresh`: the engine's load, observe and plan, reported in memory only."""
    t.require_spec()
    try:
        preview = t.engine().preview()
    except TmuxUnavailable as err:
        fail(str(err), EXIT_UNUSABLE)
    except SpecError as err:  # edited between `target` and the engine's own load
        fail(str(err), EXIT_SPEC_INVALID)
    observation = Observation(
        source=REFRESH_SOURCE,
        observedAt=format_time(preview.observed_at),
        ageSec=0,
        resyncIntervalSec=t.resync_interval,
        reconciler=reconciler_holder(t.workspace),
        stale=False,
    )
    actions = preview.plan.actions
    shown = as_previewed(
        preview.status, [(a.resource, a.render()) for a in actions], observation.reconciler
    )
    render_status(shown, fmt, console(), observation, [a.render() for a in actions])


@click.command()
@click.option(
    "--for",
    "condition",
    required=True,
    help="condition=TYPE[=STATUS], e.g. condition=Ready or condition=Ready=False; "
    "the team's types and the leader's (condition=LeaderUUIDMismatch=False).",
)
@click.option("--agent", default=None, help="An agent's condition instead of the team's.")
@click.option("--timeout", default="60s", show_default=True)
@click.pass_context
def wait(ctx: click.Context, condition: str, agent: str | None, timeout: str) -> None:
    """Wait until a condition holds (as kubectl wait): exit 0 met, 1 timed out.

    The status is read as `status` shows it: a stale one (no reconciler, observed longer
    ago than the resync interval) reads Unknown, so it meets only `=Unknown`.
    """
    kind, _, rest = condition.partition("=")
    if kind != "condition" or not rest:
        fail("--for takes condition=TYPE or condition=TYPE=STATUS", EXIT_SPEC_INVALID)
    cond_type, _, wanted = rest.partition("=")
    wanted = wanted or "True"
    t = target(ctx)
    stale: str | None = None

    def met() -> C.Condition | None:
        """The condition when it holds now, as `status` would show it."""
        nonlocal stale
        current = read_status(t)
        if current is None:
            return None
        # A stale status reads Unknown, so it never satisfies True or False (decided:
        # wait keeps waiting for a reconciler to observe, and says why at the deadline).
        now = datetime.now(timezone.utc)
        observation = observation_of(t, current, now)
        stale = stale_reason(observation) if observation.stale else None
        current = as_seen(current, observation, now=now)
        # The leader's types (LeaderBound, LeaderUUIDMismatch, ...) are the team's too:
        # a monitor waits for `condition=LeaderUUIDMismatch=False` like for `Ready`.
        conds = [*current.conditions, *current.leader.conditions]
        if agent is not None:
            entry = current.agents.get(agent)
            conds = entry.conditions if entry is not None else []
        found = C.find_condition(conds, cond_type)
        return found if found is not None and found.status.lower() == wanted.lower() else None

    deadline = time.monotonic() + parse_duration(timeout)
    found = poll(met, until=lambda c: c is not None, deadline=deadline, interval=0.1)
    if found is not None:
        click.echo(f"condition met: {cond_type}={found.status} ({found.reason})")
        sys.exit(EXIT_READY)
    why = f" (the status is stale: {stale})" if stale else ""
    fail(f"timed out waiting for {cond_type}={wanted}{why}", EXIT_NOT_READY)

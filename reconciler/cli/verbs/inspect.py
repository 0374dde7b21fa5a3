"""Verbs that only look: `status`, `wait`, `plan`/`diff`, `events`, `logs`, `attach`.

None of them takes the lock or changes the world (`attach` hands the terminal to tmux).
"""

from __future__ import annotations

import json
import os
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
from reconciler.cli.render import OutputFormat, render_events, render_status
from reconciler.cli.scrollback import added_lines, last_lines
from reconciler.cli.util import (
    OUTPUT,
    Target,
    agent_pane,
    console,
    fail,
    observation_of,
    read_status,
    reconciler_holder,
    resync_interval,
    target,
)
from reconciler.observe.tmux import ServerNotRunning, Tmux, TmuxCommandError
from reconciler.store.eventlog import EventLog
from reconciler.store.freshness import (
    REFRESH_SOURCE,
    Observation,
    as_previewed,
    as_seen,
    stale_reason,
)

POSITION = "#{history_size} #{cursor_y}"  # one call: both describe the same moment


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
        resyncIntervalSec=resync_interval(t),
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


@click.command(name="plan")
@click.option("-o", "--output", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def plan_cmd(ctx: click.Context, fmt: str) -> None:
    """What a pass would do now, changing nothing. Exit 0 nothing to do, 1 changes."""
    t = target(ctx)
    t.require_spec()
    try:
        plan, stall = t.engine().plan()
    except TmuxUnavailable as err:
        fail(str(err), EXIT_UNUSABLE)
    if stall is not None:
        fail(f"{stall.reason}: {stall.message}", EXIT_NOT_READY)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "actions": [
                        {
                            "resource": a.resource,
                            "action": type(a).__name__,
                            "cause": a.cause,
                            "line": a.render(),
                        }
                        for a in plan.actions
                    ]
                },
                indent=2,
            )
        )
    else:
        click.echo(plan.render())
    sys.exit(EXIT_READY if plan.empty else EXIT_NOT_READY)


@click.command()
@click.option("-n", "--limit", type=int, default=50, show_default=True)
@click.option("-o", "--output", "fmt", type=OUTPUT, default="table")
@click.pass_context
def events(ctx: click.Context, limit: int, fmt: OutputFormat) -> None:
    """The latest events (newest last)."""
    t = target(ctx)
    render_events(EventLog(t.workspace / ".team").read(limit=limit), fmt, console())


@click.command()
@click.argument("agent")
@click.option("-n", "--lines", type=click.IntRange(min=0), default=200, show_default=True)
@click.option("-f", "--follow", is_flag=True, help="Then print lines as the agent completes them.")
@click.option("--interval", default="0.25s", show_default=True, help="How often -f looks.")
@click.pass_context
def logs(ctx: click.Context, agent: str, lines: int, follow: bool, interval: str) -> None:
    """An agent's scrollback: the last LINES lines of its pane (-f: and then what follows).

    With -f only complete lines are printed (the one being written waits for its end),
    which suits line-oriented output; a full-screen CLI redraws its screen: use `attach`.
    Ctrl-C stops following; so does the pane going away (exit 1).
    """
    tmux, pane = agent_pane(target(ctx), agent)
    if not follow:
        try:
            captured = tmux.run("capture-pane", "-p", "-J", "-S", "-", "-t", pane.pane_id)
        except (TmuxCommandError, ServerNotRunning) as err:
            fail(str(err), EXIT_NOT_READY)
        _echo_lines(last_lines(captured, lines))
        return
    pause = parse_duration(interval)
    shown = _complete_lines(tmux, pane.pane_id)
    _echo_lines(shown[-lines:] if lines else [])
    try:
        while True:
            time.sleep(pause)
            current = _complete_lines(tmux, pane.pane_id)
            _echo_lines(added_lines(shown, current))
            shown = current
    except KeyboardInterrupt:
        return


def _complete_lines(tmux: Tmux, pane_id: str) -> list[str]:
    """The pane's lines above its cursor (history first), or exit 1 when the pane is gone."""
    try:
        history, cursor = (
            int(n) for n in tmux.run("display-message", "-p", "-t", pane_id, POSITION)[0].split()
        )
        if history + cursor == 0:
            return []
        # `-E -1` is the last history line: with the cursor on the top row, only history is done.
        captured = tmux.run(
            "capture-pane", "-p", "-J", "-S", "-", "-E", str(cursor - 1), "-t", pane_id
        )
    except (TmuxCommandError, ServerNotRunning, TmuxUnavailable, ValueError, IndexError) as err:
        fail(f"stopped following {pane_id}: {err}", EXIT_NOT_READY)
    return [line.rstrip() for line in captured]


def _echo_lines(lines: list[str]) -> None:
    if lines:
        click.echo("\n".join(lines))


@click.command()
@click.argument("agent")
@click.pass_context
def attach(ctx: click.Context, agent: str) -> None:
    """Attach your terminal to an agent's pane (switch-client when already in tmux)."""
    tmux, pane = agent_pane(target(ctx), agent)
    base = tmux.base_argv()
    select = ["select-window", "-t", pane.window_id, ";", "select-pane", "-t", pane.pane_id]
    if os.environ.get("TMUX") and tmux.socket_name is None:
        argv = [*base, "switch-client", "-t", pane.pane_id, ";", *select]
    else:
        argv = [*base, "attach-session", "-t", f"={pane.session_name}", ";", *select]
    os.execvp(argv[0], argv)

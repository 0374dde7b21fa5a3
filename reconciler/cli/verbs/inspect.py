"""Verbs that only look: `plan`/`diff`, `events`, `logs`, `attach` (`status` and `wait`:
`reconciler.cli.verbs.status`).

None of them takes the lock or changes the world (`attach` hands the terminal to tmux).
"""

from __future__ import annotations

import json
import os
import sys
import time

import click

from reconciler.api.durations import parse_duration
from reconciler.api.errors import TmuxUnavailable
from reconciler.api.exitcodes import EXIT_NOT_READY, EXIT_READY, EXIT_UNUSABLE
from reconciler.cli.panes import agent_pane
from reconciler.cli.render import OutputFormat, render_events
from reconciler.cli.scrollback import added_lines, last_lines
from reconciler.cli.util import (
    OUTPUT,
    console,
    fail,
    target,
)
from reconciler.observe.tmux import ServerNotRunning, Tmux, TmuxCommandError
from reconciler.store.eventlog import EventLog

POSITION = "#{history_size} #{cursor_y}"  # one call: both describe the same moment


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

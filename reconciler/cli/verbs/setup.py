"""Verbs that prepare: `demo`, `init` (`validate`: `reconciler.cli.verbs.validate`)."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

import click

from reconciler.api import conditions as C
from reconciler.api.durations import parse_duration
from reconciler.api.exitcodes import EXIT_SPEC_INVALID
from reconciler.api.retrying import poll
from reconciler.cli.demo import STARTER_SPEC, write_demo, write_starter
from reconciler.cli.packaged import EXAMPLES, example_path
from reconciler.cli.render import render_status
from reconciler.cli.util import (
    Locked,
    Target,
    console,
    fail,
    invocation,
    run_pass,
    shown_path,
)
from reconciler.engine.engine import Engine, PassResult
from reconciler.specfile.load import load_spec


@click.command()
@click.argument("directory", type=click.Path(path_type=Path), default=Path("team-agent-demo"))
@click.option("--wait", "wait_for", default="30s", show_default=True)
def demo(directory: Path, wait_for: str) -> None:
    """Write a demo team (fake agents, private tmux socket) and converge it."""
    spec_path = write_demo(directory)
    loaded = load_spec(spec_path)
    socket = loaded.spec.runtime.tmux_socket
    click.echo(f"wrote {spec_path} (tmux socket {socket}; no AI CLI needed)")
    engine = Engine(spec_path=spec_path, workspace=loaded.workspace)
    deadline = time.monotonic() + parse_duration(wait_for)
    out = console()
    shown = [""]

    def one_pass() -> PassResult:
        """A pass, printed unless it reads like the one before (that adds only length)."""
        result = run_pass(engine)
        ready = C.find_condition(result.status.conditions, C.READY)
        line = (
            result.plan.render().replace("\n", "\n        ")
            if result.plan.actions
            else "no changes"
        ) + (f"  -> Ready={ready.status}" if ready else "")
        if line != shown[-1]:
            out.print(f"pass {len(shown)}: {line}", highlight=False, markup=False)
        shown.append(line)
        return result

    with Locked(Target(spec_path, None, loaded=loaded), "10s", verb="demo"):
        result = poll(one_pass, until=lambda r: r.ready, deadline=deadline, interval=0.25)
    render_status(result.status, "table", out)
    again = f"{invocation()} -f {shlex.quote(shown_path(spec_path))}"
    width = len(again) + len(" attach lead")
    click.echo(
        f"\nnext: {f'{again} attach lead':<{width}}  # watch an agent (detach: C-b d)\n"
        f"      {f'{again} run':<{width}}  # follow spec edits, restart crashes\n"
        f"      {f'{again} down':<{width}}  # stop the demo team"
    )
    sys.exit(result.exit_code)


@click.command()
@click.argument("directory", type=click.Path(path_type=Path), default=Path("."))
@click.option(
    "--example",
    type=click.Choice(["starter", *EXAMPLES]),
    default="starter",
    show_default=True,
    help="starter: one fake agent; minimal, full: the shipped examples (full: every section).",
)
def init(directory: Path, example: str) -> None:
    """Write a starter team.spec.yaml (or a shipped example) into DIRECTORY."""
    text = STARTER_SPEC if example == "starter" else example_path(example).read_text("utf-8")
    try:
        path = write_starter(directory, text)
    except FileExistsError as err:
        fail(f"{err}: not overwriting", EXIT_SPEC_INVALID)
    again = f"{invocation()} -f {shlex.quote(shown_path(path))}"
    click.echo(f"wrote {path}; next: {again} reconcile --once --wait 30s")

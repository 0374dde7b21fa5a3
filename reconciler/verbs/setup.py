"""Verbs that prepare: `validate`, `demo`, `init`."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from controllers.demo import DEMO_SOCKET, write_demo, write_starter
from controllers.desired import desired_team, installed_executables
from reconciler import conditions as C
from reconciler.cliutil import (
    Locked,
    Target,
    console,
    fail,
    run_pass,
    target,
)
from reconciler.durations import parse_duration
from reconciler.engine import (
    EXIT_SPEC_INVALID,
    Engine,
)
from reconciler.render import render_status
from reconciler.specfile import load_spec


@click.command()
@click.pass_context
def validate(ctx: click.Context) -> None:
    """Check the spec; errors name file:line:column. Exit 0 valid, 2 invalid."""
    t = target(ctx)
    loaded = t.require_spec()
    for note in loaded.deprecations:
        click.echo(f"warning: {loaded.path}: {note}", err=True)
    team = desired_team(loaded.spec, loaded.workspace, python=sys.executable)
    found = installed_executables(d.launch for d in team.agents)
    for desired in team.agents:
        if desired.unsupported:
            click.echo(f"warning: agent {desired.id}: {desired.unsupported}", err=True)
        elif desired.launch and not found.get(desired.launch.executable, False):
            click.echo(
                f"warning: agent {desired.id}: {desired.launch.executable!r} is not "
                "installed (the agent will report ProviderNotInstalled)",
                err=True,
            )
    click.echo(
        f"{loaded.path}: valid ({len(loaded.spec.agents)} agents, team {loaded.spec.team_id})"
    )


@click.command()
@click.argument("directory", type=click.Path(path_type=Path), default=Path("team-agent-demo"))
@click.option("--wait", "wait_for", default="30s", show_default=True)
def demo(directory: Path, wait_for: str) -> None:
    """Write a demo team (fake agents, private tmux socket) and converge it."""
    spec_path = write_demo(directory)
    click.echo(f"wrote {spec_path} (tmux socket {DEMO_SOCKET}; no AI CLI needed)")
    loaded = load_spec(spec_path)
    engine = Engine(spec_path=spec_path, workspace=loaded.workspace)
    deadline = time.monotonic() + parse_duration(wait_for)
    out = console()
    with Locked(Target(spec_path, loaded, None, None), "10s"):
        number = 0
        while True:
            number += 1
            result = run_pass(engine)
            ready = C.find_condition(result.status.conditions, C.READY)
            out.print(
                f"pass {number}: "
                + (
                    result.plan.render().replace("\n", "\n        ")
                    if result.plan.actions
                    else "no changes"
                )
                + (f"  -> Ready={ready.status}" if ready else ""),
                highlight=False,
            )
            if result.ready or time.monotonic() > deadline:
                break
            time.sleep(0.25)
    render_status(result.status, "table", out)
    rel = spec_path
    click.echo(
        f"\nnext: team-agent -f {rel} attach lead     # watch an agent (detach: C-b d)\n"
        f"      team-agent -f {rel} run             # follow spec edits, restart crashes\n"
        f"      team-agent -f {rel} down            # stop the demo team"
    )
    sys.exit(result.exit_code)


@click.command()
@click.argument("directory", type=click.Path(path_type=Path), default=Path("."))
def init(directory: Path) -> None:
    """Write a starter team.spec.yaml (fake agents) into DIRECTORY."""
    try:
        path = write_starter(directory)
    except FileExistsError as err:
        fail(f"{err}: not overwriting", EXIT_SPEC_INVALID)
    click.echo(f"wrote {path}; next: team-agent -f {path} reconcile --once --wait 30s")

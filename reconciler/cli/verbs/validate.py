"""`team-agent validate`: check the spec, and what each agent's provider needs.

Its own module, so checking a spec (in CI, in an editor's save hook) imports the spec's
models and the providers but not the engine that `demo` and `init` run.
"""

from __future__ import annotations

import sys

import click

from controllers.team.desired import desired_team, installed_executables
from reconciler.cli.util import target


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

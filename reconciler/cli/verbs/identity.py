"""`team-agent identity`: the team's expected leader UUID and what it derives from.

Its own module: the UUID needs the team id and the workspace (the spec's summary has
both) and the machine's fingerprint, not the leader's launch or records code that the
other leader verbs import.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from controllers.leader.identity import (
    ENV_LEADER_UUID_OVERRIDE,
    Identity,
    IdentityError,
    resolve_identity,
)
from reconciler.api.exitcodes import EXIT_UNUSABLE
from reconciler.cli.util import fail, target


def identity_of(team_id: str, workspace: Path) -> Identity:
    """The team's expected leader identity in this process's environment (or exit 4)."""
    try:
        return resolve_identity(team_id, workspace, env=os.environ)
    except IdentityError as err:
        fail(str(err), EXIT_UNUSABLE)


@click.command()
@click.option("-o", "--output", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
def identity(ctx: click.Context, fmt: str) -> None:
    """Print the team's expected leader UUID and the inputs it derives from.

    UUID = sha256("\\0".join([machine fingerprint, workspace, OS user, team id]))[:32],
    unless TEAM_AGENT_LEADER_SESSION_UUID_OVERRIDE is set. The fingerprint is
    TEAM_AGENT_MACHINE_FINGERPRINT, else a keyed hash of the machine id.
    """
    summary = target(ctx).require_summary()
    ident = identity_of(summary.team_id, Path(summary.workspace))
    data = {
        "uuid": ident.uuid,
        "overridden": ident.overridden,
        "inputs": {
            "machineFingerprint": ident.inputs.machine_fingerprint,
            "fingerprintSource": ident.inputs.fingerprint_source,
            "workspace": ident.inputs.workspace,
            "osUser": ident.inputs.os_user,
            "teamId": ident.inputs.team_id,
        },
    }
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
        return
    inputs = ident.inputs
    click.echo(f"machine fingerprint  {inputs.machine_fingerprint}  ({inputs.fingerprint_source})")
    click.echo(f"workspace            {inputs.workspace}")
    click.echo(f"OS user              {inputs.os_user}")
    click.echo(f"team id              {inputs.team_id}")
    suffix = f"  (from {ENV_LEADER_UUID_OVERRIDE})" if ident.overridden else ""
    click.echo(f"leader UUID          {ident.uuid}{suffix}")

"""`team-agent`: the command group; the verbs live in `reconciler.cli.verbs`.

Read-only verbs (`status`, `wait`, `plan`, `events`, `logs`) never change the world and
never take the lock; `reconcile`, `run`, `down` and `orphans --reap` hold the workspace lock
while they act (`down` and `orphans --reap` ask a running `run` to act for them).

A verb's module is imported only when that verb runs (`LazyGroup`): `reconcile --once`
in CI should not pay for the message store's sqlite3 or the leader's identity code.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import click

# command name -> (module in reconciler.cli.verbs, click command in it), in `--help` order.
VERBS: dict[str, tuple[str, str]] = {
    "validate": ("validate", "validate"),
    "reconcile": ("converge", "reconcile"),
    "run": ("lifecycle", "run"),
    "status": ("status", "status"),
    "wait": ("status", "wait"),
    "plan": ("inspect", "plan_cmd"),
    "diff": ("inspect", "plan_cmd"),
    "down": ("lifecycle", "down"),
    "pause": ("intent", "pause"),
    "resume": ("intent", "resume"),
    "restart": ("intent", "restart"),
    "orphans": ("orphans", "orphans"),
    "events": ("inspect", "events"),
    "logs": ("inspect", "logs"),
    "attach": ("inspect", "attach"),
    "identity": ("identity", "identity"),
    "leader": ("leader", "leader"),
    "claim-leader": ("ownership", "claim_leader"),
    "takeover": ("ownership", "takeover"),
    "send": ("messages", "send"),
    "inbox": ("mailbox", "inbox"),
    "report": ("results", "report"),
    "results": ("results", "results"),
    "approvals": ("mailbox", "approvals"),
    "demo": ("setup", "demo"),
    "init": ("setup", "init"),
    "version": ("about", "version"),
}


DISTRIBUTION = "team-agent"


def package_version() -> str:
    """The installed team-agent's version (its package metadata), or `unknown` from a bare
    source tree; bug reports and `pipx`/`uv tool` upgrades need to know which one runs.

    `importlib.metadata` is imported here, not at the top: it costs 30 ms, which every
    `reconcile --once` would pay for a flag it does not use.
    """
    from importlib import metadata

    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"team-agent {package_version()}")
        ctx.exit()


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use (click's documented pattern)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(VERBS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = VERBS.get(cmd_name)
        if where is None:
            return None
        module = importlib.import_module(f"reconciler.cli.verbs.{where[0]}")
        command = getattr(module, where[1])
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-V",
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Print the version and exit.",
)
@click.option(
    "-f",
    "--file",
    "spec_file",
    type=click.Path(path_type=Path),
    default=None,
    help="The spec (default: ./team.spec.yaml, then ./.team/current/team.spec.yaml).",
)
@click.option(
    "--tmux-socket",
    envvar="TEAM_AGENT_TMUX_SOCKET",
    default=None,
    help="tmux -L NAME for the workers (overrides runtime.tmux_socket).",
)
@click.pass_context
def cli(ctx: click.Context, spec_file: Path | None, tmux_socket: str | None) -> None:
    """Keep a team of AI coding agents running in tmux as team.spec.yaml declares."""
    ctx.obj = {"spec_file": spec_file, "socket": tmux_socket}


def main() -> None:
    cli(prog_name="team-agent")

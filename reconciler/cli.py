"""`team-agent`: the command group; the verbs live in `reconciler.verbs`.

Read-only verbs (`status`, `wait`, `plan`, `events`, `logs`) never change the world and
never take the lock; `reconcile`, `run` and `down` hold the workspace lock while they act.
"""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.verbs import (
    converge,
    inspect,
    leader,
    messages,
    orphans,
    ownership,
    results,
    setup,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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


VERBS: tuple[click.Command, ...] = (
    setup.validate,
    converge.reconcile,
    converge.run,
    inspect.status,
    inspect.wait,
    inspect.plan_cmd,
    converge.down,
    orphans.orphans,
    inspect.events,
    inspect.logs,
    inspect.attach,
    leader.identity,
    leader.leader,
    ownership.claim_leader,
    ownership.takeover,
    messages.send,
    messages.inbox,
    results.report,
    results.results,
    messages.approvals,
    setup.demo,
    setup.init,
)
for verb in VERBS:
    cli.add_command(verb)
cli.add_command(inspect.plan_cmd, name="diff")


def main() -> None:
    cli(prog_name="team-agent")

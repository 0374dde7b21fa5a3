"""What a provider adapter is: the knowledge of one agent CLI, as data.

A provider turns a spec agent into a `LaunchConfig` (argv, env, cwd) and names how to tell
that the CLI is ready. The agents controller hashes the `LaunchConfig` to decide "recreate
or leave alone", so everything that should cause a recreate when it changes must be in it,
and nothing else (the resume id of a session is added at launch time by the sessions
controller and does not change the hash).

Later adapters (claude, codex, ...) add session capture, resume argv and first-run dialogs
to the same protocol; `shell` and `fake` show the minimal shape.
"""

from __future__ import annotations

from typing import Protocol

from reconciler.launch import (
    ENV_AGENT_ID,
    ENV_TEAM_ID,
    ENV_WORKSPACE,
    LaunchConfig,
    LaunchContext,
)
from reconciler.spec import Agent


class Provider(Protocol):
    """One agent CLI's adapter."""

    @property
    def name(self) -> str:
        """The `provider:` value of the spec this adapter serves."""
        ...

    def launch(self, agent: Agent, ctx: LaunchContext) -> LaunchConfig:
        """The launch configuration for a fresh start of `agent`."""
        ...


def agent_cwd(agent: Agent, ctx: LaunchContext) -> str:
    """The agent's working folder: `working_directory` relative to the workspace."""
    if agent.working_directory:
        return str((ctx.workspace / agent.working_directory).resolve())
    return str(ctx.workspace)


def base_env(agent: Agent, ctx: LaunchContext) -> dict[str, str]:
    """The spec's env plus the team-agent identity variables (config hash added at launch)."""
    env = dict(agent.env)
    env[ENV_AGENT_ID] = agent.id
    env[ENV_TEAM_ID] = ctx.team_id
    env[ENV_WORKSPACE] = str(ctx.workspace)
    return env


def with_readiness(agent: Agent, default: str | None) -> str | None:
    """The spec's readiness pattern wins over the provider's default."""
    return agent.readiness.pattern if agent.readiness is not None else default

"""The two providers that need no AI CLI: `shell` (any argv) and `fake` (our stand-in agent).

`fake` runs `reconciler.fakeagent.agent` with the interpreter that runs team-agent, so the demo
and the tests work on a machine with no agent CLI and no network. Neither declares dialogs
or sessions: their profile is empty, so no `SessionCaptured` condition is reported.
"""

from __future__ import annotations

from dataclasses import dataclass

from controllers.providers.base import (
    ProviderProfile,
    launch_config,
)
from reconciler.api.launch import LaunchConfig, LaunchContext
from reconciler.api.spec import Agent
from reconciler.launcher.interpreter import module_argv

FAKE_READINESS = r"^fake> "


@dataclass(frozen=True)
class ShellProvider:
    """Runs the spec's `command` as given: an argv list, never a shell string."""

    name: str = "shell"

    def launch(self, agent: Agent, ctx: LaunchContext) -> LaunchConfig:
        if not agent.command:
            raise ValueError(f"agent {agent.id}: provider shell needs a command")
        return launch_config(self.name, agent, ctx, (*agent.command, *agent.args), readiness=None)

    def profile(self, agent: Agent, ctx: LaunchContext, launch: LaunchConfig) -> ProviderProfile:
        return ProviderProfile()


@dataclass(frozen=True)
class FakeProvider:
    """The fake agent CLI shipped with team-agent (banner, `fake> ` prompt, transcript)."""

    name: str = "fake"

    def launch(self, agent: Agent, ctx: LaunchContext) -> LaunchConfig:
        argv: tuple[str, ...]
        if agent.command:
            argv = (*agent.command, *agent.args)
        else:
            # Not `-m`: the pane starts in the workspace, which may hold its own `controllers/`.
            argv = (*module_argv(ctx.python, "reconciler.fakeagent.agent"), *agent.args)
        if agent.initial_prompt:
            argv = (*argv, agent.initial_prompt)
        return launch_config(self.name, agent, ctx, argv, readiness=FAKE_READINESS)

    def profile(self, agent: Agent, ctx: LaunchContext, launch: LaunchConfig) -> ProviderProfile:
        return ProviderProfile()

"""OpenCode (`opencode`): launch flags; sessions reported as NotSupported.

OpenCode resumes with `opencode --session <id>`, but it chooses the id itself (`ses_...`),
takes none from the caller and records nothing the agent could carry (no instructions
flag), so two OpenCode agents in one folder cannot be told apart by what is on disk.
Rather than guess by newest file, team-agent reports `SessionCaptured=False,
reason=NotSupported` and starts OpenCode fresh on a restart. Permissions and system
prompts live in `opencode.json` / agent files, not on the command line.
"""

from __future__ import annotations

from dataclasses import dataclass

from controllers.providers.base import (
    InputProfile,
    ProviderProfile,
    command_prefix,
    launch_config,
    no_system_prompt,
)
from reconciler.launch import LaunchConfig, LaunchContext
from reconciler.spec import Agent

OPENCODE_READINESS = r"ctrl\+p commands"
NOT_SUPPORTED = (
    "opencode chooses its own session ids and records nothing team-agent can attribute to "
    "one agent; restarts start a fresh session"
)


OPENCODE_INPUT = InputProfile(
    prompt=r"^┃ (?P<input>.*)",
    chrome=r"ctrl\+p commands|enter send",
    busy=r"esc interrupt",
)


@dataclass(frozen=True)
class OpenCodeProvider:
    """`opencode --model provider/model ...args [--prompt text]`."""

    name: str = "opencode"

    def launch(self, agent: Agent, ctx: LaunchContext) -> LaunchConfig:
        no_system_prompt(agent, self.name, "use an agent file or opencode.json")
        if agent.permission_mode:
            raise ValueError("opencode has no permission flag; set permissions in opencode.json")
        options: list[str] = []
        if agent.model:
            options += ["--model", agent.model]
        options += agent.args
        last = ["--prompt", agent.initial_prompt] if agent.initial_prompt else []
        return launch_config(
            self.name,
            agent,
            ctx,
            (*command_prefix(agent, self.name), *options, *last),
            readiness=OPENCODE_READINESS,
        )

    def profile(self, agent: Agent, ctx: LaunchContext, launch: LaunchConfig) -> ProviderProfile:
        return ProviderProfile(sessions_unsupported=NOT_SUPPORTED)

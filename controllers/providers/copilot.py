"""GitHub Copilot CLI (`copilot`): launch flags, first-run dialogs, pre-assigned sessions.

Copilot keeps each session in `$COPILOT_HOME/session-state/<id>/events.jsonl` (default
`~/.copilot`). A fresh start passes `--session-id <uuid>`; a restart resumes with
`--resume=<id>`. Copilot takes no system prompt on its command line (it reads
`AGENTS.md` and `.github/copilot-instructions.md`), so one in the spec is refused.
Sources and certainty: `docs/providers.md`.
"""

from __future__ import annotations

from dataclasses import dataclass

from controllers.providers import transcripts
from controllers.providers.base import (
    Dialog,
    InputProfile,
    ProviderProfile,
    SessionSupport,
    command_prefix,
    launch_config,
    no_system_prompt,
)
from controllers.providers.claude import SELECTED
from reconciler.launch import LaunchConfig, LaunchContext
from reconciler.spec import Agent

COPILOT_READINESS = r"Type @ to mention files|\? for shortcuts"
PERMISSION_FLAGS = {
    "allow-all": ("--allow-all",),
    "yolo": ("--allow-all",),
    "allow-all-tools": ("--allow-all-tools",),
}

COPILOT_DIALOGS = (
    Dialog(
        name="folder trust",
        pattern=r"Confirm folder trust|Do you trust the files in this folder\?",
        trust=True,
        path_pattern=r"^\s*(?P<path>/[^\n]*?)\s*$",
        # "1. Yes" trusts for this session only; "remember this folder" is never chosen.
        accept_when=SELECTED + r"\s*1\.\s*Yes\s*$",
        accept_keys=("Enter",),
    ),
    Dialog(name="login", pattern=r"Please use /login|You are not logged in"),
)


COPILOT_INPUT = InputProfile(
    prompt=r"^> (?P<input>.*)",
    idle_text=r"^Type @ to mention files.*?\? for shortcuts",
    busy=r"Esc to cancel|esc to interrupt",
)


@dataclass(frozen=True)
class CopilotProvider:
    """`copilot --model M --allow-all-tools ...args [-i prompt]`."""

    name: str = "copilot"

    def _parts(self, agent: Agent) -> tuple[tuple[str, ...], list[str]]:
        no_system_prompt(agent, self.name, "use AGENTS.md or .github/copilot-instructions.md")
        options: list[str] = []
        if agent.model:
            options += ["--model", agent.model]
        mode = agent.permission_mode
        if mode in PERMISSION_FLAGS:
            options += PERMISSION_FLAGS[mode]
        elif mode:
            raise ValueError(
                f"copilot permission_mode {mode!r} is not one of: {', '.join(PERMISSION_FLAGS)}"
            )
        options += agent.args
        return command_prefix(agent, self.name), options

    def launch(self, agent: Agent, ctx: LaunchContext) -> LaunchConfig:
        prefix, options = self._parts(agent)
        last = ["--interactive", agent.initial_prompt] if agent.initial_prompt else []
        return launch_config(
            self.name, agent, ctx, (*prefix, *options, *last), readiness=COPILOT_READINESS
        )

    def profile(self, agent: Agent, ctx: LaunchContext, launch: LaunchConfig) -> ProviderProfile:
        prefix, options = self._parts(agent)
        return ProviderProfile(
            dialogs=COPILOT_DIALOGS,
            sessions=SessionSupport(
                layout=transcripts.COPILOT,
                attribution="preassigned",
                new_args=("--session-id", "{id}"),
                resume_args=("--resume={id}",),
                resume_base=(*prefix, *options),
                insert_at=len(prefix),
            ),
        )

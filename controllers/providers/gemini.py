"""Gemini CLI (`gemini`): launch flags, first-run dialogs, pre-assigned sessions.

Newer Gemini CLI builds take `--session-id <id>` for a new session and `--resume <id>` for
an existing one; chats live in `~/.gemini/tmp/<project hash>/chats/session-<stamp>-<id8>`.
Gemini has no system-prompt flag: `system_prompt_file` becomes `GEMINI_SYSTEM_MD` (which
*replaces* Gemini's built-in system prompt), an inline `system_prompt` is refused. Its
folder-trust dialog names the folder but not its full path, so it is never answered.
Sources and certainty: `docs/providers.md`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from controllers.providers import transcripts
from controllers.providers.base import (
    Dialog,
    InputProfile,
    ProviderProfile,
    SessionSupport,
    base_env,
    command_prefix,
    launch_config,
)
from reconciler.launch import LaunchConfig, LaunchContext
from reconciler.spec import Agent

GEMINI_READINESS = r"Type your message or @path/to/file"

GEMINI_DIALOGS = (
    # Shows the folder's name only: `path_pattern` stays None, so it is never answered.
    Dialog(name="folder trust", pattern=r"Do you trust this folder\?", trust=True),
    Dialog(name="login", pattern=r"How would you like to authenticate"),
)


GEMINI_INPUT = InputProfile(
    prompt=r"^>\s+(?P<input>.*)",
    idle_text=r"^Type your message or @path/to/file",
    busy=r"esc to cancel",
)


@dataclass(frozen=True)
class GeminiProvider:
    """`gemini --model M --approval-mode P ...args [-i prompt]`."""

    name: str = "gemini"

    def _parts(self, agent: Agent) -> tuple[tuple[str, ...], list[str]]:
        if agent.system_prompt is not None:
            raise ValueError(
                "gemini takes no system prompt on its command line; use system_prompt_file "
                "(passed as GEMINI_SYSTEM_MD) or GEMINI.md"
            )
        options: list[str] = []
        if agent.model:
            options += ["--model", agent.model]
        if agent.permission_mode:
            options += ["--approval-mode", agent.permission_mode]
        options += agent.args
        return command_prefix(agent, self.name), options

    def launch(self, agent: Agent, ctx: LaunchContext) -> LaunchConfig:
        prefix, options = self._parts(agent)
        env = base_env(agent, ctx)
        if agent.system_prompt_file is not None:
            path = Path(agent.system_prompt_file)
            env.setdefault(
                "GEMINI_SYSTEM_MD", str(path if path.is_absolute() else ctx.workspace / path)
            )
        last = ["--prompt-interactive", agent.initial_prompt] if agent.initial_prompt else []
        return launch_config(
            self.name, agent, ctx, (*prefix, *options, *last), readiness=GEMINI_READINESS, env=env
        )

    def profile(self, agent: Agent, ctx: LaunchContext, launch: LaunchConfig) -> ProviderProfile:
        prefix, options = self._parts(agent)
        return ProviderProfile(
            dialogs=GEMINI_DIALOGS,
            sessions=SessionSupport(
                layout=transcripts.GEMINI,
                attribution="preassigned",
                new_args=("--session-id", "{id}"),
                resume_args=("--resume", "{id}"),
                resume_base=(*prefix, *options),
                insert_at=len(prefix),
            ),
        )

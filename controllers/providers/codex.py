# ruff: noqa: RUF001  (the real CLIs draw these glyphs)
"""Codex CLI (`codex`): launch flags, first-run dialogs, tagged sessions.

Codex chooses its own session id (a UUIDv7) and writes the rollout
`$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<local start>-<id>.jsonl` at the first user
message. Two Codex agents started in one folder within a second cannot be told apart by
cwd and time, so each carries a tag of its own into the rollout: the developer
instructions (`-c developer_instructions=...`, after the spec's system prompt) end with
`Session tag: team-agent:<digest of team, workspace and agent>`. The observer attributes
the rollout holding an agent's tag to that agent, never the newest file alone.

A restart resumes with `codex resume <id>` (the session arguments go right after the
command) and never repeats the initial prompt.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from controllers.providers import transcripts
from controllers.providers.base import (
    Dialog,
    InputProfile,
    ProviderProfile,
    SessionSupport,
    command_prefix,
    launch_config,
    system_prompt_text,
)
from reconciler.launch import LaunchConfig, LaunchContext
from reconciler.spec import Agent

CODEX_READINESS = r"context left|\? for shortcuts"
APPROVAL_POLICIES = ("untrusted", "on-failure", "on-request", "never")
MODE_FLAGS = {
    "full-auto": ("--full-auto",),
    "dangerously-bypass-approvals-and-sandbox": ("--dangerously-bypass-approvals-and-sandbox",),
}

CODEX_DIALOGS = (
    Dialog(
        name="folder trust",
        pattern=r"Do you trust the contents of this directory\?|allow Codex to work in this folder",
        trust=True,
        path_pattern=r"^\s*> You are (?:running Codex )?in (?P<path>/[^\n]*?)\s*$",
        accept_when=r"1\.\s*Yes",
        accept_keys=("1",),
    ),
    Dialog(name="update available", pattern=r"Update available!"),
    # Resuming a session recorded in another folder (working_directory changed).
    Dialog(name="resume working directory", pattern=r"Choose working directory to resume"),
    Dialog(name="login", pattern=r"Sign in with ChatGPT"),
)


def session_tag(team_id: str, workspace: str, agent_id: str) -> str:
    """The identifier a Codex agent carries into its rollout (stable, no spec text in it)."""
    digest = hashlib.sha256(f"{team_id}\0{workspace}\0{agent_id}".encode()).hexdigest()[:20]
    return f"team-agent:{digest}"


def toml_string(text: str) -> str:
    """A TOML basic string (a JSON string is one: same quotes and escapes)."""
    return json.dumps(text)


CODEX_INPUT = InputProfile(
    prompt=r"^› (?P<input>.*)",
    chrome=r"context left|\? for shortcuts|⏎ send",
    idle_text=(
        r"^(?:Ask Codex to do anything|Find and fix a bug in @filename|Explain this codebase"
        r"|Improve documentation in @filename|Summarize recent commits|Write tests for @filename"
        r"|Implement \{feature\}|Run /review on my current changes)"
    ),
    busy=r"esc to interrupt",
    paste_placeholder=r"\[Pasted Content \d+ chars\]",
)


@dataclass(frozen=True)
class CodexProvider:
    """`codex --model M -a P -c developer_instructions="..." ...args [prompt]`."""

    name: str = "codex"

    def _parts(self, agent: Agent, ctx: LaunchContext) -> tuple[tuple[str, ...], list[str], str]:
        tag = session_tag(ctx.team_id, str(ctx.workspace), agent.id)
        options: list[str] = []
        if agent.model:
            options += ["--model", agent.model]
        mode = agent.permission_mode
        if mode in APPROVAL_POLICIES:
            options += ["--ask-for-approval", mode]
        elif mode in MODE_FLAGS:
            options += MODE_FLAGS[mode]
        elif mode:
            known = ", ".join([*APPROVAL_POLICIES, *MODE_FLAGS])
            raise ValueError(f"codex permission_mode {mode!r} is not one of: {known}")
        lines = [system_prompt_text(agent, ctx) or ""]
        lines.append(f"You are agent {agent.id} of team {ctx.team_id}. Session tag: {tag}")
        instructions = "\n\n".join(line for line in lines if line)
        options += ["-c", "developer_instructions=" + toml_string(instructions)]
        options += agent.args
        return command_prefix(agent, self.name), options, tag

    def launch(self, agent: Agent, ctx: LaunchContext) -> LaunchConfig:
        prefix, options, _ = self._parts(agent, ctx)
        last = [agent.initial_prompt] if agent.initial_prompt else []
        return launch_config(
            self.name, agent, ctx, (*prefix, *options, *last), readiness=CODEX_READINESS
        )

    def profile(self, agent: Agent, ctx: LaunchContext, launch: LaunchConfig) -> ProviderProfile:
        prefix, options, tag = self._parts(agent, ctx)
        return ProviderProfile(
            dialogs=CODEX_DIALOGS,
            sessions=SessionSupport(
                layout=transcripts.CODEX,
                attribution="tagged",
                resume_args=("resume", "{id}"),
                resume_base=(*prefix, *options),
                insert_at=len(prefix),
                tag=tag,
            ),
        )

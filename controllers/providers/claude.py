# ruff: noqa: RUF001, RUF003  (the real CLIs draw these glyphs)
"""Claude Code (`claude`): launch flags, first-run dialogs, pre-assigned sessions.

Sessions are pre-assigned: a fresh start passes `--session-id <uuid>` chosen by the
sessions planner, so the transcript `<config>/projects/<encoded cwd>/<uuid>.jsonl` can only
be this agent's. Claude writes it at the first user message; until then the id can be
reused (`--session-id` refuses only an id whose transcript exists). A restart resumes with
`--resume <id>` and never repeats the initial prompt. Sources and certainty of each fact:
`docs/providers.md`.
"""

from __future__ import annotations

from dataclasses import dataclass

from controllers.providers import transcripts
from controllers.providers.base import (
    Approval,
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

CLAUDE_READINESS = r"\? for shortcuts"
SKIP_PERMISSIONS = "dangerously-skip-permissions"
SELECTED = "\u276f"  # the pointer before the selected choice of a select list

CLAUDE_DIALOGS = (
    Dialog(
        name="folder trust",
        pattern=r"Yes, I trust this folder|Do you trust the files in this folder\?",
        trust=True,
        path_pattern=r"^\s*(?P<path>/[^\n]*?)\s*$",
        accept_when=SELECTED + r"\s*\d\.\s*Yes, I trust this folder",
        accept_keys=("Enter",),
    ),
    Dialog(name="theme (first-run setup)", pattern=r"Choose the text style that looks best"),
    Dialog(name="login", pattern=r"Select login method"),
    Dialog(name="bypass-permissions warning", pattern=r"running in Bypass Permissions mode"),
)


CLAUDE_TOOLS = r"Bash|Edit|Write|Read|MultiEdit|NotebookEdit|WebFetch|WebSearch|Fetch|Create"
CLAUDE_INPUT = InputProfile(
    # Not a numbered menu entry: `❯ 1. Yes` points into a permission or trust menu.
    prompt=r"^\s*[❯>] (?!\d+\. )(?P<input>.*)",
    chrome=r"^\s*─{3,}\s*$|\? for shortcuts|shift\+tab to cycle|accept edits on|bypass permissions",
    idle_text=r'^Try "[^"]*"',
    busy=r"esc to interrupt",
    paste_placeholder=r"\[Pasted text #\d+(?: \+\d+ lines)?\]",
    approvals=(
        Approval(
            # The tool header, with "Do you want to ..." within the next lines.
            pattern=rf"^\s*(?P<tool>{CLAUDE_TOOLS})(?: command| file)?\s*$"
            r"(?=(?:\n.*){0,15}\n.*Do you want to)",
            approve_keys=("1",),
        ),
    ),
)


@dataclass(frozen=True)
class ClaudeProvider:
    """`claude [prompt] --model M --permission-mode P --append-system-prompt S ...args`."""

    name: str = "claude"

    def _parts(self, agent: Agent, ctx: LaunchContext) -> tuple[tuple[str, ...], list[str]]:
        options: list[str] = []
        if agent.model:
            options += ["--model", agent.model]
        if agent.permission_mode == SKIP_PERMISSIONS:
            options.append("--" + SKIP_PERMISSIONS)
        elif agent.permission_mode:
            options += ["--permission-mode", agent.permission_mode]
        prompt = system_prompt_text(agent, ctx)
        if prompt:
            options += ["--append-system-prompt", prompt]
        options += agent.args
        return command_prefix(agent, self.name), options

    def launch(self, agent: Agent, ctx: LaunchContext) -> LaunchConfig:
        prefix, options = self._parts(agent, ctx)
        # The prompt right after the command: a variadic option (--mcp-config a b) in
        # `args` cannot swallow it there.
        first = [agent.initial_prompt] if agent.initial_prompt else []
        return launch_config(
            self.name, agent, ctx, (*prefix, *first, *options), readiness=CLAUDE_READINESS
        )

    def profile(self, agent: Agent, ctx: LaunchContext, launch: LaunchConfig) -> ProviderProfile:
        prefix, options = self._parts(agent, ctx)
        return ProviderProfile(
            dialogs=CLAUDE_DIALOGS,
            sessions=SessionSupport(
                layout=transcripts.CLAUDE,
                attribution="preassigned",
                new_args=("--session-id", "{id}"),
                resume_args=("--resume", "{id}"),
                resume_base=(*prefix, *options),
                insert_at=len(prefix),
            ),
        )

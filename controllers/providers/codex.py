# ruff: noqa: RUF001, RUF002, RUF003  (the real CLIs draw these glyphs)
"""Codex CLI (`codex`): launch flags, screens, dialogs, approvals and tagged sessions.

Everything here was measured on `@openai/codex` 0.171.0 in tmux at 200x50 against a mock
model server (fixtures: tests/fixtures/screens/codex/0.171.0/, docs/providers.md):

* Launch. `codex --no-daemon [--model M] [permission flags] -c developer_instructions=...
  [args] [prompt]`. Without `--no-daemon` or any `-c`, Codex starts a shared
  `codex app-server` daemon per CODEX_HOME that outlives the pane and carries the pane's
  environment; with either, the TUI serves itself in process and nothing outlives it.
  `-a/--ask-for-approval` takes only `on-request` and `never` (others exit 2),
  `--sandbox` `read-only`, `workspace-write`, `danger-full-access`; `--full-auto` is gone.
* Ready. The box `› Ask Codex to do anything` is drawn ~0.5 s before the session is
  configured, with only `? for shortcuts` under it; the folder-trust dialog (in a git
  repository) comes after that early box. Ready is therefore the configured layout: the box,
  a blank row, and the status line `<model> <effort> · <cwd>[ · <thread title>]`
  (`CODEX_READINESS`), which is never drawn before the trust dialog.
* The box. `› ` opens it and the cursor sits at the end of the typed text (the placeholder
  lies after the cursor). Echoed user turns look the same (`› text`, another background
  colour) but lie above the cursor. Menus draw their selected choice as `› 1. ...` (trust,
  approval, resume folder), so a row `› <digits>. ` never opens the box. A paste longer than
  1000 characters shows as `[Pasted Content N chars]`; a bracketed paste followed by
  Enter submits (typed keys followed fast by Enter insert a newline instead).
* Busy. `• Working (Ns • esc to interrupt)` (or `Reconnecting... N/5 (… esc to
  interrupt)`) shows only until the first streamed token; mid-stream the screen looks
  idle. The pane title, though, starts with a braille spinner (`⠋ <title> | <folder>`) for
  the whole turn, from ~12 ms after Enter to the end of the reply (`busy_title`). Enter
  while a reply streams interrupts it, so a message waits for the turn to end.
* Approval. `Would you like to run the following command?` above `› 1. Yes, proceed (y)`;
  the model's tool is `exec_command` (with `sandbox_permissions: require_escalated`), so
  that is the tool name `approvals` reports and `auto_approve` takes. `y` allows once.
* Sessions. Codex chooses its own session id (a UUIDv7) and writes the rollout
  `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<local start>-<id>.jsonl` at the first user
  message; there is no flag to choose the id of a new session. Two Codex agents started in
  one folder within a second cannot be told apart by cwd and time, so each carries a tag
  of its own into the rollout: the developer instructions end with `Session tag:
  team-agent:<digest of team, workspace and agent>`. The observer attributes the rollout
  holding an agent's tag to that agent, never the newest file alone. A restart resumes
  with `codex resume <id>` (options after the id are accepted) and never repeats the
  initial prompt; after kill -9 the resume shows no "in use" dialog.
"""

from __future__ import annotations

import hashlib
import json
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
from reconciler.api.launch import LaunchConfig, LaunchContext
from reconciler.api.spec import Agent

MEASURED_VERSION = "0.171.0"

# The configured layout: the box, a blank row, the status line (model, then ` · <cwd>`, the
# cwd absolute or under `~`). The early box has only `? for shortcuts` under it, and its
# footer's `⚠ N warnings · f2 to view` has no path after its ` · `.
CODEX_READINESS = r"^› .*\n[ \t]*\n  \S.* · [~/]"

# permission_mode -> flags (reconciler.api.spec.PERMISSION_MODES["codex"] lists the same keys).
PERMISSION_FLAGS: dict[str, tuple[str, ...]] = {
    # Portable modes (team-agent 0.2.3).
    "restricted": ("--sandbox", "read-only", "--ask-for-approval", "on-request"),
    "ask": ("--ask-for-approval", "on-request"),
    "trusted": ("--dangerously-bypass-approvals-and-sandbox",),
    # Codex's own values.
    "on-request": ("--ask-for-approval", "on-request"),
    "never": ("--ask-for-approval", "never"),
    "dangerously-bypass-approvals-and-sandbox": ("--dangerously-bypass-approvals-and-sandbox",),
}

CODEX_DIALOGS = (
    Dialog(
        # Folder access
        # /path/of/the/git/root
        #
        # Trust this folder? Codex can read, edit, and run files here, ...
        # › 1. Trust and continue
        #   2. Back to Agent Command Center
        # Shown only in a git repository; Enter takes the selected choice ("1" does not).
        name="folder trust",
        pattern=r"^  Trust this folder\? ",
        trust=True,
        path_pattern=r"^  Folder access[ \t]*\n  (?P<path>/[^\n]*?)[ \t]*$",
        accept_when=r"^› 1\. Trust and continue",
        accept_keys=("Enter",),
    ),
    # `codex resume <id>` from another folder than the session's (working_directory changed).
    Dialog(name="resume working directory", pattern=r"^  Working directory · resume"),
    # No model provider configured and no login.
    Dialog(name="login", pattern=r"Choose how you want to use Codex|Sign in with ChatGPT"),
    # Not seen on 0.171.0 (offline runs never check for updates); kept from earlier versions.
    Dialog(name="update available", pattern=r"Update available!"),
)


def session_tag(team_id: str, workspace: str, agent_id: str) -> str:
    """The identifier a Codex agent carries into its rollout (stable, no spec text in it)."""
    digest = hashlib.sha256(f"{team_id}\0{workspace}\0{agent_id}".encode()).hexdigest()[:20]
    return f"team-agent:{digest}"


def toml_string(text: str) -> str:
    """A TOML basic string (a JSON string is one: same quotes and escapes)."""
    return json.dumps(text)


CODEX_INPUT = InputProfile(
    prompt=r"^› (?!\d+\. )(?P<input>.*)",
    # Without a cursor (bare text): the status line and the footers are decoration.
    chrome=(
        r"^  \S+ \S+ · [~/]|^  (?:← for agents · )?\? for shortcuts|^  tab to queue message"
        r"|^ +⚠ \d+ warnings? · f2 to view"
    ),
    idle_text=r"^Ask Codex to do anything",
    busy=r"esc to interrupt",
    busy_title=r"^[\u2800-\u28ff] ",
    paste_placeholder=r"\[Pasted Content \d+ chars\]",
    approvals=(
        Approval(
            pattern=r"^  Would you like to (?P<tool>run the following command)\?",
            approve_keys=("y",),
            tool_names=(("run the following command", "exec_command"),),
        ),
    ),
)


def permission_flags(mode: str | None) -> tuple[str, ...]:
    """Codex's flags for a spec `permission_mode` (none: Codex's own defaults)."""
    if mode is None:
        return ()
    try:
        return PERMISSION_FLAGS[mode]
    except KeyError:
        known = ", ".join(PERMISSION_FLAGS)
        raise ValueError(f"codex permission_mode {mode!r} is not one of: {known}") from None


@dataclass(frozen=True)
class CodexProvider:
    """`codex --no-daemon --model M <permission flags> -c developer_instructions="..." ...`."""

    name: str = "codex"

    def _parts(self, agent: Agent, ctx: LaunchContext) -> tuple[tuple[str, ...], list[str], str]:
        tag = session_tag(ctx.team_id, str(ctx.workspace), agent.id)
        options: list[str] = ["--no-daemon"]
        if agent.model:
            options += ["--model", agent.model]
        options += permission_flags(agent.permission_mode)
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

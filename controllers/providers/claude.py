# ruff: noqa: RUF001, RUF002, RUF003  (the real CLIs draw these glyphs)
"""Claude Code (`claude`): launch flags, screens, dialogs, approvals and pre-assigned sessions.

Everything here was measured on `@anthropic-ai/claude-code` 2.1.197 in tmux at 200x50
against a mock model server (fixtures: tests/fixtures/screens/claude/2.1.197/, facts:
docs/providers.md):

* The box. `❯` + U+00A0 at column 0 between two full-width `─` rules; the cursor sits in it
  at the end of the typed text. Echoed user turns in the transcript use `❯` + a plain
  space, and menus draw their selected choice as ` ❯ 1. Yes` (plain space), so only the
  no-break space opens the box. The box is readiness: Claude draws its first-run dialogs
  first (folder trust ~1.5 s after start; the box never showed before it, 30 ms polling),
  so no settling time is needed.
* Busy. The spinner line `<glyph> <Verb>… (Ns · ↓ N tokens)` (glyph one of `·✢✳✶✻✽*`,
  random verb) while a turn runs; the finished line `<glyph> <Verb> for Ns` has no `…`.
  `esc to interrupt` is in the footer while busy, but not in a turn that follows a paste
  (the footer then keeps saying `paste again to expand`; fixture busy_after_paste), so the
  spinner line decides. Retries show `✻ API error · Retrying in Ns · attempt i/n` (no
  `…`). Text typed while busy stays in the box; Enter queues it above the box and the box
  shows `Press up to edit queued messages` (cursor at its start, so the box reads empty):
  that counts as busy, and team-agent never relies on Claude's queue.
* Paste. A long bracketed paste shows `[Pasted text #N +M lines]`; Enter right after it
  submits the whole text intact.
* Approval. Under a `─` rule: ` Bash command`, the command, `Do you want to proceed?`,
  ` ❯ 1. Yes` (selected), `2. Yes, and always allow …`, `3. No`; no box meanwhile. `1`
  allows once at once (0.1 s; it picks "1. Yes" whatever is selected); so does Enter.
* Dialogs, in the order a fresh HOME meets them: the theme picker, `Security notes: …
  Press Enter to continue…`, folder trust (`Accessing workspace:` / the folder / `Quick
  safety check…` / ` ❯ 1. Yes, I trust this folder` / `2. No, exit`; the same with and
  without git), `Detected a custom API key in your environment` (default "2. No"), and
  with bypass permissions `WARNING: Claude Code running in Bypass Permissions mode`
  (default "1. No, exit"). Only folder trust is ever answered (Enter, on opt-in).
* Permissions. `--permission-mode` takes `acceptEdits`, `auto`, `bypassPermissions`,
  `default`, `dontAsk`, `plan` (anything else: exit 1). Run as root, `bypassPermissions`
  and `--dangerously-skip-permissions` exit 1 at once ("--dangerously-skip-permissions
  cannot be used with root/sudo privileges for security reasons") unless `IS_SANDBOX=1`.
* Sessions are pre-assigned: `--session-id <uuid>` on a fresh start; the transcript
  `<config>/projects/<encoded cwd>/<uuid>.jsonl` appears at the first message, and until
  then the id can be used again (`--session-id` refuses only an id whose transcript
  exists: "Error: Session ID X is already in use."). A restart resumes with
  `--resume <id>` (after kill -9 too: no lock, no "in use" question) and never repeats
  the initial prompt.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
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

MEASURED_VERSION = "2.1.197"
BOX = "❯\u00a0"  # the input box's first row begins with these two characters
RULE = r"─{20,}[ \t]*"  # the full-width rules above and below the box (and dialogs)
SANDBOX_ENV = "IS_SANDBOX"  # lets root use bypassPermissions (measured)

# permission_mode -> flags (reconciler.api.spec.PERMISSION_MODES["claude"] lists the same keys).
BYPASS = ("--permission-mode", "bypassPermissions")
PERMISSION_FLAGS: dict[str, tuple[str, ...]] = {
    # Portable modes (team-agent 0.2.3): read-only planning; Claude's own asking default;
    # no prompts at all (the person confirms Claude's bypass warning once per HOME).
    "restricted": ("--permission-mode", "plan"),
    "ask": ("--permission-mode", "default"),
    "trusted": BYPASS,
    # Claude's own values.
    "acceptEdits": ("--permission-mode", "acceptEdits"),
    "auto": ("--permission-mode", "auto"),
    "bypassPermissions": BYPASS,
    "default": ("--permission-mode", "default"),
    "dontAsk": ("--permission-mode", "dontAsk"),
    "plan": ("--permission-mode", "plan"),
    "dangerously-skip-permissions": ("--dangerously-skip-permissions",),
}
ROOT_REFUSED = "--dangerously-skip-permissions cannot be used with root/sudo privileges"

CLAUDE_DIALOGS = (
    Dialog(
        #  Accessing workspace:
        #
        #  /path/of/the/folder
        #
        #  Quick safety check: Is this a project you created or one you trust? ...
        #  ❯ 1. Yes, I trust this folder
        #    2. No, exit
        # Enter takes the selected choice; the cursor sits on its `❯`.
        name="folder trust",
        pattern=r"Yes, I trust this folder",
        trust=True,
        path_pattern=r"Accessing workspace:[ \t]*\n(?:[ \t]*\n)*[ \t]*(?P<path>/[^\n]*?)[ \t]*$",
        accept_when=r"^ *❯ 1\. Yes, I trust this folder",
        accept_keys=("Enter",),
    ),
    # Onboarding of a HOME that never ran Claude (hasCompletedOnboarding false).
    Dialog(name="theme (first-run setup)", pattern=r"Choose the text style that looks best"),
    Dialog(name="security notes (first-run setup)", pattern=r"^ *Security notes:[ \t]*$"),
    # ANTHROPIC_API_KEY set but not approved in .claude.json: a person's decision.
    Dialog(name="custom API key", pattern=r"Detected a custom API key in your environment"),
    # bypassPermissions / --dangerously-skip-permissions until the person accepted it once.
    Dialog(name="bypass-permissions warning", pattern=r"running in Bypass Permissions mode"),
)

# The spinner line of a running turn: a glyph, the verb, `…` (the done line has no `…`).
SPINNER = r"^[·✢✳✶✻✽*] \S[^\n]*…"
CLAUDE_INPUT = InputProfile(
    prompt=rf"^{BOX}(?P<input>.*)",
    box_stop=rf"^{RULE}$",
    # Without a cursor (bare text): the rules and the footer are decoration.
    chrome=(
        rf"^{RULE}$|\? for shortcuts|esc to interrupt|paste again to expand|/effort"
        r"|shift\+tab to cycle|focus-events"
    ),
    idle_text=r'^Try "[^"]*"',  # a suggestion an empty box may show (kept from 2.0 builds)
    busy=(
        rf"{SPINNER}|esc to interrupt|· Retrying in \d+s · attempt \d+"
        r"|Press up to edit queued messages"
    ),
    paste_placeholder=r"\[Pasted text #\d+(?: \+\d+ lines)?\]",
    approvals=(
        Approval(
            # The tool's header (` Bash command`) right under a rule, "Do you want to ..."
            # below it.
            pattern=r"(?<=─\n) (?P<tool>[A-Z][A-Za-z]*)(?: command| file)?[ \t]*$"
            r"(?=(?:\n.*){0,20}\n +Do you want to )",
            approve_keys=("1",),
        ),
    ),
)


def permission_flags(
    mode: str | None, env: Mapping[str, str] | None = None, *, euid: int | None = None
) -> tuple[str, ...]:
    """Claude's flags for a spec `permission_mode` (none: Claude's own default).

    Raises ValueError for an unknown mode, and for a bypass mode when team-agent runs as
    root without `IS_SANDBOX=1` (in the agent's `env` or team-agent's environment):
    Claude would exit 1 at every start.
    """
    if mode is None:
        return ()
    try:
        flags = PERMISSION_FLAGS[mode]
    except KeyError:
        known = ", ".join(PERMISSION_FLAGS)
        raise ValueError(f"claude permission_mode {mode!r} is not one of: {known}") from None
    bypass = flags in (BYPASS, PERMISSION_FLAGS["dangerously-skip-permissions"])
    uid = os.geteuid() if euid is None else euid
    sandbox = (env or {}).get(SANDBOX_ENV, os.environ.get(SANDBOX_ENV))
    if bypass and uid == 0 and sandbox != "1":
        raise ValueError(
            f"claude refuses permission_mode {mode!r} as root ({ROOT_REFUSED}); run "
            f"team-agent as another user, or set {SANDBOX_ENV}=1 in the agent's env inside "
            "a sandbox"
        )
    return flags


@dataclass(frozen=True)
class ClaudeProvider:
    """`claude [prompt] --model M <permission flags> --append-system-prompt S ...args`."""

    name: str = "claude"

    def _parts(self, agent: Agent, ctx: LaunchContext) -> tuple[tuple[str, ...], list[str]]:
        options: list[str] = []
        if agent.model:
            options += ["--model", agent.model]
        options += permission_flags(agent.permission_mode, agent.env)
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
        # No readiness pattern: the input box found at the cursor is readiness.
        return launch_config(self.name, agent, ctx, (*prefix, *first, *options), readiness=None)

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

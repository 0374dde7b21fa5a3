"""Gemini CLI (`gemini`): launch flags, screens, dialogs, pre-assigned sessions.

Everything here was measured on Gemini CLI 0.61.0 (npm `@google/gemini-cli`, run against
the mock model with an API key); the screens are the fixtures in
`tests/fixtures/screens/gemini/0.61.0/`, the facts in `docs/providers.md`.

* The input box: ` > ` (` * ` in yolo mode) at column 1, the cursor after the typed
  text, the placeholder after the cursor; no rule below it, a full-width `─` rule two
  rows above it. Echoed user turns look exactly like the box (` > hello`), so only the
  cursor tells them apart. Rows after the first are indented three spaces. A paste of
  more than five lines or 500 characters shows `[Pasted Text: 300 lines]`. In shell
  mode (a person typed `!`) the sign is `!` and a message would run as a command: that
  is not the box. Working: ` ⠋ Thinking... (esc to cancel, 0s)` above the rule; typing
  then queues the text (sent once after the turn), but delivery waits instead.
* An Enter less than 30 ms after input is a newline, not a submit (the CLI's
  FAST_RETURN_TIMEOUT): `submit_delay_sec` 0.2 (100 ms and more submitted every time).
* Every start first draws a bare box: the rule and the box with nothing above them but
  the true-colour warning (fixtures `trust_preflash`, `resume_flash`). 0.4 s to over a
  second later (longer for a long conversation or a busy machine; measured) the header,
  the folder-trust dialog or the replayed conversation replaces it: `startup_flash`
  keeps that screen from ever counting as Ready, `settle_sec` 1.0 is a margin on top.
  The dialog names
  the folder only by its base name (`● 1. Trust folder (ws)`), never by its path, so it
  is never answered: another folder of the same name would look the same. After "Trust
  folder" the CLI restarts itself in the same pane (same pane pid, new child).
* Sessions: `~/.gemini/tmp/<slug>/chats/session-<YYYY-MM-DDTHH-MM>-<id8>.jsonl`, the
  slug from `~/.gemini/projects.json`, written at startup (not while the trust dialog
  waits: the child restarted after "Trust folder" creates it); `--session-id X` for an id
  that exists exits 42, so a restart always resumes (`--resume X`) once the file is
  there (`controllers.providers.transcripts.gemini_chats_dir`). A resume draws an empty
  box first (the flash above, 2.8 s after start), then ` ⠋ Resuming session...` without
  a box (+0.45 s, +1 s on a busy machine), then the replayed turns over the box. It also
  writes a metadata-only chat file of the same id under the current minute; the
  conversation stays in the first file.
* The shell tool's prompt: `│ Allow execution of [Shell]?` over `● 1. Allow once`; the
  key `1` picks "Allow once" at once whichever line is highlighted (measured).
* Stop: the launcher ignores SIGTERM and SIGHUP and its child outlives the pane; the
  group signal of `reconciler.apply.executor._terminate_agent` ends both.

Gemini has no system-prompt flag: `system_prompt_file` becomes `GEMINI_SYSTEM_MD` (which
*replaces* Gemini's built-in system prompt), an inline `system_prompt` is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from controllers.providers import transcripts
from controllers.providers.base import (
    Approval,
    Dialog,
    InputProfile,
    ProviderProfile,
    SessionSupport,
    base_env,
    command_prefix,
    launch_config,
)
from reconciler.api.launch import LaunchConfig, LaunchContext
from reconciler.api.spec import PERMISSION_MODES, Agent

# permission_mode -> flags (each accepted by the real CLI's parser, tests/unit).
# restricted: plan mode, read-only (the shell tool is not offered, writes are denied
# except Gemini's own plan files; measured and in its bundled policies/plan.toml);
# ask: Gemini's default (asks for every write and command); trusted: yolo, no prompts.
PERMISSION_FLAGS: dict[str, tuple[str, ...]] = {
    "restricted": ("--approval-mode", "plan"),
    "ask": ("--approval-mode", "default"),
    "trusted": ("--approval-mode", "yolo"),
    "default": ("--approval-mode", "default"),
    "auto_edit": ("--approval-mode", "auto_edit"),
    "yolo": ("--approval-mode", "yolo"),
    "plan": ("--approval-mode", "plan"),
}
assert set(PERMISSION_FLAGS) == set(PERMISSION_MODES["gemini"])

NEW_SESSION = ("--session-id", "{id}")  # exits 42 when the id exists already
RESUME_SESSION = ("--resume", "{id}")
INITIAL_PROMPT = "--prompt-interactive"

FRAME = r"^ ?│"  # the left edge of a dialog's box (some are indented one column)
GEMINI_DIALOGS = (
    # Names the folder (`● 1. Trust folder (ws)`), not its path: `path_pattern` stays None,
    # so it is never answered; a person answers it in the pane.
    Dialog(
        name="folder trust", pattern=rf"{FRAME} Do you trust the files in this folder\?", trust=True
    ),
    # First run without `security.auth.selectedType`, then the API key entry.
    Dialog(
        name="login", pattern=rf"{FRAME}\s+How would you like to authenticate for this project\?"
    ),
    Dialog(name="api key", pattern=rf"{FRAME} Enter Gemini API Key\b"),
    # Mid-conversation questions that need a person.
    Dialog(name="loop detection", pattern=rf"{FRAME} \?\s+A potential loop was detected"),
    Dialog(name="usage limit", pattern=rf"{FRAME} Usage limit reached for "),
)

GEMINI_INPUT = InputProfile(
    # ` > ` (default, auto_edit, plan) or ` * ` (yolo) at column 1; ` ! ` (shell mode) is
    # not a box a message may go into.
    prompt=r"^ [>*] (?P<input>.*)",
    # The full-width rule above the box, or the bottom or top edge of a dialog's frame:
    # the search for the box from the cursor never passes one.
    box_stop=r"^ ?[╭╰]?─{20,}",
    continuation=r"^   ",  # the rows after the first of a wrapped or multi-line text
    busy=r"\(esc to cancel, ",
    paste_placeholder=r"\[Pasted Text: \d+ (?:lines|chars)(?: #\d+)?\]",
    approvals=(
        Approval(
            pattern=r"^│ Allow execution of \[(?P<tool>[^\]]+)\]\?",
            approve_keys=("1",),  # "1. Allow once", chosen at once (measured)
        ),
    ),
    settle_sec=1.0,  # a margin after the flash: the trust dialog followed it by ~0.2 s
    # Blank rows, the true-colour warning and the shortcuts hint above the rule: nothing
    # of the header or of a conversation yet (see the module docstring).
    startup_flash=r"\A(?:[ \t]*(?:⚠[^\n]*|\? for shortcuts[ \t]*)?\n)*─{20,}",
    submit_delay_sec=0.2,  # an Enter within 30 ms of the paste is a newline
)


@dataclass(frozen=True)
class GeminiProvider:
    """`gemini [--model M] [--approval-mode P] ...args [--prompt-interactive prompt]`."""

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
        mode = agent.permission_mode
        if mode in PERMISSION_FLAGS:
            options += PERMISSION_FLAGS[mode]
        elif mode:
            raise ValueError(
                f"gemini permission_mode {mode!r} is not one of: {', '.join(PERMISSION_FLAGS)}"
            )
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
        last = [INITIAL_PROMPT, agent.initial_prompt] if agent.initial_prompt else []
        # No readiness pattern: the input box the cursor is in is readiness.
        return launch_config(
            self.name, agent, ctx, (*prefix, *options, *last), readiness=None, env=env
        )

    def profile(self, agent: Agent, ctx: LaunchContext, launch: LaunchConfig) -> ProviderProfile:
        prefix, options = self._parts(agent)
        return ProviderProfile(
            dialogs=GEMINI_DIALOGS,
            sessions=SessionSupport(
                layout=transcripts.GEMINI,
                attribution="preassigned",
                new_args=NEW_SESSION,
                resume_args=RESUME_SESSION,
                resume_base=(*prefix, *options),
                insert_at=len(prefix),
            ),
        )

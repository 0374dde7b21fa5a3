# ruff: noqa: RUF001, RUF002, RUF003  (the real CLI draws these glyphs)
"""GitHub Copilot CLI (`copilot`): launch flags, screens, dialogs, pre-assigned sessions.

Everything here was measured on Copilot CLI 1.0.102 (npm `@github/copilot`, run against
the mock model in bring-your-own-key mode); the screens are the fixtures in
`tests/fixtures/screens/copilot/1.0.102/`, the facts in `docs/providers.md`.

* Sessions: `$COPILOT_HOME` (else `~/.copilot`)`/session-state/<id>/`, the folder at
  startup, `events.jsonl` at the first message. `--session-id=<uuid>` creates the session
  when it is new and resumes it when it exists (even before `events.jsonl`), so it is the
  argument for both a fresh start and a restart; `--resume=<id>` fails (exit 1) for a
  session without `events.jsonl`. A restart after `kill -9` resumed the conversation.
* The input box: `❯` at column 0 between two full-width `─` rules, the cursor after the
  typed text; an echoed user turn is ` ❯ text` (one leading space). A paste of more than
  ten lines shows `[Paste #1 - 300 lines]`. Working: the footer reads
  `◉ Working · 56 B esc esc interrupt`; Enter while working empties the box and sends the
  message after the turn with no sign on screen, so a busy screen defers delivery.
* Dialogs draw no input box before them (no flash): `settle_sec` 0. Folder trust is a
  box with the folder in an inner box; "1. Yes" trusts for this session only, "2. Yes,
  and remember this folder for future sessions" (the key `2`, measured) writes
  `trustedFolders` to `config.json`: that is the answer on opt-in, so a restart does not
  ask again. "Session in use" (a lock naming a live process) is only reported.
* The shell tool's permission prompt is "Do you want to run this command?"; the screen
  never names the tool (the model calls it `bash`), so the prompt reports `bash`.
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
    no_system_prompt,
)
from reconciler.api.launch import LaunchConfig, LaunchContext
from reconciler.api.spec import PERMISSION_MODES, Agent

# permission_mode -> flags (each accepted by `copilot <flags> --help`, tests/unit).
# restricted: plan mode blocked a `touch` in the workspace ("Plan mode does not permit
# changes outside the session folder"); ask: Copilot's default (Manual Approval);
# trusted, allow-all, yolo: no prompts at all (tools, paths, URLs).
PERMISSION_FLAGS: dict[str, tuple[str, ...]] = {
    "restricted": ("--mode", "plan"),
    "ask": (),
    "trusted": ("--allow-all",),
    "allow-all": ("--allow-all",),
    "yolo": ("--yolo",),
    "allow-all-tools": ("--allow-all-tools",),
}
assert set(PERMISSION_FLAGS) == set(PERMISSION_MODES["copilot"])

SESSION_ARG = "--session-id={id}"  # creates the session when new, resumes it otherwise
INITIAL_PROMPT = "--interactive"

FRAME = r"│"  # the left and right edges of a dialog's box
COPILOT_DIALOGS = (
    Dialog(
        name="folder trust",
        pattern=r"^│ Confirm folder trust\b|^│ Do you trust the files in this folder\?",
        trust=True,
        # The folder is in an inner box: `│ │ /path ... │ │`.
        path_pattern=rf"^{FRAME} {FRAME} (?P<path>/.*?)\s*{FRAME} {FRAME}\s*$",
        # The key `2` picks this line at once (measured), whichever line is selected.
        accept_when=rf"^{FRAME}\s+(?:❯ )?2\. Yes, and remember this folder for future sessions",
        accept_keys=("2",),
    ),
    Dialog(
        name="session in use",
        pattern=r"^│ Session in use\s*│?\s*$|appears to be in use by another CLI or application",
    ),
)

COPILOT_INPUT = InputProfile(
    # Column 0 only: an echoed user turn is ` ❯ text`, a dialog's choice `│ ❯ 1. Yes`.
    prompt=r"^❯(?: |$)(?P<input>.*)",
    box_stop=r"^─{10,}\s*$",  # the rule above the box
    continuation=r"^  ",  # the rows after the first of a typed multi-line text
    busy=r"^ [○◎◉●] Working\b.*\besc esc\b|esc esc interrupt",
    # More than ten lines: `[Paste #1 - 300 lines]`; a larger paste (22.3 KB, measured) is
    # saved to a file and shown as `[Saved pasted content to workspace (22.3 KB) id=1]`.
    paste_placeholder=(
        r"\[Paste #\d+ - \d+ lines\]|\[Saved pasted content to workspace \([^)]*\) id=\d+\]"
    ),
    approvals=(
        Approval(
            # The shell tool's prompt; nothing on it names the tool (the model's is `bash`).
            pattern=r"^│ Do you want to (?P<tool>run this command)\?",
            tool_names=(("run this command", "bash"),),
            approve_keys=("1",),
        ),
    ),
)


@dataclass(frozen=True)
class CopilotProvider:
    """`copilot [--model M] [permission flags] ...args [--interactive prompt]`."""

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
        last = [INITIAL_PROMPT, agent.initial_prompt] if agent.initial_prompt else []
        # No readiness pattern: the input box the cursor is in is readiness.
        return launch_config(self.name, agent, ctx, (*prefix, *options, *last), readiness=None)

    def profile(self, agent: Agent, ctx: LaunchContext, launch: LaunchConfig) -> ProviderProfile:
        prefix, options = self._parts(agent)
        return ProviderProfile(
            dialogs=COPILOT_DIALOGS,
            sessions=SessionSupport(
                layout=transcripts.COPILOT,
                attribution="preassigned",
                new_args=(SESSION_ARG,),
                resume_args=(SESSION_ARG,),
                resume_base=(*prefix, *options),
                insert_at=len(prefix),
            ),
        )

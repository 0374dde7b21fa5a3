# ruff: noqa: RUF001, RUF002, RUF003  (the real CLIs draw these glyphs)
"""How each CLI takes a message: its input box, busy marker, paste placeholder, approvals.

One table for every provider, workers and leader alike (the leader has no launch
configuration of ours, only a `provider:` name). Certainty as in docs/providers.md:

* `fake`: exact; the fake is ours (controllers/fake_agent.py).
* `claude`: the `❯` box between rules and `? for shortcuts` (medium, PROVIDER-FACTS);
  "esc to interrupt" while working, "[Pasted text #N +M lines]" for a long paste and the
  "Do you want to proceed?" permission menu under a tool header are community-observed
  (low): a wrong guess makes a delivery wait (never type into the wrong place), because
  a message is pasted only into a box seen empty.
* `codex`: the `›` composer with its placeholder suggestions and "[Pasted Content N
  chars]" from codex-rs `chat_composer.rs` (medium); approvals not modelled.
* `gemini`, `copilot`, `opencode`: the prompt shapes our stubs draw (low); approvals
  not modelled.

A CLI without an entry (`shell`) takes no messages: a send to it fails with that reason.
"""

from __future__ import annotations

from collections.abc import Mapping

from controllers.providers.base import Approval, InputProfile

FAKE_INPUT = InputProfile(
    prompt=r"^fake> (?P<input>.*)",
    # `working...` stays in view after the work is done: busy only while it is the last line.
    busy=r"^working\.\.\.\Z",
    approvals=(
        Approval(
            # Anchored at the line's end: an answered prompt ("... [y/n] y") is not asked again.
            pattern=r"^Allow tool (?P<tool>[A-Za-z0-9_.:-]+)\? \[y/n\] ?$",
            approve_keys=("y", "Enter"),
        ),
    ),
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

GEMINI_INPUT = InputProfile(
    prompt=r"^>\s+(?P<input>.*)",
    idle_text=r"^Type your message or @path/to/file",
    busy=r"esc to cancel",
)

COPILOT_INPUT = InputProfile(
    prompt=r"^> (?P<input>.*)",
    idle_text=r"^Type @ to mention files.*?\? for shortcuts",
    busy=r"Esc to cancel|esc to interrupt",
)

OPENCODE_INPUT = InputProfile(
    prompt=r"^┃ (?P<input>.*)",
    chrome=r"ctrl\+p commands|enter send",
    busy=r"esc interrupt",
)

INPUTS: Mapping[str, InputProfile] = {
    "fake": FAKE_INPUT,
    "claude": CLAUDE_INPUT,
    "codex": CODEX_INPUT,
    "gemini": GEMINI_INPUT,
    "copilot": COPILOT_INPUT,
    "opencode": OPENCODE_INPUT,
}


def input_profile(provider: str) -> InputProfile | None:
    """How `provider`'s CLI takes a message; None when it takes none (`shell`)."""
    return INPUTS.get(provider)

"""Reading an agent's screen for messaging: is its input box empty, busy, or holding ours?

Role in the loop: a message is typed into a CLI only when the pane shows the CLI's input
box with nothing in it; it is verified on screen before Enter and after. These questions
are asked of captured pane text (`tmux capture-pane -p -J`), by the executor right
before it acts and by the agents controller for approval prompts. The answers come from
the CLI's `InputProfile` (`controllers.providers.base`); nothing here knows a CLI by name
and nothing here does I/O.

Texts are compared with all whitespace runs collapsed: `capture-pane -J` joins wrapped
lines, CLIs echo a pasted newline as CR LF or redraw it, and tmux drops trailing blanks.
A message is recognised by its last `TAIL_CHARS` characters, which is what stays on
screen when a long paste scrolls its head away.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from controllers.providers.base import InputProfile

TAIL_CHARS = 120
BUSY_LINES = 8  # a busy marker counts only near the bottom, not in old scrollback
APPROVAL_LINES = 12  # how much of an approval prompt its status message quotes


class InputState(enum.Enum):
    """What the input box of a CLI holds, as far as the screen shows."""

    EMPTY = "empty"  # the box is drawn and empty: a message may be pasted
    OURS = "ours"  # the screen ends with the message (or the CLI's paste placeholder)
    OTHER = "other"  # something else is typed there (a person, another message)
    BUSY = "busy"  # the CLI is working or asks something: not now
    NO_PROMPT = "no prompt"  # no input box on screen (starting, a dialog, gone)


def squeeze(text: str) -> str:
    """`text` with every run of whitespace made one space, ends stripped."""
    return " ".join(text.split())


def _lines(text: str, chrome: str | None) -> list[str]:
    """Non-blank lines of `text`, without the CLI's decorations (rules, footers)."""
    kept = [line for line in text.split("\n") if line.strip()]
    if chrome is None:
        return kept
    pattern = re.compile(chrome)
    return [line for line in kept if pattern.search(line) is None]


def message_tail(message: str) -> str:
    """The part of a message that identifies it on screen: its squeezed last characters."""
    return squeeze(message)[-TAIL_CHARS:]


def _last_match(pattern: str, text: str) -> re.Match[str] | None:
    last = None
    for last in re.finditer(pattern, text, re.MULTILINE):  # noqa: B007 (the last one is kept)
        continue
    return last


def typed_input(profile: InputProfile, text: str) -> str | None:
    """What the input box holds, squeezed; None when no input box is on screen.

    The box is the last match of `profile.prompt`; what is typed runs from its `input`
    group to the end of the screen (a multi-line paste spans lines), minus decorations.
    A CLI's placeholder text in an empty box (`profile.idle_text`) counts as empty.
    """
    found = _last_match(profile.prompt, text)
    if found is None:
        return None
    rest = text[found.start("input") :]
    typed = squeeze("\n".join(_lines(rest, profile.chrome)))
    if profile.idle_text is not None:
        typed = squeeze(re.sub(profile.idle_text, " ", typed, count=1))
    return typed


def is_busy(profile: InputProfile, text: str) -> bool:
    if profile.busy is None:
        return False
    bottom = "\n".join(_lines(text, None)[-BUSY_LINES:])
    return re.search(profile.busy, bottom, re.MULTILINE) is not None


@dataclass(frozen=True)
class ApprovalSeen:
    """A tool permission prompt on screen: which tool, and the prompt's text."""

    tool: str
    prompt: str
    pattern: str
    keys: tuple[str, ...]


def find_approval(profile: InputProfile, text: str) -> ApprovalSeen | None:
    """The approval prompt the CLI shows now; one followed by its input box was answered."""
    prompt_at = -1
    for found in re.finditer(profile.prompt, text, re.MULTILINE):
        prompt_at = found.start()
    for approval in profile.approvals:
        last = _last_match(approval.pattern, text)
        if last is None or last.start() < prompt_at:
            continue
        start = text.rfind("\n", 0, last.start()) + 1
        lines = _lines(text[start:], None)[:APPROVAL_LINES]
        return ApprovalSeen(
            tool=last.group("tool"),
            prompt="\n".join(line.rstrip() for line in lines),
            pattern=approval.pattern,
            keys=approval.approve_keys,
        )
    return None


def input_state(
    profile: InputProfile, text: str, message: str | None = None, *, pasted: bool = False
) -> InputState:
    """Classify the screen for delivering `message` (None: "may anything be pasted?").

    Only the message's own text proves it is ours, unless `pasted` says an earlier attempt
    pasted it into this pane: a paste placeholder found before we pasted anything may be
    a person's paste, and Enter would submit it in our name.
    """
    if find_approval(profile, text) is not None or is_busy(profile, text):
        return InputState.BUSY
    if message is not None and (
        shows_message(profile, text, message) if pasted else _shows_text(profile, text, message)
    ):
        return InputState.OURS
    typed = typed_input(profile, text)
    if typed is None:
        return InputState.NO_PROMPT
    return InputState.EMPTY if typed == "" else InputState.OTHER


def shows_message(profile: InputProfile, text: str, message: str) -> bool:
    """The screen ends with `message` as pasted (or with the CLI's paste placeholder)."""
    lines = _lines(text, profile.chrome)
    if not lines:
        return False
    if profile.paste_placeholder is not None and re.search(profile.paste_placeholder, lines[-1]):
        return True
    return _shows_text(profile, text, message)


def _shows_text(profile: InputProfile, text: str, message: str) -> bool:
    """The screen ends with the message's text (chrome-like lines dropped from both)."""
    shown = squeeze("\n".join(_lines(text, profile.chrome)))
    expected = message_tail("\n".join(_lines(message, profile.chrome)))
    return expected != "" and shown.endswith(expected)


def shows_anywhere(text: str, message: str) -> bool:
    """The message's tail is somewhere on screen (evidence it was submitted earlier)."""
    return message_tail(message) in squeeze(text)

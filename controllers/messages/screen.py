"""Reading an agent's screen for messaging: is its input box empty, busy, or holding ours?

Role in the loop: a message is typed into a CLI only when the pane shows the CLI's input
box with nothing in it; it is verified on screen before Enter and after. These questions
are asked of captured screens (`reconciler.observe.screens.Screen`: rows and cursor), by the
executor right before it acts and by the agents controller for readiness and approval
prompts. The answers come from the CLI's `InputProfile` (`controllers.providers.base`);
nothing here knows a CLI by name and nothing here does I/O.

The input box is found from the cursor, which every real CLI keeps in it (measured,
`reconciler.observe.screens`): the nearest row at or above the cursor that matches the profile's
`prompt` opens the box, and what is typed runs from there to the cursor. An echoed turn in
the transcript that looks like the box lies above it; the footer and a placeholder lie
after the cursor. A screen without a cursor (bare text in a test) falls back to the last
`prompt` match and the rest of the screen, less `chrome` and `idle_text`.

Message texts are compared with all whitespace removed: CLIs wrap long lines at their
own width, echo a pasted newline as CR LF or redraw it, and tmux drops trailing blanks.
A message is recognised by its last `TAIL_CHARS` characters, which is what stays on
screen when a long paste scrolls its head away.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from controllers.providers.base import InputProfile
from reconciler.observe.screens import Screen, as_screen

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


def solid(text: str) -> str:
    """`text` without any whitespace: how a message is compared with a screen that may
    have wrapped it anywhere."""
    return "".join(text.split())


def _lines(text: str, chrome: str | None) -> list[str]:
    """Non-blank lines of `text`, without the CLI's decorations (rules, footers)."""
    kept = [line for line in text.split("\n") if line.strip()]
    if chrome is None:
        return kept
    pattern = re.compile(chrome)
    return [line for line in kept if pattern.search(line) is None]


def _last_match(pattern: str, text: str) -> re.Match[str] | None:
    last = None
    for last in re.finditer(pattern, text, re.MULTILINE):  # noqa: B007 (the last one is kept)
        continue
    return last


@dataclass(frozen=True)
class InputBox:
    """Where the input box is on a screen and what it holds (squeezed)."""

    row: int  # the box's first row (-1: found without a cursor, by text)
    typed: str


def find_box(profile: InputProfile, screen: Screen | str) -> InputBox | None:
    """The input box the cursor is in, or None when the screen shows none.

    With a cursor: the nearest row at or above it (at most `profile.box_rows` up, never
    past a `profile.box_stop` row) that matches `prompt`; typed text runs from the end of
    that match to the cursor. Without a cursor: the last `prompt` match and the rest of
    the screen, less `chrome` lines and the `idle_text` placeholder.
    """
    shot = as_screen(screen)
    if not shot.has_cursor:
        return _box_from_text(profile, shot.text)
    rows = shot.rows
    cursor_y = shot.cursor_y or 0
    if cursor_y >= len(rows):
        rows = rows + [""] * (cursor_y + 1 - len(rows))
    prompt = re.compile(profile.prompt)
    stop = re.compile(profile.box_stop) if profile.box_stop else None
    for row in range(cursor_y, max(-1, cursor_y - profile.box_rows - 1), -1):
        line = shot.before_cursor() if row == cursor_y else rows[row]
        found = prompt.search(rows[row])
        if found is not None:
            begin = found.start("input") if "input" in prompt.groupindex else found.end()
            parts = [line[begin:]] + [_strip(profile, rows[r]) for r in range(row + 1, cursor_y)]
            if row != cursor_y:
                parts.append(_strip(profile, shot.before_cursor()))
            return InputBox(row=row, typed=squeeze(" ".join(parts)))
        if stop is not None and row != cursor_y and stop.search(rows[row]):
            return None
    return None


def _strip(profile: InputProfile, row: str) -> str:
    """A box row without its frame (`continuation`, e.g. OpenCode's left bar)."""
    if profile.continuation is None:
        return row
    return re.sub(profile.continuation, "", row, count=1)


def _box_from_text(profile: InputProfile, text: str) -> InputBox | None:
    found = _last_match(profile.prompt, text)
    if found is None:
        return None
    begin = found.start("input") if "input" in found.re.groupindex else found.end()
    rest = text[begin:]
    typed = squeeze("\n".join(_lines(rest, profile.chrome)))
    if profile.idle_text is not None:
        typed = squeeze(re.sub(profile.idle_text, " ", typed, count=1))
    return InputBox(row=-1, typed=typed)


def typed_input(profile: InputProfile, screen: Screen | str) -> str | None:
    """What the input box holds, squeezed; None when no input box is on screen."""
    box = find_box(profile, screen)
    return box.typed if box is not None else None


def is_busy(profile: InputProfile, screen: Screen | str) -> bool:
    """The CLI shows its busy marker near the bottom of the screen (or in the pane title)."""
    shot = as_screen(screen)
    title = shot.title
    if profile.busy_title is not None and title and re.search(profile.busy_title, title):
        return True
    if profile.busy is None:
        return False
    bottom = "\n".join(_lines(shot.text, None)[-BUSY_LINES:])
    return re.search(profile.busy, bottom, re.MULTILINE) is not None


@dataclass(frozen=True)
class ApprovalSeen:
    """A tool permission prompt on screen: which tool, and the prompt's text."""

    tool: str
    prompt: str
    pattern: str
    keys: tuple[str, ...]
    shown: str = ""  # the tool as the screen labels it (`tool` once `tool_names` renamed it)


def find_approval(profile: InputProfile, screen: Screen | str) -> ApprovalSeen | None:
    """The approval prompt the CLI shows now; one above the live input box was answered."""
    shot = as_screen(screen)
    text = shot.text
    if shot.has_cursor:
        box = find_box(profile, shot)
        box_at = text.find("\n".join(shot.rows[box.row :])) if box is not None else -1
    else:
        box_at = -1
        for found in re.finditer(profile.prompt, text, re.MULTILINE):
            box_at = found.start()
    for approval in profile.approvals:
        last = _last_match(approval.pattern, text)
        if last is None or last.start() < box_at:
            continue
        start = text.rfind("\n", 0, last.start()) + 1
        lines = _lines(text[start:], None)[:APPROVAL_LINES]
        return ApprovalSeen(
            tool=dict(approval.tool_names).get(last.group("tool"), last.group("tool")),
            prompt="\n".join(line.rstrip() for line in lines),
            pattern=approval.pattern,
            keys=approval.approve_keys,
            shown=last.group("tool"),
        )
    return None


def input_state(
    profile: InputProfile,
    screen: Screen | str,
    message: str | None = None,
    *,
    pasted: bool = False,
) -> InputState:
    """Classify the screen for delivering `message` (None: "may anything be pasted?").

    Only the message's own text proves it is ours, unless `pasted` says an earlier attempt
    pasted it into this pane: a paste placeholder found before we pasted anything may be
    a person's paste, and Enter would submit it in our name.
    """
    shot = as_screen(screen)
    if find_approval(profile, shot) is not None or is_busy(profile, shot):
        return InputState.BUSY
    if message is not None and _holds(profile, shot, message, placeholder=pasted):
        return InputState.OURS
    typed = typed_input(profile, shot)
    if typed is None:
        return InputState.NO_PROMPT
    return InputState.EMPTY if typed == "" else InputState.OTHER


def shows_message(profile: InputProfile, screen: Screen | str, message: str) -> bool:
    """The input box holds `message` as pasted (or the CLI's paste placeholder)."""
    return _holds(profile, as_screen(screen), message, placeholder=True)


def _holds(profile: InputProfile, shot: Screen, message: str, *, placeholder: bool) -> bool:
    expected = solid("\n".join(_lines(message, profile.chrome)))[-TAIL_CHARS:]
    if shot.has_cursor:
        box = find_box(profile, shot)
        if box is None:
            # A paste taller than the screen scrolls the box's first row away: the text up
            # to the cursor must then end with the message.
            upto = [*shot.rows[: shot.cursor_y], shot.before_cursor()]
            return expected != "" and solid("\n".join(upto)).endswith(expected)
        placeholder_shown = profile.paste_placeholder is not None and re.search(
            profile.paste_placeholder, box.typed
        )
        if placeholder and placeholder_shown:
            return True
        return expected != "" and solid(box.typed).endswith(expected)
    lines = _lines(shot.text, profile.chrome)
    if not lines:
        return False
    last_shown = profile.paste_placeholder is not None and re.search(
        profile.paste_placeholder, lines[-1]
    )
    if placeholder and last_shown:
        return True
    return expected != "" and solid("\n".join(lines)).endswith(expected)


def shows_anywhere(screen: Screen | str, message: str) -> bool:
    """The message's tail is somewhere on screen (evidence it was submitted earlier)."""
    return solid(message)[-TAIL_CHARS:] in solid(as_screen(screen).text)

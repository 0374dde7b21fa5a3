"""What a pane shows: its visible rows and where the terminal cursor is.

Role in the loop: the observation step, the delivery executor and the pane re-check all
read pane screens; this module is the one place that says how (`capture_commands`) and
how the output is split back (`parse_capture`), so every reader gets the same `Screen`.

Why the cursor: every agent CLI we run (Claude Code, Codex, Gemini, Copilot, OpenCode,
measured on the real CLIs, `docs/providers.md`) keeps the terminal cursor in its input
box, at the end of what is typed; a placeholder such as "Ask Codex to do anything" lies
after it. The cursor therefore tells which prompt sign on screen is the live box (not an echoed
turn in the transcript above it) and where typed text ends (not the footer below it),
without trusting the CLI's wording. tmux reports it as `#{cursor_x}`/`#{cursor_y}`, read
in the same tmux invocation as the text, so the two belong together.

Each capture reads the screen twice in the same invocation: as rows (`-N`: the blanks a
program wrote at a row's end are kept, so `fake> ` is still itself when empty; no `-J`,
so row N is screen row N, the cursor's frame) and joined (`-J`: a long line the terminal
wrapped is one line again, which is what a person's readiness pattern is written
against). Readers that compare message text drop whitespace first (`controllers.messages.screen`).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Final

from reconciler.api.ids import PaneId

# Printed after each capture; a pane's own text never contains them.
JOINED_MARK: Final = "\x1eteam-agent:joined\x1e"
CURSOR_MARK: Final = "\x1eteam-agent:cursor\x1e"
# The pane title follows the cursor on the same line: a title is set by an escape sequence
# whose text cannot hold a newline. Codex draws its busy spinner only there
# (`InputProfile.busy_title`).
CURSOR_FORMAT: Final = CURSOR_MARK + "#{cursor_x} #{cursor_y} #{pane_title}"


@dataclass(frozen=True)
class Screen:
    """A pane's visible rows (top to bottom), its cursor (None when not known) and the
    same screen with wrapped lines joined (`joined`; the rows when not captured), and the
    pane's title as the program set it (None when not captured)."""

    text: str
    cursor_x: int | None = None
    cursor_y: int | None = None
    joined_text: str | None = None
    title: str | None = None

    @property
    def joined(self) -> str:
        return self.joined_text if self.joined_text is not None else self.text

    @property
    def rows(self) -> list[str]:
        return self.text.split("\n")

    @property
    def has_cursor(self) -> bool:
        return self.cursor_x is not None and self.cursor_y is not None

    def cursor_row(self) -> str | None:
        """The row the cursor is on (None without a cursor or past the captured rows)."""
        if self.cursor_y is None:
            return None
        rows = self.rows
        return rows[self.cursor_y] if 0 <= self.cursor_y < len(rows) else ""

    def before_cursor(self) -> str:
        """The cursor row up to the cursor: what is typed on it, without a placeholder."""
        row = self.cursor_row() or ""
        return row[: cell_index(row, self.cursor_x or 0)]


def as_screen(screen: Screen | str) -> Screen:
    """A `Screen` from a capture or from bare text (no cursor: tests, older callers)."""
    return screen if isinstance(screen, Screen) else Screen(screen)


def cell_index(row: str, cells: int) -> int:
    """The index in `row` of the character at terminal column `cells`.

    Terminal columns are cells: a wide character (CJK, most emoji) takes two and a
    combining mark none, so the cursor's column is not a string index.
    """
    used = 0
    for index, char in enumerate(row):
        if used >= cells:
            return index
        used += _width(char)
    return len(row)


def _width(char: str) -> int:
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def capture_commands(pane: PaneId | str) -> list[list[str]]:
    """The tmux commands that read one pane's screen and cursor (for `run_sequence`)."""
    return [
        ["capture-pane", "-p", "-J", "-t", pane],
        ["display-message", "-p", JOINED_MARK],
        ["capture-pane", "-p", "-N", "-t", pane],
        ["display-message", "-p", "-t", pane, CURSOR_FORMAT],
    ]


def parse_capture(output: str) -> tuple[Screen, str]:
    """The first captured screen in `output`, and what follows its cursor line."""
    joined: str | None = None
    after = output.lstrip("\n")
    if JOINED_MARK in output:
        joined, _, after = output.partition(JOINED_MARK)
        joined = joined.strip("\n")
        # Only the mark's own line end: a blank first row (Gemini's) is row 0 of the screen,
        # and stripping it would shift every row against the cursor.
        after = after.removeprefix("\n")
    text, _, tail = after.partition(CURSOR_MARK)
    cursor, _, rest = tail.partition("\n")
    x, _, y_title = cursor.strip().partition(" ")
    y, titled, title = y_title.partition(" ")
    screen = Screen(
        text=text.rstrip("\n"),
        cursor_x=int(x) if x.isdigit() else None,
        cursor_y=int(y) if y.isdigit() else None,
        joined_text=joined,
        title=title if titled else None,
    )
    return screen, rest


def parse_captures(output: str, panes: list[PaneId]) -> dict[PaneId, Screen]:
    """The screens of `panes`, captured in that order by one sequence."""
    screens: dict[PaneId, Screen] = {}
    rest = output
    for pane in panes:
        if CURSOR_MARK not in rest:
            break
        screens[pane], rest = parse_capture(rest)
    return screens

"""An agent's pane read as a log, for `team-agent logs`: the last N lines, and what came since.

A pane is a screen, not a file: below the text sit blank rows, and a program may rewrite
any visible row. So `logs -n N` drops the blank rows under the text before counting, and
`logs -f` prints only *complete* lines (those above the cursor), which line-oriented output
(a shell, a log tail, the fake agent) never rewrites. A full-screen CLI redraws rows it
already wrote; `attach` is the way to watch one.

Following compares each capture of the complete lines with the previous one. Lines scroll
but keep their place counted from the top of the history, so the new ones are simply past
the old length; when that no longer holds (the history limit dropped lines at the top, the
screen was cleared) the last lines shown are looked for, and failing that the whole capture
is new. Pure functions: `reconciler.cli.verbs.inspect` does the tmux calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

ANCHOR_LINES: Final = 10  # how many of the lines last shown identify the place to resume


def last_lines(captured: Sequence[str], count: int) -> list[str]:
    """The last `count` lines of a capture, without trailing spaces and the blank rows below."""
    lines = [line.rstrip() for line in captured]
    while lines and not lines[-1]:
        lines.pop()
    return lines[-count:] if count > 0 else []


def added_lines(shown: Sequence[str], current: Sequence[str]) -> list[str]:
    """The lines of `current` (complete lines, history first) that follow what `shown` held."""
    if not shown:
        return list(current)
    anchor = list(shown[-ANCHOR_LINES:])
    size = len(anchor)
    if len(current) >= len(shown) and list(current[len(shown) - size : len(shown)]) == anchor:
        return list(current[len(shown) :])
    for end in range(len(current), size - 1, -1):
        if list(current[end - size : end]) == anchor:
            return list(current[end:])
    return list(current)

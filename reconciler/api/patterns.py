"""The spec's regular expressions, matched against pane text with a deadline.

A readiness pattern comes from the person's spec and runs against an agent's screen on
every pass until the agent is Ready. Python's `re` has no timeout: a pattern such as
`(a|aa)+$` backtracks for longer than the universe is old on a line of `a`s, and the
reconciler, holding the workspace lock, would hang with every agent unattended. The
`regex` package (a drop-in for `re` in its default VERSION0 mode) takes a timeout; a
pattern that needs more than `MATCH_TIMEOUT_SEC` on one screen is reported, not waited
for.

`regex` is imported on first use: a converged team's pass matches nothing and so a
one-shot `reconcile --once` does not pay for it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

    import regex

MATCH_TIMEOUT_SEC = 0.1


class PatternTooSlow(Exception):
    """Matching the pattern took longer than `MATCH_TIMEOUT_SEC`: it backtracks."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        super().__init__(
            f"pattern {pattern!r} took longer than {MATCH_TIMEOUT_SEC:g}s to match one "
            "screen (it backtracks); simplify it, e.g. avoid nested repeats like (a+)+"
        )


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> regex.Pattern[str] | re.Pattern[str]:
    """The pattern for `regex`, or for `re` in the rare case only `re` accepts it (the
    spec was validated with `re`): then it matches as before, without a deadline."""
    import regex

    try:
        return regex.compile(pattern, regex.MULTILINE | regex.VERSION0)
    except regex.error:
        return re.compile(pattern, re.MULTILINE)


def _finditer(pattern: str, text: str) -> Iterator[re.Match[str] | regex.Match[str]]:
    compiled = _compiled(pattern)
    if isinstance(compiled, re.Pattern):
        return compiled.finditer(text)
    return compiled.finditer(text, timeout=MATCH_TIMEOUT_SEC)


def search(pattern: str, text: str) -> bool:
    """`pattern` is found in `text` (multiline). Raises `PatternTooSlow`."""
    try:
        return next(_finditer(pattern, text), None) is not None
    except TimeoutError as err:  # what `regex` raises past its timeout
        raise PatternTooSlow(pattern) from err


def starts(pattern: str, text: str) -> Iterator[int]:
    """Where `pattern` matches in `text`, in order; the deadline covers the whole scan.

    Raises `PatternTooSlow`.
    """
    try:
        found = list(_finditer(pattern, text))
    except TimeoutError as err:  # what `regex` raises past its timeout
        raise PatternTooSlow(pattern) from err
    return (m.start() for m in found)

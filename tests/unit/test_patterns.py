"""The spec's patterns are matched with a deadline: a backtracking one cannot hang a pass."""

from __future__ import annotations

import time

import pytest

from reconciler.api import patterns
from reconciler.api.patterns import MATCH_TIMEOUT_SEC, PatternTooSlow

SCREEN = "booting\nlistening on 8080\nfake> \n"


def test_search_is_multiline_like_re() -> None:
    assert patterns.search(r"^listening on \d+", SCREEN)
    assert patterns.search(r"^fake> ", SCREEN)
    assert not patterns.search(r"^on \d+", SCREEN)


def test_starts_lists_every_match_in_order() -> None:
    assert list(patterns.starts(r"^\w", SCREEN)) == [0, 8, 26]
    assert list(patterns.starts(r"nowhere", SCREEN)) == []


@pytest.mark.parametrize("pattern", [r"(a|aa)+$", r"(x+x+)+y", r"^(a|a?)+$"])
def test_a_backtracking_pattern_raises_within_the_deadline(pattern: str) -> None:
    text = ("x" if "x" in pattern else "a") * 5000 + "!"
    began = time.monotonic()
    with pytest.raises(PatternTooSlow) as caught:
        patterns.search(pattern, text)
    with pytest.raises(PatternTooSlow):
        list(patterns.starts(pattern, text))
    assert time.monotonic() - began < 20 * MATCH_TIMEOUT_SEC
    assert pattern in str(caught.value) and "backtracks" in str(caught.value)


def test_a_pattern_only_re_accepts_still_matches(monkeypatch: pytest.MonkeyPatch) -> None:
    """The spec is validated with `re`; should `regex` refuse such a pattern, it is matched
    by `re` as before (without the deadline) rather than crash the pass."""
    import regex

    def refuse(pattern: str, flags: int = 0) -> regex.Pattern[str]:
        raise regex.error("refused for the test")

    monkeypatch.setattr(regex, "compile", refuse)
    patterns._compiled.cache_clear()
    try:
        assert patterns.search(r"^listening on \d+", SCREEN)
        assert list(patterns.starts(r"^\w", SCREEN)) == [0, 8, 26]
    finally:
        patterns._compiled.cache_clear()

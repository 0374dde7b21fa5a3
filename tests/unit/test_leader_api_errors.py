# ruff: noqa: RUF001  (the real CLI draws these glyphs)
"""`LeaderAPIError` recognition against Claude Code's real error screens (2.1.197).

Each screen was captured with the mock model answering 429, 529 or 500 (tests/fixtures/
screens/claude/2.1.197/error_*). Claude retries first (`✻ API error · Retrying in Ns ·
attempt i/n`, naming the error only on the last attempt: `✻ 529 Overloaded · Retrying …`),
then prints one `● API Error: …` line in the transcript. The screens keep the earlier
turns' errors in view, which count as visible (one event per distinct kind while shown).
"""

from __future__ import annotations

from typing import NamedTuple

import pytest

from controllers.leader.api_errors import APIError, classify, describe, find_api_errors
from reconciler.api import conditions as C
from tests.realcli import capture

VERSION = "2.1.197"


class ScreenCase(NamedTuple):
    state: str
    errors: list[APIError]  # in order of first appearance on the screen


OVERLOADED = APIError(C.OVERLOADED, 529)
RATE_LIMITED = APIError(C.RATE_LIMITED, 429)
SERVER = APIError(C.SERVER_ERROR, 500)

SCREEN_CASES = [
    ScreenCase("idle", []),
    ScreenCase("busy", []),
    ScreenCase("replied3", []),
    # `● API Error: Request rejected (429) · Number of request tokens has exceeded ...`
    ScreenCase("error_429", [RATE_LIMITED]),
    # The first retry names no error (`API error · Retrying in 1s · attempt 1/2`).
    ScreenCase("error_529_retrying", [RATE_LIMITED]),
    # The last one does: `✻ 529 Overloaded · Retrying in 2s · attempt 2/2`.
    ScreenCase("error_529_retrying_last", [RATE_LIMITED, OVERLOADED]),
    # `● API Error: 529 Overloaded. This is a server-side issue, ...`
    ScreenCase("error_529", [RATE_LIMITED, OVERLOADED]),
    # `● API Error: 500 Internal server error. This is a server-side issue, ...`
    ScreenCase("error_500", [RATE_LIMITED, OVERLOADED, SERVER]),
    # The transcript of a resumed session still shows them.
    ScreenCase("resumed", [RATE_LIMITED, OVERLOADED, SERVER]),
]


@pytest.mark.parametrize("case", SCREEN_CASES, ids=[c.state for c in SCREEN_CASES])
def test_claude_error_screens(case: ScreenCase) -> None:
    assert find_api_errors(capture.load("claude", case.state, VERSION).text) == case.errors


class LineCase(NamedTuple):
    test_id: str
    line: str
    error: APIError | None


LINE_CASES = [
    LineCase(
        "529-final",
        "● API Error: 529 Overloaded. This is a server-side issue, usually temporary — try "
        "again in a moment. If it persists, check your inference gateway (127.0.0.1:00000).",
        OVERLOADED,
    ),
    LineCase("529-last-retry", "✻ 529 Overloaded · Retrying in 33s · attempt 10/10", OVERLOADED),
    LineCase(
        "429-final",
        "● API Error: Request rejected (429) · Number of request tokens has exceeded your "
        "per-minute rate limit",
        RATE_LIMITED,
    ),
    LineCase(
        "500-final",
        "● API Error: 500 Internal server error. This is a server-side issue, usually temporary",
        SERVER,
    ),
    # API_TIMEOUT_MS with a hanging reply (phase-1 measurement, no fixture).
    LineCase(
        "timeout-retry",
        "✻ Request timed out. · Retrying in 1s · attempt 1/1",
        APIError(C.TIMEOUT, None),
    ),
    LineCase(
        "timeout-final",
        "  ⎿  Request timed out (API_TIMEOUT_MS=3000ms, try increasing it)",
        APIError(C.TIMEOUT, None),
    ),
    # Retrying without naming the error is not classified (no kind to report yet).
    LineCase("retry-unnamed", "✻ API error · Retrying in 1s · attempt 1/10", None),
    # The person's own words about errors are not failures.
    LineCase("echoed-turn", "❯ error 529", None),
    LineCase("talk", "● The 529 status means the server is busy.", None),
]


@pytest.mark.parametrize("case", LINE_CASES, ids=[c.test_id for c in LINE_CASES])
def test_claude_error_lines(case: LineCase) -> None:
    assert classify(case.line) == case.error


def test_describe() -> None:
    assert describe(OVERLOADED) == "Overloaded (HTTP 529)"
    assert describe(APIError(C.TIMEOUT, None)) == "Timeout"

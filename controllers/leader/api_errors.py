"""Recognise provider API failures in the leader pane's text: overloaded, 429, 5xx, timeouts.

When the provider behind the leader is overloaded or rate-limited, the person's main
conversation stalls, and workers waiting for it stall too; the status should say so
(`LeaderAPIError=True`). Only the text a CLI prints on such a failure is available, so
this is pattern matching, kept strict to avoid reading a conversation *about* HTTP codes
as a failure: a line must look like an API error report first (Claude Code's `API Error`,
Codex's `unexpected status` / `stream error` / `stream disconnected`, an Anthropic error
type such as `overloaded_error`, a status code next to its reason phrase, or `request
timed out`), and is then classified. Other failures (401, 400) are not provider
outages and are ignored.

Pure: text in, `(kind, code)` pairs out, in order of first appearance.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

from reconciler.api import conditions as C

_REPORT: Final = re.compile(
    r"\bAPI[ _]?Error\b"
    r"|\bunexpected status\b"
    r"|\bstream (?:error|disconnected)\b"
    r"|\b(?:overloaded|rate_limit|api|server)_error\b"
    r"|\b(?:429|5\d\d)\b.{0,40}\b(?:Too Many Requests|Internal Server Error|Bad Gateway"
    r"|Service Unavailable|Gateway Time-?out|Overloaded)\b"
    r"|\brequest timed out\b",
    re.IGNORECASE,
)
_CODE: Final = re.compile(r"(?<![\d.])(429|5\d\d)(?![\d.])")
_OVERLOADED: Final = re.compile(r"overloaded", re.IGNORECASE)
_RATE_LIMITED: Final = re.compile(r"rate[ _-]?limit|too many requests", re.IGNORECASE)
_TIMEOUT: Final = re.compile(r"timed? ?out|time-out|timeout", re.IGNORECASE)
_SERVER: Final = re.compile(
    r"internal server error|bad gateway|service unavailable|server_error", re.IGNORECASE
)


class APIError(NamedTuple):
    """One kind of failure (a `LeaderAPIError` reason) and its HTTP status, if shown."""

    kind: str
    code: int | None


def classify(line: str) -> APIError | None:
    """The failure a line reports, or None when it reports none of ours."""
    if _REPORT.search(line) is None:
        return None
    found = _CODE.search(line)
    code = int(found.group(1)) if found else None
    if code == 529 or _OVERLOADED.search(line):
        return APIError(C.OVERLOADED, code)
    if code == 429 or _RATE_LIMITED.search(line):
        return APIError(C.RATE_LIMITED, code)
    if code is not None:
        return APIError(C.SERVER_ERROR, code)
    if _TIMEOUT.search(line):
        return APIError(C.TIMEOUT, None)
    if _SERVER.search(line):
        return APIError(C.SERVER_ERROR, None)
    return None


def find_api_errors(text: str) -> list[APIError]:
    """Distinct failures in `text`, each once, in the order they first appear."""
    seen: list[APIError] = []
    for line in text.splitlines():
        error = classify(line)
        if error is not None and error not in seen:
            seen.append(error)
    return seen


def describe(error: APIError) -> str:
    """`Overloaded (HTTP 529)`, `Timeout`: for condition messages and events."""
    return f"{error.kind} (HTTP {error.code})" if error.code is not None else error.kind

"""Time for the reconciler: an injectable clock and the one timestamp format we write.

Plans are pure (STYLE.md: `plan(spec, world, status, now)` reads no clock), so "now" is
read once at the edge of a pass from a `Clock` and handed down as a value. `SystemClock`
is the real one; `FakeClock` lets tests step time (backoff windows, readiness timeouts,
condition transition times) without sleeping.

Every timestamp that lands in `status.json` or `events.jsonl` is RFC 3339 in UTC with
seconds precision and a `Z` suffix (`2026-11-25T09:00:00Z`), as Kubernetes writes
`metav1.Time`. `format_time` truncates to that form; `parse_time` is lenient on input
(fractional seconds, numeric offsets) so hand-edited or foreign values can still be read,
and always returns an aware UTC `datetime`. `check_timestamp` enforces the written form on
load; the field types built on it are `reconciler.api.structs.Timestamp` (the status
file's msgspec models) and `reconciler.api.pydantic_time.Timestamp` (events, leader records).
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from typing import Final, Protocol

TIMESTAMP_PATTERN: Final = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"
_WRITTEN: Final = re.compile(TIMESTAMP_PATTERN)

_RFC3339: Final = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[Tt](?P<h>\d{2}):(?P<m>\d{2}):(?P<s>\d{2})"
    r"(?P<frac>\.\d+)?(?P<tz>[Zz]|[+-]\d{2}:\d{2})$"
)


class Clock(Protocol):
    """Where a pass gets "now" from; passed in, never read from module state."""

    def now(self) -> datetime:
        """Wall-clock time, timezone-aware, in UTC (for timestamps people read)."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin that never jumps (for durations, deadlines)."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def monotonic(self) -> float:
        return time.monotonic()


class FakeClock:
    """A clock that moves only when told to; for tests.

    `advance` moves wall and monotonic time together, as real time does; `set` jumps the
    wall clock alone, as an NTP step or a suspended laptop would.
    """

    DEFAULT_START: Final = datetime(2026, 11, 25, 9, 0, 0, tzinfo=timezone.utc)

    def __init__(self, start: datetime | None = None, *, monotonic_start: float = 0.0) -> None:
        start = self.DEFAULT_START if start is None else start
        _require_aware(start)
        self._now = start.astimezone(timezone.utc)
        self._monotonic = monotonic_start

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a FakeClock only moves forward; use set() to jump the wall clock")
        self._now += timedelta(seconds=seconds)
        self._monotonic += seconds

    def set(self, now: datetime) -> None:
        _require_aware(now)
        self._now = now.astimezone(timezone.utc)


def format_time(dt: datetime) -> str:
    """Render an aware datetime as `YYYY-MM-DDTHH:MM:SSZ` in UTC, truncating sub-seconds.

    Naive datetimes are refused: their zone is a guess, and a wrong guess shifts every
    transition time by hours.
    """
    _require_aware(dt)
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_epoch(epoch: float) -> str:
    """Epoch seconds (what tmux, psutil and the store keep) as `format_time` writes them."""
    return format_time(datetime.fromtimestamp(epoch, timezone.utc))


def parse_time(text: str) -> datetime:
    """Parse an RFC 3339 timestamp (`Z` or `±HH:MM`, optional fraction) to aware UTC.

    Raises `ValueError` for anything else, including timestamps without a zone.
    """
    match = _RFC3339.match(text)
    if match is None:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    frac = match["frac"] or ""
    micros = frac[1:7].ljust(6, "0") if frac else "000000"
    zone = match["tz"].upper()
    offset = "+00:00" if zone == "Z" else zone
    parsed = datetime.fromisoformat(
        f"{match['date']}T{match['h']}:{match['m']}:{match['s']}.{micros}{offset}"
    )
    return parsed.astimezone(timezone.utc)


def _require_aware(dt: datetime) -> None:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime {dt.isoformat()} has no timezone; use an aware one")


def check_timestamp(value: str) -> str:
    """`value` as written (`2026-11-25T09:00:00Z`) and a real date and time, else ValueError.

    The pattern checks the shape; parsing rejects what it lets through (2026-02-30, 25:00).
    """
    if _WRITTEN.match(value) is None:
        raise ValueError(f"not a timestamp of the form 2026-11-25T09:00:00Z: {value!r}")
    try:
        parse_time(value)
    except ValueError as exc:
        raise ValueError(f"not a real date and time: {value!r} ({exc})") from None
    return value

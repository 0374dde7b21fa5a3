"""Side by side: the same call on two systems, taken in turns, as one table with ratios.

Pure logic of the `reference` benchmark (`bench/reference.py`): the order in which the
runs of several commands alternate, the statistics of each command's runs, the rows of
the side-by-side table (the reference system's wall and CPU, ours, and ours ÷ theirs) and
the limit a verb is held to. Nothing here starts a process or reads a clock, so
`tests/unit/test_sidebyside.py` checks it with made-up runs.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

VERB_FLOOR_FACTOR = 3.0  # a hot verb may cost at most this many bare interpreters


@dataclass(frozen=True)
class ProcessRun:
    """One command run to completion: its wall and CPU seconds (children included)."""

    wall: float
    cpu: float
    returncode: int
    stdout: str
    stderr: str

    def tail(self, chars: int = 400) -> str:
        """The end of what it printed, for an error message."""
        text = (self.stderr.strip() or self.stdout.strip())[-chars:]
        return text.replace("\n", " / ")


def alternate(funcs: Sequence[Callable[[], T]], repeats: int) -> list[list[T]]:
    """Call every function once per round, `repeats` rounds; the results per function.

    Rounds alternate direction (A B C, then C B A): load from elsewhere then hits every
    function alike, and none always runs right after the same other one (a command that
    leaves work behind, a daemon's wake-up, would otherwise always tax its successor).
    """
    results: list[list[T]] = [[] for _ in funcs]
    order = list(range(len(funcs)))
    for round_no in range(repeats):
        for i in order if round_no % 2 == 0 else reversed(order):
            results[i].append(funcs[i]())
    return results


@dataclass(frozen=True)
class Stat:
    """Several values of one quantity, already in the row's unit (ms, or % of a core)."""

    values: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def minimum(self) -> float:
        return min(self.values)


def wall_ms(runs: Sequence[ProcessRun]) -> Stat:
    return Stat(tuple(r.wall * 1000 for r in runs))


def cpu_ms(runs: Sequence[ProcessRun]) -> Stat:
    return Stat(tuple(r.cpu * 1000 for r in runs))


@dataclass(frozen=True)
class Side:
    """What one system measured for a row: wall and CPU (either may be absent)."""

    wall: Stat | None = None
    cpu: Stat | None = None

    @classmethod
    def of(cls, runs: Sequence[ProcessRun]) -> Side:
        return cls(wall=wall_ms(runs), cpu=cpu_ms(runs))

    def render(self, unit: str) -> str:
        """`47 / 19 ms` (median wall / median CPU), or the one that was measured."""
        parts = [_num(s.median) for s in (self.wall, self.cpu) if s is not None]
        return f"{' / '.join(parts)} {unit}" if parts else "—"

    def spread(self, unit: str) -> str:
        """`median of 7; min 40 / 15 ms`: how many runs, and the best one."""
        stats = [s for s in (self.wall, self.cpu) if s is not None]
        if not stats or len(stats[0].values) < 2:
            return ""
        mins = " / ".join(_num(s.minimum) for s in stats)
        return f"median of {len(stats[0].values)}; min {mins} {unit}"


@dataclass(frozen=True)
class Row:
    """One line of the side-by-side table: one call at one team size, on both systems."""

    call: str  # how each system spells it: "`status --json` vs `status -o json`"
    size: int | None  # agents in the team; None when it does not apply
    reference: Side | None  # None: the reference has no such command
    ours: Side
    unit: str = "ms"

    def wall_ratio(self) -> float | None:
        return _ratio(self.ours.wall, self.reference.wall if self.reference else None)

    def cpu_ratio(self) -> float | None:
        return _ratio(self.ours.cpu, self.reference.cpu if self.reference else None)

    def render_ratio(self) -> str:
        """`8.7x wall, 21x CPU`; only the ratios both sides measured."""
        parts = []
        if (wall := self.wall_ratio()) is not None:
            parts.append(f"{_ratio_text(wall)} wall")
        if (cpu := self.cpu_ratio()) is not None:
            parts.append(f"{_ratio_text(cpu)} CPU")
        return ", ".join(parts) or "—"


def _ratio(ours: Stat | None, reference: Stat | None) -> float | None:
    if ours is None or reference is None or reference.median <= 0:
        return None
    return ours.median / reference.median


def _ratio_text(ratio: float) -> str:
    return f"{ratio:.2f}x" if ratio < 1 else f"{ratio:.1f}x"


def _num(value: float) -> str:
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.0f}"


def render_table(rows: Sequence[Row]) -> str:
    """The issue's table, from this run: Markdown, readable in a terminal."""
    lines = [
        "| call | N | reference (Rust) wall / CPU | team-agent wall / CPU | ratio (ours / ref) |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        reference = row.reference.render(row.unit) if row.reference else "(no such command)"
        size = "—" if row.size is None else str(row.size)
        lines.append(
            f"| {row.call} | {size} | {reference} | {row.ours.render(row.unit)} "
            f"| {row.render_ratio()} |"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class Limit:
    """The bound a figure is held to, with how it was derived (for the figure's detail)."""

    value: float
    reason: str


def verb_limit(reference_status_ms: float, floor_ms: float) -> Limit:
    """A read-only or intent verb: ≤ the reference's `status` AND ≤ 3 bare interpreters.

    Both bounds were measured in the same run as the verb; the tighter one is the limit.
    """
    floor_bound = VERB_FLOOR_FACTOR * floor_ms
    value = min(reference_status_ms, floor_bound)
    reason = (
        f"limit min(reference `status` {_num(reference_status_ms)} ms, "
        f"{VERB_FLOOR_FACTOR:g} x `python -c pass` {_num(floor_bound)} ms)"
    )
    return Limit(round(value, 1), reason)


def fraction_limit(reference_ms: float, fraction: float, what: str) -> Limit:
    """`fraction` x the reference's own figure for the same call (1 = no slower)."""
    value = reference_ms * fraction
    share = "" if fraction == 1 else f"{fraction:g} x "
    return Limit(round(value, 1), f"limit {share}the reference's {what} {_num(reference_ms)} ms")

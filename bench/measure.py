"""What a benchmark reports: figures with optional targets, and the statistics behind them.

A `Figure` is one row of the table. Its value is a median (or a count) over several
trials; `detail` says how many and the spread, so a reader can judge the noise. A target
is a plain comparison; a figure without one is reported for its trend (how cost grows
with team size) or as the reference a machine-dependent figure is divided by.
"""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

Comparison = Literal["<=", "=="]


@dataclass(frozen=True)
class Target:
    """`value <op> limit` must hold."""

    op: Comparison
    limit: float

    def met_by(self, value: float) -> bool:
        if self.op == "<=":
            return value <= self.limit
        return value == self.limit

    def render(self, unit: str) -> str:
        sign = "≤" if self.op == "<=" else "="
        return f"{sign} {_number(self.limit)} {unit}".rstrip()


@dataclass(frozen=True)
class Figure:
    """One measured figure (a row of the table)."""

    benchmark: str
    name: str
    value: float
    unit: str
    target: Target | None = None
    detail: str = ""

    @property
    def passed(self) -> bool | None:
        """True/False against the target; None when the figure has no target."""
        return None if self.target is None else self.target.met_by(self.value)

    def render_value(self) -> str:
        return f"{_number(self.value)} {self.unit}".rstrip()

    def render_target(self) -> str:
        return self.target.render(self.unit) if self.target is not None else "—"

    def render_verdict(self) -> str:
        verdict = self.passed
        if verdict is None:
            return "—"
        return "pass" if verdict else "FAIL"


@dataclass(frozen=True)
class Sample:
    """Several measurements of one quantity (seconds or counts)."""

    values: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def spread_ms(self) -> str:
        """`median of N (min … max)` in milliseconds, for `Figure.detail`."""
        low, high = min(self.values) * 1000, max(self.values) * 1000
        return f"median of {len(self.values)} (min {low:.1f}, max {high:.1f} ms)"


def time_call(func: Callable[[], object]) -> float:
    """Seconds one call of `func` takes (monotonic clock)."""
    t0 = time.perf_counter()
    func()
    return time.perf_counter() - t0


def sample(func: Callable[[], object], repeats: int) -> Sample:
    return Sample(tuple(time_call(func) for _ in range(repeats)))


def interleaved(funcs: Sequence[Callable[[], object]], repeats: int) -> list[Sample]:
    """Time several functions in turns, so load from elsewhere hits each alike.

    A figure reported as a ratio against a reference is only fair when both were
    measured under the same conditions; alternating them spreads any burst of load
    from other processes over both.
    """
    values: list[list[float]] = [[] for _ in funcs]
    for _ in range(repeats):
        for i, func in enumerate(funcs):
            values[i].append(time_call(func))
    return [Sample(tuple(v)) for v in values]


def children_cpu() -> float:
    """CPU seconds (user + system) of every child process this one has waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _number(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


@dataclass(frozen=True)
class Config:
    """How hard to measure: `quick` trades trials and window lengths for speed."""

    quick: bool = False
    sizes: tuple[int, ...] = (10, 50, 100, 200)
    progress: Callable[[str], None] = lambda line: None

    def trials(self, *, full: int, quick: int) -> int:
        return quick if self.quick else full


@dataclass(frozen=True)
class Benchmark:
    """A named benchmark: what its figures mean, and how to measure them."""

    name: str
    title: str
    meaning: str  # for docs/benchmarks.md: what the figures say and how they are taken
    run: Callable[[Config], list[Figure]]

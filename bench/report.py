"""The results of a benchmark run: machine facts, the table, JSON, and docs/benchmarks.md.

Figures depend on the machine, and on what else it is doing: the facts printed with every
table therefore include the CPU count and model, the Python and tmux versions, and the
load average at the start and the end of the run (other work on a 2-core machine shows
up in every latency). `docs/benchmarks.md` keeps hand-written text around one generated
block (between `BEGIN` and `END`), which `--write-docs` replaces with this run's facts,
table and the meaning of each benchmark.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.measure import Benchmark, Figure

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "benchmarks.md"
BEGIN = "<!-- bench/run.py --write-docs: generated from here -->"
END = "<!-- bench/run.py --write-docs: generated up to here -->"
RERUN = ".venv/bin/python bench/run.py --write-docs"


@dataclass(frozen=True)
class Machine:
    """Where and when the figures were taken."""

    cpus: int
    cpus_usable: int
    cpu_model: str
    system: str
    python: str
    tmux: str
    commit: str
    date: str
    load_start: tuple[float, float, float]
    load_end: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass(frozen=True)
class BenchFailure:
    """A benchmark that could not take its measurement."""

    benchmark: str
    message: str


@dataclass(frozen=True)
class Results:
    machine: Machine
    quick: bool
    seconds: float
    figures: tuple[Figure, ...]
    failures: tuple[BenchFailure, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.failures and all(f.passed is not False for f in self.figures)


def machine_facts() -> Machine:
    return Machine(
        cpus=os.cpu_count() or 0,
        cpus_usable=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0,
        cpu_model=_cpu_model(),
        system=f"{platform.system()} {platform.release()} {platform.machine()}",
        python=platform.python_version(),
        tmux=_output(["tmux", "-V"]) or "not found",
        commit=_output(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]) or "unknown",
        date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        load_start=os.getloadavg(),
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _output(argv: Sequence[str]) -> str:
    """A read-only command's first line of output, or "" when it cannot run."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip().splitlines()[0] if done.returncode == 0 and done.stdout else ""


def render_machine(m: Machine) -> str:
    load = "/".join(f"{x:.2f}" for x in m.load_start)
    load_end = "/".join(f"{x:.2f}" for x in m.load_end)
    return (
        f"{m.cpus} CPUs ({m.cpus_usable} usable), {m.cpu_model}; {m.system}; "
        f"Python {m.python}; {m.tmux}; commit {m.commit}; {m.date}; "
        f"load average (1/5/15 min) {load} at start, {load_end} at end"
    )


def render_table(results: Results) -> str:
    """A Markdown table: readable in a terminal, and pasted as is into the docs."""
    rows = [
        ("figure", "value", "target", "result", "detail"),
        ("---", "---:", "---:", ":---:", "---"),
    ]
    for f in results.figures:
        rows.append((f.name, f.render_value(), f.render_target(), f.render_verdict(), f.detail))
    for failure in results.failures:
        rows.append((f"{failure.benchmark} (failed)", "—", "—", "ERROR", failure.message))
    return "\n".join("| " + " | ".join(_cell(cell) for cell in r) + " |" for r in rows)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " / ")


def render_text(results: Results) -> str:
    mode = "quick" if results.quick else "full"
    verdict = "all targets met" if results.ok else "SOME TARGETS MISSED OR BENCHMARKS FAILED"
    return (
        f"{render_table(results)}\n\n"
        f"machine: {render_machine(results.machine)}\n"
        f"mode: {mode}; {results.seconds:.0f} s; {verdict}\n"
    )


def to_json(results: Results) -> str:
    data = {
        "machine": asdict(results.machine),
        "quick": results.quick,
        "seconds": round(results.seconds, 1),
        "ok": results.ok,
        "figures": [
            {
                "benchmark": f.benchmark,
                "name": f.name,
                "value": f.value,
                "unit": f.unit,
                "target": asdict(f.target) if f.target is not None else None,
                "passed": f.passed,
                "detail": f.detail,
            }
            for f in results.figures
        ],
        "failures": [asdict(x) for x in results.failures],
    }
    return json.dumps(data, indent=2, ensure_ascii=False)


def generated_block(results: Results, benchmarks: Sequence[Benchmark]) -> str:
    mode = "`--quick`" if results.quick else "full"
    meanings = "\n\n".join(f"**{b.name}** ({b.title}). {b.meaning}" for b in benchmarks)
    return "\n".join(
        [
            BEGIN,
            "",
            f"Latest run ({mode} mode, {results.seconds:.0f} s), on: "
            f"{render_machine(results.machine)}.",
            "",
            render_table(results),
            "",
            "### What each figure means",
            "",
            meanings,
            "",
            END,
        ]
    )


def write_docs(results: Results, benchmarks: Sequence[Benchmark], path: Path = DOCS) -> None:
    """Replace the generated block of the docs page, keeping the hand-written text."""
    block = generated_block(results, benchmarks)
    text = path.read_text() if path.exists() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = head + block + tail
    else:
        text = _new_page(block)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    os.replace(partial, path)


def _new_page(block: str) -> str:
    return (
        "# Benchmarks\n\n"
        f"Rerun on your machine: `{RERUN}` (about two minutes; `--quick` for a shorter "
        "run, `--only NAME` for one benchmark, `-o json` for machines).\n\n"
        f"## Latest results\n\n{block}\n"
    )

"""What orphan detection costs a pass: `.venv/bin/python bench/orphans.py [--sizes 10,50,100]`.

The orphans controller runs on every pass (it is in `default_controllers()`), and its
observation (`controllers.orphans.observe`) reads environments, command lines and lock files of
a few candidate processes on top of the pass's one `list-panes` call and one process
scan. This benchmark converges a team of `shell` agents (`sleep`) at each size on a
private tmux server, then runs no-op passes in-process with the default controllers and
reports, per pass: tmux calls (the engine's `Tmux.calls`), process scans and their time
(a timing scanner handed to the engine as `Engine.scanner`), the time of the orphan
observation and what it read (`ScanStats`, recorded by a wrapper around the orphans
controller), and the whole pass. Every measured pass must plan nothing and find no
orphan, or the benchmark fails rather than print a wrong figure.

Everything it starts lives in a temporary folder and on a tmux server of its own
(`tmux -L bench-orphans-...`); on the way out, normal or not, it kills the agents it
started (pid and create time re-checked), that server and its socket, and the folder.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import BenchError
from bench.measure import Benchmark, Config, Figure, Target
from controllers.agents.controller import AgentsController
from controllers.base import ControllerResult, PassInputs
from controllers.orphans.controller import OrphansController
from controllers.orphans.observe import OrphanFacts, ScanStats
from reconciler.engine.engine import Engine
from reconciler.observe.procs import ProcessTable, create_time_of, scan, signal_process
from reconciler.observe.tmux import Tmux
from reconciler.observe.world import list_panes

SIZES = (10, 50, 100)
PASSES = 7
MAX_TMUX_CALLS = 3
MAX_SCANS = 1
CONVERGE_TIMEOUT_SEC = 300.0


class BenchFailed(BenchError):
    """The measurement could not be taken as promised (not converged, a pass acted)."""


@dataclass
class TimedScanner:
    """`procs.scan`, counted and timed: the engine's `scanner`."""

    scans: int = 0
    seconds: float = 0.0

    def __call__(self) -> ProcessTable:
        started = time.perf_counter()
        table = scan()
        self.seconds += time.perf_counter() - started
        self.scans += 1
        return table


class RecordingOrphans(OrphansController):
    """The real orphans controller, keeping the observation stats each pass handed it."""

    def __init__(self) -> None:
        super().__init__()
        self.stats: list[ScanStats] = []
        self.found: list[int] = []

    def reconcile(self, inputs: PassInputs) -> ControllerResult:
        facts = inputs.fact(OrphanFacts)
        if facts is not None:
            self.stats.append(facts.stats)
        result = super().reconcile(inputs)
        self.found.append(len(result.report.orphans or ()))
        return result


@dataclass(frozen=True)
class Row:
    agents: int
    passes: int
    tmux_calls_per_pass: int  # the most any measured pass made
    scans_per_pass: int
    scan_ms: float  # median over the passes
    orphan_detection_ms: float  # median: the orphan observation step
    environ_reads: int  # the most any pass made
    cmdline_reads: int
    fd_reads: int
    workspaces_checked: int
    pass_ms: float  # median, whole pass in-process
    orphans_found: int


@contextlib.contextmanager
def sandbox(label: str) -> Iterator[tuple[Path, str]]:
    """A temporary workspace and a private tmux socket name; both removed at the end."""
    root = Path(tempfile.mkdtemp(prefix=f"bench-orphans-{label}-"))
    socket = f"bench-orphans-{os.getpid()}-{label}-{uuid.uuid4().hex[:6]}"
    try:
        yield root, socket
    finally:
        with contextlib.suppress(Exception):  # cleanup never masks the benchmark's failure
            _, panes = list_panes(Tmux(socket_name=socket))
            for pane in panes:
                created = create_time_of(pane.pane_pid) if pane.pane_pid else None
                if pane.pane_pid and created is not None:
                    signal_process(pane.pane_pid, created, signal.SIGKILL)
        with contextlib.suppress(Exception):
            subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, timeout=10)
        with contextlib.suppress(Exception):
            base = os.environ.get("TMUX_TMPDIR") or "/tmp"
            (Path(base) / f"tmux-{os.getuid()}" / socket).unlink(missing_ok=True)
        shutil.rmtree(root, ignore_errors=True)


def spec_text(size: int, socket: str) -> str:
    lines = ["version: 1", "team: {name: orphans-bench}", "agents:"]
    for i in range(size):
        lines += [f"  - id: a{i:03d}", "    provider: shell", '    command: ["sleep", "86400"]']
    lines += ["runtime:", f"  tmux_socket: {socket}"]
    return "\n".join(lines) + "\n"


def measure(size: int, passes: int) -> Row:
    with sandbox(str(size)) as (root, socket):
        spec = root / "team.spec.yaml"
        spec.write_text(spec_text(size, socket))
        scanner = TimedScanner()
        recorder = RecordingOrphans()
        engine = Engine(
            spec_path=spec,
            workspace=root.resolve(),
            controllers=(AgentsController(), recorder),
            scanner=scanner,
        )
        deadline = time.monotonic() + CONVERGE_TIMEOUT_SEC
        while not engine.reconcile().ready:
            if time.monotonic() > deadline:
                raise BenchFailed(f"{size} agents: not Ready after {CONVERGE_TIMEOUT_SEC:g}s")
            time.sleep(0.1)
        tmux = engine.tmux_for(socket)
        calls: list[int] = []
        scans: list[int] = []
        scan_s: list[float] = []
        pass_s: list[float] = []
        recorder.stats.clear()
        recorder.found.clear()
        for _ in range(passes):
            c0, n0, s0 = tmux.calls, scanner.scans, scanner.seconds
            started = time.perf_counter()
            result = engine.reconcile()
            pass_s.append(time.perf_counter() - started)
            if not result.plan.empty:
                raise BenchFailed(f"{size} agents: a no-op pass planned {result.plan.render()}")
            calls.append(tmux.calls - c0)
            scans.append(scanner.scans - n0)
            scan_s.append(scanner.seconds - s0)
        if any(recorder.found):
            raise BenchFailed(f"{size} agents: orphans found in a clean sandbox")
        stats = recorder.stats
        return Row(
            agents=size,
            passes=passes,
            tmux_calls_per_pass=max(calls),
            scans_per_pass=max(scans),
            scan_ms=round(statistics.median(scan_s) * 1000, 2),
            orphan_detection_ms=round(statistics.median(s.seconds for s in stats) * 1000, 2),
            environ_reads=max(s.environ_reads for s in stats),
            cmdline_reads=max(s.cmdline_reads for s in stats),
            fd_reads=max(s.fd_reads for s in stats),
            workspaces_checked=max(s.workspaces for s in stats),
            pass_ms=round(statistics.median(pass_s) * 1000, 2),
            orphans_found=max(recorder.found),
        )


COLUMNS = (
    ("agents", "agents"),
    ("tmux_calls_per_pass", "tmux calls/pass"),
    ("scans_per_pass", "scans/pass"),
    ("scan_ms", "scan ms"),
    ("orphan_detection_ms", "orphan detection ms"),
    ("environ_reads", "environ reads"),
    ("cmdline_reads", "cmdline reads"),
    ("fd_reads", "fd reads"),
    ("pass_ms", "pass ms"),
)


def render(rows: Sequence[Row]) -> str:
    data = [asdict(r) for r in rows]
    widths = [max(len(title), *(len(str(d[key])) for d in data)) for key, title in COLUMNS]
    lines = ["  ".join(title.rjust(w) for (_, title), w in zip(COLUMNS, widths, strict=True))]
    for d in data:
        cells = (str(d[key]).rjust(w) for (key, _), w in zip(COLUMNS, widths, strict=True))
        lines.append("  ".join(cells))
    return "\n".join(lines)


def run(config: Config) -> list[Figure]:
    passes = config.trials(full=PASSES, quick=3)
    figures: list[Figure] = []
    rows: list[Row] = []
    for size in SIZES:
        config.progress(f"orphans: {size} agents")
        row = measure(size, passes)
        rows.append(row)
        detail = f"max over {passes} passes"
        figures += [
            Figure(
                "orphans",
                f"tmux calls per no-op pass, {size} agents",
                row.tmux_calls_per_pass,
                "calls",
                Target("<=", MAX_TMUX_CALLS),
                detail,
            ),
            Figure(
                "orphans",
                f"process scans per no-op pass, {size} agents",
                row.scans_per_pass,
                "scans",
                Target("<=", MAX_SCANS),
                detail,
            ),
            Figure(
                "orphans",
                f"orphan detection per pass, {size} agents",
                row.orphan_detection_ms,
                "ms",
                None,
                f"median of {passes}; {row.environ_reads} environ, {row.cmdline_reads} cmdline,"
                f" {row.fd_reads} fd reads; whole pass {row.pass_ms} ms",
            ),
        ]
    calls = [r.tmux_calls_per_pass for r in rows]
    figures.append(
        Figure(
            "orphans",
            "tmux calls per no-op pass: spread across sizes",
            max(calls) - min(calls),
            "calls",
            Target("==", 0),
            "max - min over " + ", ".join(f"{r.agents}: {r.tmux_calls_per_pass}" for r in rows),
        )
    )
    return figures


BENCHMARK = Benchmark(
    name="orphans",
    title="orphan detection's cost per no-op pass",
    meaning=(
        "A team of `shell` agents (`sleep`) is converged at 10, 50 and 100 agents on a "
        "private tmux server, then reconciled again in-process with the agents and orphans "
        "controllers. Each pass must plan nothing and find no orphan. *tmux calls* counts "
        "`Tmux.calls`, *process scans* the calls of a timing scanner passed as "
        "`Engine.scanner`; *orphan detection* is the median time of the orphan observation "
        "(`ScanStats.seconds`). Targets: ≤ 3 calls, the same at every size (*spread* = 0), "
        "and ≤ 1 scan. Detection time has no target."
    ),
    run=run,
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/orphans.py", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="team sizes")
    parser.add_argument("--passes", type=int, default=PASSES, help="no-op passes measured")
    parser.add_argument("-o", "--output", choices=["text", "json"], default="text")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    rows: list[Row] = []
    for size in sizes:
        print(f"orphans bench: {size} agents ...", file=sys.stderr, flush=True)
        rows.append(measure(size, args.passes))
    if args.output == "json":
        print(json.dumps([asdict(r) for r in rows], indent=2))
    else:
        print(render(rows))
    flat = all(r.tmux_calls_per_pass == rows[0].tmux_calls_per_pass for r in rows)
    if not flat or any(r.scans_per_pass > 1 for r in rows):
        print("orphans bench: tmux calls or scans per pass grew with the team", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))  # cleanup via finally
    sys.exit(main())

"""Run every benchmark and print one table: `.venv/bin/python bench/run.py [options]`.

    bench/run.py                 all benchmarks, full length (about 15 minutes)
    bench/run.py --quick         fewer trials, shorter windows (the reference alone ~4 min)
    bench/run.py --only NAME     one benchmark (repeatable); see --list
    bench/run.py -o json         machine-readable results on stdout
    bench/run.py --write-docs    also refresh the generated block of docs/benchmarks.md

Progress goes to stderr, results to stdout. Exit 0 when every figure meets its target,
1 when one misses or a benchmark fails, 2 on a usage error, 130 when interrupted. Ctrl-C
and SIGTERM stop the run; each benchmark's sandbox (private tmux server, temporary
workspace, processes) is removed on the way out.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import (
    capture,
    cli_wall,
    converge,
    messages,
    orphans,
    passes,
    real_clis,
    reference,
    run_idle,
    run_latency,
    snapshot,
)
from bench.harness import BenchError
from bench.measure import Benchmark, Config, Figure
from bench.report import (
    BenchFailure,
    Results,
    machine_facts,
    render_text,
    to_json,
    write_docs,
)
from reconciler.api.errors import TeamAgentError

BENCHMARKS: tuple[Benchmark, ...] = (
    passes.BENCHMARK,
    snapshot.BENCHMARK,
    cli_wall.BENCHMARK,
    converge.BENCHMARK,
    run_latency.BENCHMARK,
    run_idle.BENCHMARK,
    capture.BENCHMARK,
    orphans.BENCHMARK,
    messages.BENCHMARK,
    real_clis.BENCHMARK,
    reference.BENCHMARK,
)
EXIT_OK, EXIT_MISSED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    names = [b.name for b in BENCHMARKS]
    parser = argparse.ArgumentParser(
        prog="bench/run.py", description="Run team-agent's benchmarks and print one table."
    )
    parser.add_argument("--quick", action="store_true", help="fewer trials, shorter windows")
    parser.add_argument(
        "--only", action="append", choices=names, metavar="NAME", help=f"one of {names}"
    )
    parser.add_argument("-o", "--output", choices=["table", "json"], default="table")
    parser.add_argument(
        "--write-docs", action="store_true", help="refresh docs/benchmarks.md (all benchmarks)"
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    if args.write_docs and args.only:
        parser.error("--write-docs records a whole run; leave out --only")
    return args


def progress(line: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {line}", file=sys.stderr, flush=True)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGINT, SIGTERM and SIGHUP raise KeyboardInterrupt, so every sandbox's `finally` runs."""
    raise KeyboardInterrupt


def run_benchmarks(selected: Sequence[Benchmark], config: Config) -> Results:
    machine = machine_facts()
    started = time.monotonic()
    figures: list[Figure] = []
    failures: list[BenchFailure] = []
    for bench in selected:
        progress(f"{bench.name}: {bench.title}")
        try:
            figures += bench.run(config)
        except (BenchError, TeamAgentError, subprocess.SubprocessError, OSError) as err:
            progress(f"{bench.name}: failed: {err}")
            failures.append(BenchFailure(bench.name, f"{type(err).__name__}: {err}"))
    return Results(
        machine=dataclasses.replace(machine, load_end=os.getloadavg()),
        quick=config.quick,
        seconds=time.monotonic() - started,
        figures=tuple(figures),
        failures=tuple(failures),
    )


def _cache_bytecode() -> None:
    """Measure what an installed team-agent costs: with its bytecode cached.

    pip and pipx compile an installed package's modules, so a user's `team-agent` never
    compiles ours from source. A checkout run with `PYTHONDONTWRITEBYTECODE` set (some
    sandboxes and CI images set it) would compile every module in every process and
    measured about twice the import time; the variable is dropped for the processes the
    benchmarks start, and the packages are compiled once here.
    """
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    root = Path(__file__).resolve().parents[1]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "compileall",
            "-q",
            str(root / "reconciler"),
            str(root / "controllers"),
        ],
        check=False,
        capture_output=True,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.list:
        for bench in BENCHMARKS:
            print(f"{bench.name:12} {bench.title}")
        return EXIT_OK
    selected = [b for b in BENCHMARKS if not args.only or b.name in args.only]
    _cache_bytecode()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)  # also when started with SIGINT ignored (`cmd &`)
    try:
        results = run_benchmarks(selected, Config(quick=args.quick, progress=progress))
    except KeyboardInterrupt:
        progress("interrupted; sandboxes removed")
        return EXIT_INTERRUPTED
    print(to_json(results) if args.output == "json" else render_text(results))
    if args.write_docs:
        write_docs(results, BENCHMARKS)
        progress("wrote docs/benchmarks.md")
    return EXIT_OK if results.ok else EXIT_MISSED


if __name__ == "__main__":
    sys.exit(main())

"""Whole-process wall time of a no-op `team-agent reconcile --once`, and where it goes.

This is what a cron job, a CI step or a shell prompt pays per check: a fresh process
started through the installed console script, at 20 agents, on a converged team. Each run
must exit 0 (Ready) and report no actions, or the benchmark fails.

A short-lived Python CLI spends most of its life starting the interpreter and importing
modules, so the same run measures, interleaved with the real thing, a bare interpreter
(`python -c pass`, the machine reference) and an interpreter that only imports what
`reconcile --once` imports (the command group and its verb's module, `IMPORTS`), plus
the in-process no-op pass. `python -X importtime` then names the packages whose imports
cost the most.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
from collections import defaultdict

from bench.harness import BenchError, BenchTeam, private_team, shell_agents
from bench.measure import (
    Benchmark,
    Config,
    Figure,
    Sample,
    Target,
    children_cpu,
    interleaved,
    ms,
    sample,
)

AGENTS = 20
TARGET_MS = 300.0
IMPORTTIME_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)$")
TOP_IMPORTS = 6
# What `reconcile --once` imports: the group, and its verb's module (the others are lazy).
IMPORTS = "import reconciler.cli.main, reconciler.cli.verbs.converge"


def run(config: Config) -> list[Figure]:
    repeats = config.trials(full=11, quick=5)
    with private_team("cli-wall") as team:
        team.write_spec(shell_agents(AGENTS))
        config.progress(f"cli-wall: converging {AGENTS} agents")
        converged = team.cli("reconcile", "--once", "--wait", "120s", "-o", "json")
        if converged.returncode != 0:
            raise BenchError(f"cold converge exited {converged.returncode}: {_tail(converged)}")
        _noop_cli(team)  # warm-up: bytecode caches, page cache

        config.progress(f"cli-wall: {repeats} runs of reconcile --once")
        cpu: list[float] = []

        def noop_cli() -> None:
            before = children_cpu()
            _noop_cli(team)
            cpu.append(children_cpu() - before)

        cli, bare, imports = interleaved(
            [
                noop_cli,
                lambda: _python("pass"),
                lambda: _python(IMPORTS),
            ],
            repeats,
        )
        engine = team.engine()
        engine.reconcile()
        in_process = sample(engine.reconcile, repeats)
    top = top_import_costs(config.trials(full=5, quick=3))
    return [
        Figure(
            "cli-wall",
            f"no-op `reconcile --once`, {AGENTS} agents, whole process",
            ms(cli.median),
            "ms",
            Target("<=", TARGET_MS),
            f"{cli.spread_ms()}; fresh process via the console script",
        ),
        Figure(
            "cli-wall",
            "CPU time (user + sys) of that process",
            ms(Sample(tuple(cpu)).median),
            "ms",
            None,
            Sample(tuple(cpu)).spread_ms() + "; less sensitive to other load than wall time",
        ),
        Figure(
            "cli-wall",
            "bare interpreter `python -c pass` (reference)",
            ms(bare.median),
            "ms",
            None,
            bare.spread_ms(),
        ),
        Figure(
            "cli-wall",
            "no-op `reconcile --once` ÷ bare interpreter",
            round(cli.median / bare.median, 1),
            "x",
            None,
            "same run, interleaved",
        ),
        Figure(
            "cli-wall",
            '`python -c "import reconciler.cli.main, reconciler.cli.verbs.converge"`, '
            "whole process",
            ms(imports.median),
            "ms",
            None,
            f"{imports.spread_ms()}; top self import time: "
            + ", ".join(f"{name} {cost:.0f} ms" for name, cost in top),
        ),
        Figure(
            "cli-wall",
            f"no-op pass in-process, {AGENTS} agents",
            ms(in_process.median),
            "ms",
            None,
            in_process.spread_ms(),
        ),
    ]


def _noop_cli(team: BenchTeam) -> None:
    done = team.cli("reconcile", "--once", "-o", "json", timeout=60)
    if done.returncode != 0:
        raise BenchError(f"no-op reconcile --once exited {done.returncode}: {_tail(done)}")
    actions = json.loads(done.stdout)["lastReconcile"]["actions"]
    if actions:
        raise BenchError(f"the pass was not a no-op: {actions}")


def _python(code: str) -> None:
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def _tail(done: subprocess.CompletedProcess[bytes]) -> str:
    return done.stderr.decode(errors="replace").strip()[-500:]


def top_import_costs(runs: int) -> list[tuple[str, float]]:
    """The top-level packages whose imports cost most (self time, ms, median of `runs`).

    Self time is summed per top-level package (`pydantic_core._pydantic_core` counts for
    `pydantic_core`), so the list says which dependency, or which of our packages, to look
    at; cumulative times would count every parent again.
    """
    per_run: dict[str, list[float]] = defaultdict(list)
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", IMPORTS],
            capture_output=True,
            text=True,
            check=True,
        )
        totals: dict[str, float] = defaultdict(float)
        for line in done.stderr.splitlines():
            match = IMPORTTIME_LINE.match(line)
            if match:
                totals[match.group(4).split(".")[0]] += int(match.group(1)) / 1000
        for name, cost in totals.items():
            per_run[name].append(cost)
    medians = {name: statistics.median(costs) for name, costs in per_run.items()}
    return sorted(medians.items(), key=lambda item: item[1], reverse=True)[:TOP_IMPORTS]


BENCHMARK = Benchmark(
    name="cli-wall",
    title="no-op `team-agent reconcile --once`, whole process",
    meaning=(
        "Wall time of `team-agent -f SPEC reconcile --once -o json` started as a fresh "
        "process through the installed console script, on a converged team of 20 `shell` "
        "agents; median of 11 runs (5 with `--quick`) after one warm-up; each run must "
        "exit 0 and report no actions. Target ≤ 300 ms. Measured interleaved with it: a bare "
        "`python -c pass` (the machine reference, and the ratio against it) and "
        '`python -c "import reconciler.cli.main, reconciler.cli.verbs.converge"` (interpreter plus '
        "the imports of `reconcile --once`), whose detail lists "
        "the top-level packages with the most self import time (`python -X importtime`, "
        "median of 5 runs). *no-op pass in-process* is the same pass without process "
        "start-up and imports."
    ),
    run=run,
)

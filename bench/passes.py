"""The cost of a no-op pass: tmux calls and process scans, the same at every team size.

DESIGN.md promises that a pass over a converged team costs O(1) tmux calls (one
`list-panes -a`) and one process scan, however many agents there are. This benchmark
grows one team of `shell` agents running `sleep` through the sizes, converges it at each,
then runs several more passes in-process and counts what each did: tmux invocations via
the engine's `Tmux.calls` (summed over every server it addressed, `Engine.tmux_calls`)
and process scans via a counting scanner handed to the engine (`Engine.scanner`). Every
counted pass must plan nothing, or the benchmark fails rather than report a wrong count.
The in-process duration of those passes is reported too, without a target: it shows what
grows with the team when the tmux and scan counts do not.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench.harness import BenchError, private_team, shell_agents
from bench.measure import Benchmark, Config, Figure, Sample, Target, ms
from reconciler.observe.procs import ProcessTable, scan

MAX_TMUX_CALLS = 3
MAX_SCANS = 1
CONVERGE_TIMEOUT_SEC = 180.0


@dataclass
class CountingScanner:
    """`procs.scan`, counted: handed to the engine as its `scanner`."""

    scans: int = 0

    def __call__(self) -> ProcessTable:
        self.scans += 1
        return scan()


def run(config: Config) -> list[Figure]:
    passes = config.trials(full=9, quick=3)
    figures: list[Figure] = []
    calls_by_size: dict[int, int] = {}
    with private_team("passes") as team:
        counter = CountingScanner()
        engine = team.engine(scanner=counter)
        for size in config.sizes:
            config.progress(f"passes: converging {size} agents")
            team.write_spec(shell_agents(size))
            team.converge(engine, timeout=CONVERGE_TIMEOUT_SEC)
            team.quiet_pass(engine)  # new panes' output would make the next passes read them
            calls: list[int] = []
            scans: list[int] = []
            durations: list[float] = []
            for _ in range(passes):
                calls_before, scans_before = engine.tmux_calls, counter.scans
                t0 = time.perf_counter()
                result = engine.reconcile()
                durations.append(time.perf_counter() - t0)
                if not result.plan.empty or not result.ready:
                    raise BenchError(
                        f"the pass at {size} agents was not a no-op: "
                        f"{[a.render() for a in result.plan.actions]} (exit {result.exit_code})"
                    )
                calls.append(engine.tmux_calls - calls_before)
                scans.append(counter.scans - scans_before)
            calls_by_size[size] = max(calls)
            figures += [
                Figure(
                    "passes",
                    f"tmux calls per no-op pass, {size} agents",
                    max(calls),
                    "calls",
                    Target("<=", MAX_TMUX_CALLS),
                    f"max over {passes} passes (min {min(calls)})",
                ),
                Figure(
                    "passes",
                    f"process scans per no-op pass, {size} agents",
                    max(scans),
                    "scans",
                    Target("<=", MAX_SCANS),
                    f"max over {passes} passes (min {min(scans)})",
                ),
                Figure(
                    "passes",
                    f"no-op pass in-process, {size} agents",
                    ms(Sample(tuple(durations)).median),
                    "ms",
                    None,
                    Sample(tuple(durations)).spread_ms(),
                ),
            ]
    spread = max(calls_by_size.values()) - min(calls_by_size.values())
    figures.append(
        Figure(
            "passes",
            "tmux calls per no-op pass: spread across sizes",
            spread,
            "calls",
            Target("==", 0),
            "max - min over " + ", ".join(f"{n}: {c}" for n, c in calls_by_size.items()),
        )
    )
    return figures


BENCHMARK = Benchmark(
    name="passes",
    title="tmux calls and process scans per no-op pass",
    meaning=(
        "A converged team is reconciled again, in-process, several times per size (10, 50, "
        "100, 200 `shell` agents running `sleep`), after a second without output (a pass "
        "also reads the screens of agents that wrote since the last pass looked). Each "
        "pass must plan nothing. *tmux "
        "calls* counts tmux invocations (`Engine.tmux_calls`), *process scans* counts "
        "calls of the engine's process-table scanner (a counting wrapper passed as "
        "`Engine.scanner`). Targets: ≤ 3 calls and ≤ 1 scan, the same at every size "
        "(*spread* = 0). *no-op pass in-process* is the median duration of those passes "
        "(load, observe, plan, status write): no target, it shows what grows with the team."
    ),
    run=run,
)

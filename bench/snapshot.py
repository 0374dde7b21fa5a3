"""The snapshot (observe) time at growing team sizes, against a plain `tmux list-panes -a`.

The snapshot is the part of every pass that touches the world: one `list-panes -a -F`
carrying every field and marker, parsed into panes, plus one process-table scan. How its
cost grows with the number of panes is the figure; since it depends on the machine, each
size also reports the time of a plain `tmux list-panes -a` (a fresh tmux client, default
format, output discarded) measured in the same run, interleaved with the snapshot, and the
ratio of the two. The detail splits the snapshot into its tmux part and its scan part.
"""

from __future__ import annotations

import subprocess

from bench.harness import BenchError, private_team, shell_agents
from bench.measure import Benchmark, Config, Figure, Sample, interleaved, ms
from reconciler.observe.procs import scan
from reconciler.observe.world import list_panes, observe

CONVERGE_TIMEOUT_SEC = 180.0


def run(config: Config) -> list[Figure]:
    repeats = config.trials(full=21, quick=7)
    figures: list[Figure] = []
    with private_team("snapshot") as team:
        engine = team.engine()
        tmux = team.tmux
        reference_argv = ["tmux", "-L", team.socket, "list-panes", "-a"]

        def reference() -> None:
            subprocess.run(reference_argv, capture_output=True, check=True)

        for size in config.sizes:
            config.progress(f"snapshot: converging {size} agents")
            team.write_spec(shell_agents(size))
            team.converge(engine, timeout=CONVERGE_TIMEOUT_SEC)
            seen = len([p for p in observe(tmux).panes if p.agent])
            if seen != size:
                raise BenchError(f"snapshot sees {seen} agent panes, expected {size}")
            snap, ref, tmux_part, scan_part = interleaved(
                [lambda: observe(tmux), reference, lambda: list_panes(tmux), scan], repeats
            )
            figures += _figures(size, snap, ref, tmux_part, scan_part, len(scan().by_pid))
    return figures


def _figures(
    size: int, snap: Sample, ref: Sample, tmux_part: Sample, scan_part: Sample, processes: int
) -> list[Figure]:
    return [
        Figure(
            "snapshot",
            f"snapshot (observe), {size} agent panes",
            ms(snap.median),
            "ms",
            None,
            f"{snap.spread_ms()}; list-panes+parse {ms(tmux_part.median)} ms, "
            f"process scan {ms(scan_part.median)} ms ({processes} processes on the machine)",
        ),
        Figure(
            "snapshot",
            f"plain `tmux list-panes -a`, {size} panes (reference)",
            ms(ref.median),
            "ms",
            None,
            ref.spread_ms(),
        ),
        Figure(
            "snapshot",
            f"snapshot ÷ plain list-panes, {size} panes",
            round(snap.median / ref.median, 2),
            "x",
            None,
            "same run, interleaved",
        ),
    ]


BENCHMARK = Benchmark(
    name="snapshot",
    title="observe time by team size",
    meaning=(
        "`reconciler.observe.world.observe` (one `list-panes -a -F` with every field and marker, "
        "parsed, plus one psutil process scan) timed at 10, 50, 100 and 200 agent panes "
        "(`shell` agents running `sleep`), median of 21 (7 with `--quick`). Its reference is "
        "a plain `tmux list-panes -a` run as a fresh process on the same server, timed "
        "interleaved with it; the ratio is the machine-independent figure. The detail "
        "splits the snapshot into the tmux call with parsing and the process scan, whose cost "
        "follows the number of processes on the whole machine, not the team size."
    ),
    run=run,
)

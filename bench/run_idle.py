"""What `team-agent run` costs while nothing happens: CPU and memory with 20 agents.

`run` is started as a real process over 20 fake agents and left to become Ready and
settle. Then, over a window of 60 s (15 s with `--quick`), the CPU time of the `run`
process is read with psutil before and after: its own user + system time, plus the time
of the child processes it ran and reaped meanwhile (the tmux clients of its passes), since
both are work `run` causes. The tmux server's own CPU over the same window is reported
beside it, without a target: it serves those clients and hosts the panes. RSS is read at
both ends of the window, so growth shows.
"""

from __future__ import annotations

import time

import psutil

from bench.harness import BenchError, private_team, wait_until
from bench.measure import Benchmark, Config, Figure, Target

AGENTS = 20
TARGET_PERCENT = 1.0
SETTLE_SEC = 3.0
READY_TIMEOUT_SEC = 120.0
MIB = 1024 * 1024


def run(config: Config) -> list[Figure]:
    window = 15.0 if config.quick else 60.0
    with private_team("run-idle") as team:
        team.write_spec(team.fake_agents([f"f{i:02d}" for i in range(AGENTS)]))
        proc = team.start("run", "-q")
        config.progress(f"run-idle: waiting for {AGENTS} fake agents under `run`")
        wait_until(team.is_ready, timeout=READY_TIMEOUT_SEC, interval=0.1, what="Ready")
        server_pids = {p.server_pid for p in team.agent_panes().values()}
        if len(server_pids) != 1:
            raise BenchError(f"expected one tmux server, saw pids {sorted(server_pids)}")
        loop, server = psutil.Process(proc.pid), psutil.Process(server_pids.pop())
        time.sleep(SETTLE_SEC)  # let the agents' start-up passes finish before the window

        config.progress(f"run-idle: measuring over {window:g} s")
        own0, kids0, server0 = _cpu(loop), _children_cpu(loop), _cpu(server)
        rss0, t0 = loop.memory_info().rss, time.monotonic()
        time.sleep(window)
        own1, kids1, server1 = _cpu(loop), _children_cpu(loop), _cpu(server)
        rss1, wall = loop.memory_info().rss, time.monotonic() - t0
        if proc.poll() is not None:
            raise BenchError(f"`run` exited {proc.returncode} during the window")

    def pct(seconds: float) -> float:
        return round(seconds / wall * 100, 2)

    own, kids = own1 - own0, kids1 - kids0
    return [
        Figure(
            "run-idle",
            f"`run` idle CPU, {AGENTS} agents",
            pct(own + kids),
            "% of a core",
            Target("<=", TARGET_PERCENT),
            f"over {wall:.0f} s: process itself {pct(own)} %, tmux clients it ran {pct(kids)} %",
        ),
        Figure(
            "run-idle",
            "tmux server CPU meanwhile",
            pct(server1 - server0),
            "% of a core",
            None,
            f"over {wall:.0f} s; serves the loop's calls and hosts {AGENTS} panes",
        ),
        Figure(
            "run-idle",
            f"`run` RSS, {AGENTS} agents",
            round(rss1 / MIB, 1),
            "MiB",
            None,
            f"{rss0 / MIB:.1f} MiB at the start of the window, {rss1 / MIB:.1f} MiB at its end",
        ),
    ]


def _cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def _children_cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.children_user + times.children_system)


BENCHMARK = Benchmark(
    name="run-idle",
    title="`run` idle CPU and memory",
    meaning=(
        "`team-agent run` over 20 fake agents, Ready and settled (3 s), then a window of "
        "60 s (15 s with `--quick`): CPU time of the `run` process (user + system, its own "
        "plus the tmux clients it ran and reaped) divided by the window, in % of one core; "
        "target ≤ 1 %. The tmux server's CPU over the same window is shown beside it, and "
        "`run`'s RSS at the end of the window (the start in the detail)."
    ),
    run=run,
)

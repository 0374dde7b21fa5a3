"""Cold converge: from no tmux server at all to a Ready team, as a user's first command.

Each trial is a fresh sandbox (new workspace, new private tmux server that does not run
yet) and one `team-agent reconcile --once --wait 120s` through the console script; the
figure is that process's wall time, which includes starting the tmux server, creating
every window and waiting until every agent is Ready. `shell` agents running `sleep` show
how creation scales; fake agents add the wait for each agent's readiness prompt.
"""

from __future__ import annotations

import time

from bench.harness import AgentDef, BenchError, BenchTeam, private_team, shell_agents
from bench.measure import Benchmark, Config, Figure, Sample, ms

SHELL_SIZES = (10, 50)
FAKE_SIZE = 10


def run(config: Config) -> list[Figure]:
    trials = config.trials(full=3, quick=1)
    figures: list[Figure] = []
    cases: list[tuple[str, int]] = [("shell", n) for n in SHELL_SIZES] + [("fake", FAKE_SIZE)]
    for provider, size in cases:
        config.progress(f"converge: {size} {provider} agents, {trials} trial(s)")
        durations = tuple(_cold_converge(provider, size) for _ in range(trials))
        figures.append(
            Figure(
                "converge",
                f"cold converge, {size} {provider} agents",
                ms(Sample(durations).median),
                "ms",
                None,
                Sample(durations).spread_ms() + "; `reconcile --once --wait`, fresh server",
            )
        )
    return figures


def _agents(team: BenchTeam, provider: str, size: int) -> list[AgentDef]:
    if provider == "fake":
        return team.fake_agents([f"f{i:03d}" for i in range(size)])
    return shell_agents(size)


def _cold_converge(provider: str, size: int) -> float:
    with private_team(f"converge-{provider}-{size}") as team:
        team.write_spec(_agents(team, provider, size))
        t0 = time.perf_counter()
        done = team.cli("reconcile", "--once", "--wait", "120s", "-o", "json", timeout=180)
        elapsed = time.perf_counter() - t0
        if done.returncode != 0:
            tail = done.stderr.decode(errors="replace").strip()[-500:]
            raise BenchError(
                f"cold converge of {size} {provider} agents: exit {done.returncode} {tail}"
            )
        if len(team.agent_panes()) != size:
            raise BenchError(f"cold converge of {size} {provider} agents left the wrong panes")
        return elapsed


BENCHMARK = Benchmark(
    name="converge",
    title="cold converge",
    meaning=(
        "Wall time of `team-agent reconcile --once --wait 120s` from nothing (a new "
        "workspace, no tmux server yet) to exit 0 (Ready), for 10 and 50 `shell` agents "
        "running `sleep` and for 10 fake agents (whose readiness prompt must appear); "
        "median of 3 trials (1 with `--quick`), each in a fresh sandbox. No target: it "
        "shows how creating agents scales."
    ),
    run=run,
)

"""`team-agent run` reaction times: spec save → new pane, agent exit → restarted.

`run` is started as a real process (the console script) with a team of fake agents and
left to converge. Then, trial after trial:

* *spec save → pane*: one more fake agent is added to the spec (atomic replace, as an
  editor saves) and the clock runs until a pane carrying that agent's marker exists;
* *exit → restarted*: one agent's process gets SIGTERM and the clock runs until its pane
  is alive again with a new pid. Each trial uses a different agent because a second exit
  of the same agent within ten minutes waits out crash-loop backoff (10 s), by design.

Panes are polled with one `tmux list-panes -a` every `POLL_SEC`, so each latency is an
upper bound that may include one poll interval. Between trials the team is left to
become Ready again, so each trial starts from an idle loop.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import time

from bench.harness import AgentDef, BenchError, BenchTeam, private_team, wait_until
from bench.measure import Benchmark, Config, Figure, Sample, Target, ms
from reconciler.api import conditions as C

POLL_SEC = 0.01
SPEC_TO_PANE_MS = 500.0
EXIT_TO_RESTART_MS = 1000.0
READY_TIMEOUT_SEC = 60.0
PANE_TIMEOUT_SEC = 10.0
# Longer than the default resync (30 s): an exit the fast wake-up misses is still measured
# (at resync latency) instead of aborting the benchmark.
RESTART_TIMEOUT_SEC = 45.0


def run(config: Config) -> list[Figure]:
    trials = config.trials(full=7, quick=3)
    with private_team("run-latency") as team:
        base = team.fake_agents([f"r{i}" for i in range(trials)])
        team.write_spec(base)
        proc = team.start("run")
        try:
            to_pane, to_restart = _trials(team, proc, base, trials, config)
        except BenchError as err:
            raise BenchError(f"{err}; `run` printed: {team.log_tail()}") from err
    figures: list[Figure] = []
    for what, values, target in (
        ("spec save → new agent's pane exists", to_pane, SPEC_TO_PANE_MS),
        ("agent exit → restarted", to_restart, EXIT_TO_RESTART_MS),
    ):
        sampled = Sample(tuple(values))
        slow = sum(1 for v in values if v * 1000 > target)
        figures += [
            Figure(
                "run-latency",
                f"`run`: {what}",
                ms(sampled.median),
                "ms",
                Target("<=", target),
                f"{sampled.spread_ms()}; polled every {POLL_SEC * 1000:.0f} ms",
            ),
            Figure(
                "run-latency",
                f"`run`: {what}, slowest trial",
                ms(max(values)),
                "ms",
                Target("<=", target),
                f"{slow} of {len(values)} trials over {target:.0f} ms",
            ),
        ]
    return figures


def _trials(
    team: BenchTeam,
    proc: subprocess.Popen[bytes],
    base: list[AgentDef],
    trials: int,
    config: Config,
) -> tuple[list[float], list[float]]:
    config.progress(f"run-latency: waiting for {len(base)} fake agents under `run`")
    wait_until(team.is_ready, timeout=READY_TIMEOUT_SEC, interval=0.05, what="Ready")

    config.progress(f"run-latency: {trials} spec edits")
    added: list[str] = []
    to_pane: list[float] = []
    for k in range(trials):
        agent = f"n{k}"
        added.append(agent)
        team.write_spec([*base, *team.fake_agents(added)])
        saved = time.perf_counter()
        wait_until(
            functools.partial(_has_pane, team, agent),
            timeout=PANE_TIMEOUT_SEC,
            interval=POLL_SEC,
            what=f"{agent}'s pane",
        )
        to_pane.append(time.perf_counter() - saved)
        _settle(team, proc, agent, restarts=0)

    config.progress(f"run-latency: {trials} agent exits")
    to_restart: list[float] = []
    for k in range(trials):
        to_restart.append(_exit_and_restart(team, f"r{k}"))
        _settle(team, proc, f"r{k}", restarts=1)
    return to_pane, to_restart


def _has_pane(team: BenchTeam, agent: str) -> bool:
    return agent in team.agent_panes()


def _exit_and_restart(team: BenchTeam, agent: str) -> float:
    pane = team.agent_panes().get(agent)
    if pane is None or pane.dead or pane.pane_pid is None:
        raise BenchError(f"{agent} has no live pane to stop")
    old_pid = pane.pane_pid
    os.kill(old_pid, signal.SIGTERM)  # our own fake agent, started in our sandbox
    killed = time.perf_counter()

    def restarted() -> bool:
        now = team.agent_panes().get(agent)
        return now is not None and not now.dead and now.pane_pid not in (None, old_pid)

    try:
        wait_until(restarted, timeout=RESTART_TIMEOUT_SEC, interval=POLL_SEC, what="restart")
    except BenchError as err:
        now = team.agent_panes().get(agent)
        state = "no pane" if now is None else f"pid {now.pane_pid}, dead={now.dead}"
        raise BenchError(f"{agent}: {err} (killed pid {old_pid}; pane now: {state})") from err
    return time.perf_counter() - killed


def _settle(team: BenchTeam, proc: subprocess.Popen[bytes], agent: str, *, restarts: int) -> None:
    """Wait until the status shows `agent` Ready with `restarts` restarts, and the team Ready.

    Asking about this agent (not only the team) keeps a status written before the change
    from passing for a settled one.
    """

    def settled() -> bool:
        if proc.poll() is not None:
            raise BenchError(f"`run` exited {proc.returncode} during the benchmark")
        status = team.status()
        if status is None or agent not in status.agents:
            return False
        mine = status.agents[agent]
        return (
            mine.restartCount == restarts
            and C.is_true(mine.conditions, C.READY)
            and C.is_true(status.conditions, C.READY)
        )

    wait_until(settled, timeout=READY_TIMEOUT_SEC, interval=0.05, what=f"{agent} settled")


BENCHMARK = Benchmark(
    name="run-latency",
    title="`run` reaction times",
    meaning=(
        "`team-agent run` runs as a real process over fake agents. *spec save → pane*: an "
        "agent is added to the spec (atomic replace) and the time until a pane with its "
        "marker exists is taken; target ≤ 500 ms. *exit → restarted*: an agent's process "
        "gets SIGTERM and the time until its pane is alive with a new pid is taken; target "
        "≤ 1 s. Median of 7 trials each (3 with `--quick`), and the slowest trial against "
        "the same target; a different agent per restart trial (a second exit within ten "
        "minutes waits out crash-loop backoff by design); panes polled every 10 ms; the "
        "changed agent and the team Ready again before each trial."
    ),
    run=run,
)

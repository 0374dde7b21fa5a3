"""The real agent CLIs (issue #11): create → Ready, send → the model has it, tmux calls.

For each pinned CLI (`tests/realcli/package.json`), in its own sandbox (private tmux
server, fresh HOME pointed at our mock model server on 127.0.0.1, `tests/realcli/homes.py`):

* *create → Ready*: an in-process engine passes (as `reconcile --once --wait`) from an
  empty server until the agent is Ready, i.e. its input box is up and has settled. The
  CLI's own start-up dominates (Node.js start, config, first screen).
* *send → model received*, under `team-agent run` as a real process: a message is queued
  as `team-agent send` queues it (store, then `.team/wake`), and the time runs until the
  mock model server logs the turn that carries it. That is the end-to-end figure a leader
  sees: the loop wakes, pastes, sees the text in the box, presses Enter, and the CLI
  sends it. Median and p90 over the trials; each message waits for the previous reply.
* *tmux calls per delivered message*: in-process passes deliver one message; their tmux
  calls minus as many no-op passes' (counted on the quiet, Ready agent), without a target.

No targets: the figures are mostly the CLIs' own speed, measured so a regression in our
part (a slower paste protocol, more polls) shows beside them.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from bench.harness import AgentDef, BenchError, BenchTeam, private_team, wait_until
from bench.measure import Benchmark, Config, Figure, Sample, ms
from reconciler.engine.engine import Engine
from reconciler.engine.wake import touch_wake
from reconciler.store.messages import LEADER, MessageStore
from tests.mockmodel.server import MockModel
from tests.realcli import homes, install

CLIS = ("claude", "codex", "gemini", "copilot", "opencode")
READY_TIMEOUT_SEC = 180.0
MODEL_TIMEOUT_SEC = 90.0


def run(config: Config, clis: Sequence[str] = CLIS) -> list[Figure]:
    try:
        bin_dir = install.ensure()
    except install.CliInstallError as err:
        raise BenchError(f"the real agent CLIs cannot be installed: {err}") from err
    figures: list[Figure] = []
    with MockModel() as mock, _on_path(str(bin_dir)):
        for cli in clis:
            config.progress(f"real-clis: {cli}")
            figures += _one_cli(cli, mock, config)
    return figures


@contextmanager
def _on_path(folder: str) -> Iterator[None]:
    """The CLIs first on PATH for the tmux servers started from here, restored after."""
    before = os.environ["PATH"]
    os.environ["PATH"] = f"{folder}{os.pathsep}{before}"
    try:
        yield
    finally:
        os.environ["PATH"] = before


def _one_cli(cli: str, mock: MockModel, config: Config) -> list[Figure]:
    ready = []
    for _ in range(config.trials(full=3, quick=1)):
        with _sandbox(cli, mock) as team:
            started = time.perf_counter()
            team.converge(team.engine(), timeout=READY_TIMEOUT_SEC)
            ready.append(time.perf_counter() - started)
    latencies, calls = _messages(cli, mock, config)
    spread = Sample(tuple(ready))
    lat = Sample(tuple(latencies))
    return [
        Figure(
            "real-clis",
            f"{cli}: create → Ready",
            ms(spread.median),
            "ms",
            detail=spread.spread_ms(),
        ),
        Figure(
            "real-clis",
            f"{cli}: send → model received (median)",
            ms(lat.median),
            "ms",
            detail=lat.spread_ms(),
        ),
        Figure(
            "real-clis",
            f"{cli}: send → model received (p90)",
            ms(_p90(latencies)),
            "ms",
            detail=f"{len(latencies)} messages under `run`",
        ),
        Figure(
            "real-clis",
            f"{cli}: tmux calls per delivered message",
            calls,
            "calls",
            detail="in-process passes, minus no-op passes",
        ),
    ]


@contextmanager
def _sandbox(cli: str, mock: MockModel) -> Iterator[BenchTeam]:
    with private_team(f"real-{cli}") as team:
        team.workspace.mkdir(parents=True, exist_ok=True)
        env = homes.prepare(cli, team.root / "home", mock.url, workspace=team.workspace)
        team.write_spec([AgentDef(id="worker", provider=cli, command=None, env=env)])
        yield team


def _queue(team: BenchTeam, text: str) -> None:
    with MessageStore.open(team.workspace / ".team") as store:
        store.send(sender=LEADER, recipients=["worker"], body=text, task=None, now=time.time())
    touch_wake(team.workspace / ".team")


def _model_has(mock: MockModel, word: str) -> bool:
    return mock.count_turns_with(word) > 0


def _has(mock: MockModel, word: str) -> Callable[[], bool]:
    return lambda: _model_has(mock, word)


def _messages(cli: str, mock: MockModel, config: Config) -> tuple[list[float], float]:
    with _sandbox(cli, mock) as team:
        engine = team.engine()
        team.converge(engine, timeout=READY_TIMEOUT_SEC)
        calls = _calls_per_message(team, engine, mock)
        team.start("run")
        latencies = []
        for n in range(config.trials(full=8, quick=3)):
            word = f"bench-{n}-{uuid.uuid4().hex[:8]}"
            started = time.perf_counter()
            _queue(team, f"please answer briefly: {word}")
            wait_until(
                _has(mock, word),
                timeout=MODEL_TIMEOUT_SEC,
                interval=0.005,
                what=f"{cli} got {word}",
            )
            latencies.append(time.perf_counter() - started)
            wait_until(team.is_ready, timeout=MODEL_TIMEOUT_SEC, interval=0.05, what="Ready again")
            time.sleep(1.0)  # the reply is drawn; the next message starts from a quiet agent
    return latencies, calls


def _calls_per_message(team: BenchTeam, engine: Engine, mock: MockModel) -> float:
    team.quiet_pass(engine)
    before = engine.tmux_calls
    engine.reconcile()
    noop = engine.tmux_calls - before
    word = f"bench-calls-{uuid.uuid4().hex[:8]}"
    _queue(team, f"please answer briefly: {word}")
    calls0, passes = engine.tmux_calls, 0
    deadline = time.monotonic() + MODEL_TIMEOUT_SEC
    while not _model_has(mock, word):
        if time.monotonic() > deadline:
            raise BenchError(
                f"message never reached the model; screen may show why: {team.log_tail()}"
            )
        engine.reconcile()
        passes += 1
        time.sleep(0.05)
    return float(engine.tmux_calls - calls0 - passes * noop)


def _p90(values: Sequence[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=10, method="inclusive")[8]


BENCHMARK = Benchmark(
    name="real-clis",
    title="The real agent CLIs against the mock model server",
    meaning=__doc__ or "",
    run=run,
)

"""Session capture must not slow passes: 20 agents waiting for capture vs a no-op pass.

The promise (issue "Real agent CLIs", Figure): a pass over a team whose 20 agents all wait
for their session to be captured costs at most twice a no-op pass over the same team once
every session is captured. Waiting agents cost the observe step a `stat` each (Claude's
pre-assigned ids) and the plan a condition each; no tmux call is added.

How: 20 `claude` agents run the stub CLI (`tests/stubs/bin/claude`) on a private tmux
server with a temporary HOME. After they converge (Ready, no message yet, so no
transcript: every one is `Capturing`), timed passes are the *waiting* sample. Then each
agent gets a message, the passes run until all 20 are `Captured`, and timed passes are
the *no-op* sample (nothing observed, nothing planned). Each sample's passes must plan
nothing, or the benchmark fails rather than report a wrong figure. The medians and their
ratio are printed; the exit code is 1 when the ratio is over 2.

Run: `.venv/bin/python -m bench.capture [--agents 20] [--passes 15]`. It never touches the
default tmux server, and removes its server, socket and folder on the way out.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import BenchError
from bench.measure import Benchmark, Config, Figure, Sample, Target, ms
from reconciler.api import conditions as C
from reconciler.engine.engine import Engine, PassResult
from reconciler.observe.tmux import Tmux

REPO = Path(__file__).resolve().parents[1]
STUBS = REPO / "tests" / "stubs" / "bin"
MAX_RATIO = 2.0
TIMEOUT_SEC = 120.0


@contextlib.contextmanager
def sandbox(agents: int) -> Iterator[tuple[Path, str]]:
    """A temporary workspace and HOME, stubs first on PATH, a private socket; all undone."""
    root = Path(tempfile.mkdtemp(prefix="ta-bench-capture-"))
    socket = f"bench-capture-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    saved = dict(os.environ)
    try:
        home, bin_dir, workspace = root / "home", root / "bin", root / "ws"
        for folder in (home, bin_dir, workspace):
            folder.mkdir()
        (bin_dir / "python3").symlink_to(sys.executable)
        os.environ["PATH"] = os.pathsep.join([str(bin_dir), str(STUBS), saved["PATH"]])
        os.environ["HOME"] = str(home)
        os.environ["TEAM_AGENT_TMUX_SOCKET"] = socket
        for name in ("STUB_ARGV_LOG", "CLAUDE_CONFIG_DIR", "TEAM_AGENT_AUTO_TRUST_OWN_WORKSPACE"):
            os.environ.pop(name, None)
        real = str(workspace.resolve())
        trust = {"projects": {real: {"hasTrustDialogAccepted": True}}}
        (home / ".claude.json").write_text(json.dumps(trust))
        lines = ["version: 1", "team: {name: capture}", "agents:"]
        for i in range(agents):
            lines += [f"  - id: c{i:02d}", "    provider: claude"]
        lines += ["runtime:", f"  tmux_socket: {socket}"]
        (workspace / "team.spec.yaml").write_text("\n".join(lines) + "\n")
        yield workspace, socket
    finally:
        with contextlib.suppress(Exception):  # cleanup never masks the benchmark's failure
            Tmux(socket_name=socket).kill_server()
        socket_dir = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}"
        (socket_dir / socket).unlink(missing_ok=True)
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(root, ignore_errors=True)


def passes_until(engine: Engine, check: Callable[[PassResult], bool], what: str) -> PassResult:
    deadline = time.monotonic() + TIMEOUT_SEC
    while True:
        result = engine.reconcile()
        if check(result):
            return result
        if time.monotonic() > deadline:
            raise BenchError(f"capture bench: {what} not reached in {TIMEOUT_SEC:g}s")
        time.sleep(0.1)


def timed(engine: Engine, count: int, expect: Callable[[PassResult], bool]) -> list[float]:
    """Seconds per pass; each pass must plan nothing and leave `expect` true."""
    out: list[float] = []
    for _ in range(count):
        t0 = time.perf_counter()
        result = engine.reconcile()
        out.append(time.perf_counter() - t0)
        if not result.plan.empty or not expect(result):
            raise BenchError(f"capture bench: a timed pass was not a no-op: {result.plan.render()}")
    return out


def session_reason(result: PassResult, agent: str) -> str | None:
    found = C.find_condition(result.status.agents[agent].conditions, C.SESSION_CAPTURED)
    return found.reason if found is not None else None


@dataclass(frozen=True)
class Samples:
    """Seconds per timed pass, and tmux calls per pass, for both samples."""

    waiting: list[float]
    noop: list[float]
    waiting_calls: float
    noop_calls: float


def measure(agents: int, passes: int) -> Samples:
    names = [f"c{i:02d}" for i in range(agents)]
    with sandbox(agents) as (workspace, socket):
        engine = Engine(spec_path=workspace / "team.spec.yaml", workspace=workspace.resolve())
        passes_until(engine, lambda r: r.ready, "Ready")

        def all_are(reason: str) -> Callable[[PassResult], bool]:
            return lambda r: all(session_reason(r, n) == reason for n in names)

        passes_until(engine, all_are(C.CAPTURING), "every agent Capturing")
        calls = engine.tmux_calls
        waiting = timed(engine, passes, all_are(C.CAPTURING))
        waiting_calls = (engine.tmux_calls - calls) / passes

        tmux = ["tmux", "-L", socket]
        for pane in engine.reconcile().status.agents.values():
            assert pane.paneId is not None
            subprocess.run([*tmux, "send-keys", "-t", pane.paneId, "-l", "hello"], check=True)
            subprocess.run([*tmux, "send-keys", "-t", pane.paneId, "Enter"], check=True)
        passes_until(engine, all_are(C.CAPTURED), "every agent Captured")
        calls = engine.tmux_calls
        noop = timed(engine, passes, all_are(C.CAPTURED))
        noop_calls = (engine.tmux_calls - calls) / passes
    return Samples(waiting, noop, waiting_calls, noop_calls)


def run(config: Config) -> list[Figure]:
    agents, passes = 20, config.trials(full=15, quick=5)
    config.progress(f"capture: {agents} claude stub agents, {passes} passes per sample")
    got = measure(agents, passes)
    waiting, noop = Sample(tuple(got.waiting)), Sample(tuple(got.noop))
    return [
        Figure(
            "capture",
            f"pass, {agents} agents waiting for capture",
            ms(waiting.median),
            "ms",
            None,
            f"{waiting.spread_ms()}, {got.waiting_calls:g} tmux calls",
        ),
        Figure(
            "capture",
            f"no-op pass, {agents} agents captured",
            ms(noop.median),
            "ms",
            None,
            f"{noop.spread_ms()}, {got.noop_calls:g} tmux calls",
        ),
        Figure(
            "capture",
            "waiting ÷ no-op pass",
            round(waiting.median / noop.median, 2),
            "x",
            Target("<=", MAX_RATIO),
            "ratio of the medians",
        ),
    ]


BENCHMARK = Benchmark(
    name="capture",
    title="session capture pending vs a no-op pass",
    meaning=(
        "20 `claude` agents run the stub CLI on a private tmux server with a temporary "
        "HOME. Once converged, every agent waits for its session to be captured (no "
        "message yet): timed in-process passes are the *waiting* sample. Each agent then "
        "gets a message; once all are captured, timed passes are the *no-op* sample. Every "
        "timed pass must plan nothing. Target: the ratio of the medians ≤ 2x."
    ),
    run=run,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.capture", description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--passes", type=int, default=15)
    args = parser.parse_args(argv)
    try:
        got = measure(args.agents, args.passes)
    except BenchError as err:
        raise SystemExit(str(err)) from err

    wait_ms, noop_ms = statistics.median(got.waiting) * 1000, statistics.median(got.noop) * 1000
    ratio = wait_ms / noop_ms
    print(f"agents: {args.agents}, passes per sample: {args.passes}")
    print(
        f"pass, all waiting for capture: median {wait_ms:.1f} ms, {got.waiting_calls:g} tmux calls"
    )
    print(f"pass, no-op (all captured):    median {noop_ms:.1f} ms, {got.noop_calls:g} tmux calls")
    verdict = "ok" if ratio <= MAX_RATIO else "TOO SLOW"
    print(f"ratio: {ratio:.2f} (target <= {MAX_RATIO:g}): {verdict}")
    return 0 if ratio <= MAX_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())

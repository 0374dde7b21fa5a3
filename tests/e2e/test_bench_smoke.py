"""Keeps `bench/` from rotting: every benchmark imports, and the cheapest ones run.

The snapshot benchmark runs for real at 3 agents (its own private tmux server and
temporary workspace, as in a full run) and its figures go through the table and JSON
renderers. The messages benchmark runs at 2 agents, 2 messages each (a real `team-agent
run`, woken by `.team/wake`, and in-process passes). A run must leave nothing behind: no
tmux socket, no sandbox folder.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest

from bench import messages, snapshot
from bench import run as bench_run
from bench.measure import Config
from bench.message_trials import Shape
from bench.report import Results, machine_facts, render_text, to_json

pytestmark = pytest.mark.e2e


def _leftovers(label: str = "snapshot") -> set[str]:
    sockets = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}"
    mine = f"bench-{os.getpid()}-"
    found = {p.name for p in sockets.glob(mine + "*")} if sockets.is_dir() else set()
    return found | {p.name for p in Path(tempfile.gettempdir()).glob(f"ta-bench-{label}-*")}


def test_every_benchmark_is_registered_once() -> None:
    names = [b.name for b in bench_run.BENCHMARKS]
    assert len(names) == len(set(names))
    expected = {"passes", "snapshot", "cli-wall", "converge", "run-latency", "run-idle", "messages"}
    assert expected <= set(names)
    assert all(b.meaning and b.title for b in bench_run.BENCHMARKS)


def test_snapshot_at_three_agents_measures_renders_and_cleans_up() -> None:
    before = _leftovers()
    figures = snapshot.run(Config(quick=True, sizes=(3,)))
    by_name = {f.name: f for f in figures}
    snap = by_name["snapshot (observe), 3 agent panes"]
    reference = by_name["plain `tmux list-panes -a`, 3 panes (reference)"]
    ratio = by_name["snapshot ÷ plain list-panes, 3 panes"]
    assert snap.value > 0 and reference.value > 0
    assert ratio.value == round(ratio.value, 2) > 0
    assert "process scan" in snap.detail
    assert _leftovers() == before

    results = Results(machine=machine_facts(), quick=True, seconds=1.0, figures=tuple(figures))
    assert results.ok  # no figure here has a target to miss
    assert "| snapshot (observe), 3 agent panes |" in render_text(results)
    data = json.loads(to_json(results))
    assert [f["name"] for f in data["figures"]] == [f.name for f in figures]
    assert data["machine"]["cpus"] >= 1


def test_messages_at_two_agents_delivers_counts_and_cleans_up() -> None:
    before = _leftovers("messages")
    shape = Shape(agents=2, per_agent=2, latency_trials=2, batch_trials=1, noop_passes=2)
    figures = messages.run(Config(quick=True), shape)
    by_name = {f.name: f for f in figures}
    assert _leftovers("messages") == before

    # Woken by `.team/wake`, not by the 30 s resync: far under it even on a loaded machine.
    latency = by_name["`run`: 1 KB message sent → delivered, median"]
    assert 0 < latency.value < 10_000
    assert latency.target is not None and "median of 2" in latency.detail
    assert by_name["`run`: throughput, 4 messages to 2 agents"].value > 0

    per_message = by_name["tmux calls per delivered message"]
    assert per_message.value > 0
    assert per_message.detail.startswith("4 messages to 2 agents in ")
    for state in ("before any message", "every task open", "all delivered and answered"):
        noop = by_name[f"tmux calls per no-op pass, 2 agents, {state}"]
        assert noop.passed, noop
    assert by_name["no-op pass, all answered - before any message"].value == 0

"""Keeps `bench/` from rotting: every benchmark imports, and the cheapest one runs.

The snapshot benchmark runs for real at 3 agents (its own private tmux server and
temporary workspace, as in a full run) and its figures go through the table and JSON
renderers. The run must leave nothing behind: no tmux socket, no sandbox folder.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from bench import run as bench_run
from bench import snapshot
from bench.measure import Config
from bench.report import Results, machine_facts, render_text, to_json


def _leftovers() -> set[str]:
    sockets = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}"
    mine = f"bench-{os.getpid()}-"
    found = {p.name for p in sockets.glob(mine + "*")} if sockets.is_dir() else set()
    return found | {p.name for p in Path(tempfile.gettempdir()).glob("ta-bench-snapshot-*")}


def test_every_benchmark_is_registered_once() -> None:
    names = [b.name for b in bench_run.BENCHMARKS]
    assert len(names) == len(set(names))
    assert {"passes", "snapshot", "cli-wall", "converge", "run-latency", "run-idle"} <= set(names)
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

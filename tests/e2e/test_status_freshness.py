"""The status never lies: a team whose tmux server died under it (issue 12, B5).

A converged team, no `team-agent run`, and then its private tmux server killed: the stored
status still says Ready with pids, and nothing will rewrite it. `status` must not show it
as current, `wait` must not be satisfied by it, `status --refresh` must observe the dead
agents without writing or locking anything, and `deploy/monitoring/check_team.sh` must
warn by default. A status kept by a live lock holder stays current however old.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reconciler.api import conditions as C
from reconciler.store.lock import WorkspaceLock
from reconciler.store.statusfile import ensure_state_dir
from tests.conftest import REPO, TeamWorkspace, retry_until

pytestmark = pytest.mark.e2e

CHECK = REPO / "deploy" / "monitoring" / "check_team.sh"
TEAM_AGENT = Path(sys.executable).parent / "team-agent"
# resync_interval_sec is 1 s (its minimum), so the status goes stale a second after the pass.
SPEC = """\
version: 1
team: {name: fresh}
agents:
  - id: impl
    provider: fake
  - id: sh
    provider: shell
    command: [sh, -c, "exec sleep 3600"]
runtime:
  resync_interval_sec: 1
"""


def _status_json(team: TeamWorkspace, *args: str) -> dict[str, Any]:
    done = team.cli("status", *args, "-o", "json")
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def _ready(entry: dict[str, Any]) -> tuple[str, str]:
    found = [c for c in entry["conditions"] if c["type"] == C.READY]
    assert found, entry
    return found[0]["status"], found[0]["reason"]


def _kill_server(team: TeamWorkspace) -> None:
    subprocess.run(["tmux", "-L", team.socket, "kill-server"], check=True, timeout=10)
    assert team.panes() == []  # no server: the agents are gone


def _converged_then_killed(team: TeamWorkspace) -> bytes:
    """Converge (no `run`), kill the tmux server; the status.json bytes left behind."""
    team.write_spec(SPEC)
    result = team.converge(timeout=30)
    assert all(a.pid for a in result.status.agents.values())
    _kill_server(team)
    return (team.root / ".team" / "status.json").read_bytes()


def _stale(team: TeamWorkspace) -> dict[str, Any]:
    """`status -o json` once it calls itself stale (a second after the pass, by the spec)."""
    return retry_until(  # type: ignore[no-any-return]
        lambda: (d := _status_json(team)).get("observation", {}).get("stale") and d,
        timeout=15,
    )


def test_status_of_a_dead_team_with_no_reconciler_does_not_read_as_current(
    team: TeamWorkspace,
) -> None:
    stored = _converged_then_killed(team)

    data = _stale(team)

    seen = data["observation"]
    assert seen["source"] == "status.json"
    assert seen["reconciler"] is None
    assert seen["ageSec"] >= 1 and seen["resyncIntervalSec"] == 1
    assert _ready(data) == (C.UNKNOWN, C.STATUS_STALE)
    for name in ("impl", "sh"):
        assert _ready(data["agents"][name]) == (C.UNKNOWN, C.STATUS_STALE)
        assert all(c["status"] == C.UNKNOWN for c in data["agents"][name]["conditions"])
    table = team.cli("status")
    assert table.returncode == 0, table.stderr
    head, observed, *_ = table.stdout.splitlines()
    assert "Ready=Unknown (StatusStale)" in head
    assert observed.strip().startswith("STALE: observed ")
    assert "no reconciler holds the workspace" in observed
    rows = {line.split()[0]: line.split() for line in table.stdout.splitlines()[1:]}
    for name in ("impl", "sh"):
        assert rows[name][1:3] == [C.UNKNOWN, C.STATUS_STALE]
        assert rows[name][6] == "-"  # no growing AGE for a process nobody has seen lately
    # A stale Ready is no Ready for `wait` (nor a stale False a False).
    for wanted in ("Ready", "Ready=False"):
        waited = team.cli("wait", "--for", f"condition={wanted}", "--timeout", "0.5s")
        assert waited.returncode == 1
        assert "the status is stale" in waited.stderr
    # Readers never rewrite the file: it still holds what the last pass saw.
    assert (team.root / ".team" / "status.json").read_bytes() == stored


def test_refresh_observes_the_dead_agents_and_writes_nothing(team: TeamWorkspace) -> None:
    stored = _converged_then_killed(team)
    state = team.root / ".team"
    events = (state / "events.jsonl").read_bytes()

    data = _status_json(team, "--refresh")

    seen = data["observation"]
    assert (seen["source"], seen["stale"], seen["ageSec"], seen["reconciler"]) == (
        "refresh",
        False,
        0,
        None,
    )
    assert _ready(data)[0] == C.FALSE
    for name in ("impl", "sh"):
        agent = data["agents"][name]
        assert _ready(agent)[0] == C.FALSE
        assert (agent["pid"], agent["paneId"]) == (None, None)
        ready = next(c for c in agent["conditions"] if c["type"] == C.READY)
        assert ready["message"].startswith("not done (--refresh applies nothing)")
    table = team.cli("status", "--refresh")
    assert table.returncode == 0, table.stderr
    assert "a pass would: create  agent/impl" in table.stdout
    # No lock taken: it works while another process holds the lock, and names the holder.
    with WorkspaceLock(ensure_state_dir(team.root)):
        held = _status_json(team, "--refresh")
    assert held["observation"]["reconciler"]["pid"] == os.getpid()
    # Nothing written, nothing started: the file, the events and the dead server as they were.
    assert (state / "status.json").read_bytes() == stored
    assert (state / "events.jsonl").read_bytes() == events
    assert team.panes() == []


def test_a_status_kept_by_a_running_reconciler_stays_current(team: TeamWorkspace) -> None:
    team.write_spec(SPEC)
    team.converge(timeout=30)

    with WorkspaceLock(ensure_state_dir(team.root)):  # as `run` holds it between passes
        data = retry_until(
            lambda: (d := _status_json(team))["observation"]["ageSec"] >= 2 and d, timeout=15
        )

    seen = data["observation"]
    assert (seen["stale"], seen["reconciler"]["pid"]) == (False, os.getpid())
    assert _ready(data) == (C.TRUE, C.ALL_AGENTS_READY)


def test_check_team_warns_on_a_stale_status_by_default(team: TeamWorkspace) -> None:
    _converged_then_killed(team)
    _stale(team)
    env = {**os.environ, "TEAM_AGENT": str(TEAM_AGENT)}
    argv = ["bash", str(CHECK), "-f", str(team.spec_path)]

    default = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
    refreshed = subprocess.run(
        [*argv, "--refresh"], capture_output=True, text=True, env=env, timeout=60
    )

    assert default.returncode == 1, default.stdout + default.stderr
    assert default.stdout.startswith("TEAM WARNING - fresh: status is stale")
    assert refreshed.returncode == 2, refreshed.stdout + refreshed.stderr
    assert refreshed.stdout.startswith("TEAM CRITICAL - fresh: Ready=False (AgentsNotReady)")

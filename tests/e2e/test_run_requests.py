"""`down` and `orphans --reap` while `team-agent run` (a real process) holds the lock.

Before requests (`reconciler.engine.requests`) both waited `--lock-timeout` for a lock `run`
never releases and exited 3. Now `run` performs them: `down` stops the team within about
a second and `run` exits (nothing recreates the team); `orphans --reap` is reaped by the
loop, which goes on running. A `run` that does not answer (here: SIGSTOPped) makes the
verb exit 3 naming its pid, and never performs the request later.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reconciler.api import conditions as C
from reconciler.observe.tmux import TmuxCommandError
from reconciler.store.lock import WorkspaceLock
from reconciler.store.statusfile import ensure_state_dir
from tests.conftest import TeamWorkspace
from tests.e2e.conftest import StartRun

pytestmark = pytest.mark.e2e

SPEC = """\
version: 1
team: {name: live}
agents:
  - id: one
    provider: shell
    command: ["sleep", "3600"]
  - id: two
    provider: shell
    command: ["sleep", "3600"]
"""


@pytest.fixture
def running(team: TeamWorkspace, run_loop: StartRun) -> subprocess.Popen[str]:
    """`team-agent run` on a Ready two-agent team; its output is read once it has ended."""
    team.write_spec(SPEC)
    return run_loop(output=subprocess.PIPE)


def _agents(team: TeamWorkspace) -> dict[str, int | None]:
    ws = str(team.root.resolve())
    return {p.agent: p.pane_pid for p in team.agent_panes() if p.workspace == ws and not p.dead}


def _no_agents(team: TeamWorkspace) -> bool:
    """No agent pane; a server between its last session and its exit answers `list-panes
    -a` with "no current target", which is not an answer yet: ask again."""
    try:
        return not _agents(team)
    except TmuxCommandError:
        return False


def _cli(team: TeamWorkspace, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", "-f", str(team.spec_path), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=team.root,
    )


def test_down_under_run_stops_the_team_at_once_and_run_exits(
    team: TeamWorkspace, running: subprocess.Popen[str]
) -> None:
    assert set(_agents(team)) == {"one", "two"}
    requests = team.root / ".team" / "requests"
    invoked = time.monotonic()
    down = _cli(team, "down")
    asked: float | None = None  # when the request file showed: the CLI has started
    while not _no_agents(team):
        if asked is None and requests.is_dir() and any(requests.iterdir()):
            asked = time.monotonic()
        assert time.monotonic() - invoked < 10, "the team is still up 10 s after `down`"
        time.sleep(0.005)
    gone = time.monotonic()
    out, err = down.communicate(timeout=20)

    assert down.returncode == 0, err
    lines = out.splitlines()
    assert [x.split(" (")[0] for x in lines if x.startswith("stopped ")] == [
        "stopped agent/one",
        "stopped agent/two",
    ]
    assert lines[-1] == f"`team-agent run` (pid {running.pid}) stopped the team and exited"
    # Invocation to panes gone is about 0.8 s on an idle 2-core machine, most of it the
    # CLI's own start-up (README), and grows with the machine's load; the loop's share,
    # from the request written to the panes gone, is what requests must keep short.
    # Before requests the team stayed up: `down` waited 10 s and exited 3.
    served = gone - (asked or invoked)
    assert served < 1.5, f"panes gone {served:.2f}s after the request was written"

    assert running.wait(timeout=5) == 0  # `run` ended: nothing recreates the team
    log = running.stdout.read() if running.stdout else ""
    assert f"[down requested by pid {down.pid}]" in log and "run exits" in log
    assert _no_agents(team)
    ready = C.find_condition(team.status().conditions, C.READY)
    assert ready is not None and (ready.status, ready.reason) == (C.FALSE, C.STOPPED)


def test_orphans_reap_under_run_is_reaped_by_run_which_goes_on(
    team: TeamWorkspace, running: subprocess.Popen[str], tmp_path: Path
) -> None:
    other = TeamWorkspace(root=tmp_path / "ws-b", socket=team.socket)
    other.root.mkdir()
    other.write_spec(SPEC.replace("{name: live}", "{name: beta}"))
    other.converge()
    shutil.rmtree(other.root)  # its session is now an orphan of a deleted workspace
    before = _agents(team)

    # Before requests: 10 s waiting for the lock, then exit 3. How fast `run` serves a
    # request is bounded in the `down` test; the CLI's own start-up depends on the load.
    done = team.cli("orphans", "--reap", "-o", "json")

    assert done.returncode == 0, done.stderr
    reaped = json.loads(done.stdout)["reaped"]
    assert [(r["resource"], r["ok"]) for r in reaped] == [("orphan/session/team-beta", True)]
    assert "team-beta" not in team.tmux.run("list-sessions", "-F", "#{session_name}")
    assert running.poll() is None, "run must go on after a reap"
    assert _agents(team) == before, "the live team's agents were touched"

    running.send_signal(signal.SIGTERM)
    assert running.wait(timeout=10) == 0
    log = running.stdout.read() if running.stdout else ""
    assert "reaped orphan/session/team-beta" in log


def test_a_run_that_does_not_answer_is_named_and_never_performs_it_later(
    team: TeamWorkspace, running: subprocess.Popen[str]
) -> None:
    before = _agents(team)
    running.send_signal(signal.SIGSTOP)
    try:
        down = team.cli("down", "--lock-timeout", "1s")
    finally:
        running.send_signal(signal.SIGCONT)

    assert down.returncode == 3, down.stderr
    assert f"`team-agent run` (pid {running.pid})" in down.stderr
    assert "did not answer the `down` request within 1s" in down.stderr
    assert f"kill {running.pid}" in down.stderr
    # A later request is answered, so the loop has looked at its requests since it woke:
    # the withdrawn `down` was not among them.
    later = team.cli("orphans", "--reap", "-o", "json")
    assert later.returncode == 0, later.stderr
    assert running.poll() is None
    assert _agents(team) == before


def test_a_one_shot_holder_is_waited_for_then_named(team: TeamWorkspace) -> None:
    team.write_spec(SPEC)
    with WorkspaceLock(ensure_state_dir(team.root), verb="reconcile"):
        done = team.cli("down", "--lock-timeout", "0.3s")
    assert done.returncode == 3
    assert "is held by `team-agent reconcile` (pid " in done.stderr
    assert "wait for it to finish and try again" in done.stderr

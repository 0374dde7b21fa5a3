"""`team-agent run` keeps the last good generation alive, and retries deferred work soon.

Issue 12, items A2, A3 and C9, each against `run` as a real process on a private tmux
server:

* A2: while the spec is invalid, a crashed agent is still restarted from the last good
  generation, crash-loop backoff included;
* A3: the spec deleted under `run` is `Stalled=True, reason=SpecNotFound` naming the file,
  logged once without a traceback; the agents live on and are restarted; the spec coming
  back ends the stall;
* C9: a message deferred because its recipient is busy, or has text in its input box, is
  retried about a second later (with backoff while it stays deferred), not at the next
  periodic resync (set to 60 s here, so waiting for it fails the test).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.api import conditions as C
from reconciler.store.messages import MessageStore
from tests.conftest import TeamWorkspace, retry_until

pytestmark = pytest.mark.e2e

SPEC = """\
version: 1
team: {name: resilient}
agents:
  - id: one
    provider: shell
    command: ["sleep", "3600"]
runtime:
  resync_interval_sec: 60
"""


class Run:
    """A `team-agent run` process whose output goes to a file (never a full pipe)."""

    def __init__(self, team: TeamWorkspace, log: Path) -> None:
        self.log = log
        self._out = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "-f", str(team.spec_path), "run"],
            stdout=self._out,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=team.root,
        )

    def output(self) -> str:
        return self.log.read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._out.close()


def _ready(team: TeamWorkspace) -> bool:
    try:
        return C.is_true(team.status().conditions, C.READY)
    except (AssertionError, OSError, ValueError):
        return False


def start_run(team: TeamWorkspace, tmp_path: Path, spec: str = SPEC) -> Iterator[Run]:
    team.write_spec(spec)
    run = Run(team, tmp_path / "run.log")
    try:
        retry_until(lambda: _ready(team), timeout=20)
        yield run
    finally:
        run.stop()


@pytest.fixture
def running(team: TeamWorkspace, tmp_path: Path) -> Iterator[Run]:
    yield from start_run(team, tmp_path)


def stalled_reason(team: TeamWorkspace) -> str | None:
    cond = C.find_condition(team.status().conditions, C.STALLED)
    return cond.reason if cond is not None and cond.status == C.TRUE else None


def kill_agent(team: TeamWorkspace, agent: str) -> int:
    pane = team.agent_panes(agent)[0]
    assert pane.pane_pid is not None and not pane.dead
    os.kill(pane.pane_pid, signal.SIGKILL)
    return pane.pane_pid


def restarted(team: TeamWorkspace, agent: str, old_pid: int) -> bool:
    panes = team.agent_panes(agent)
    return bool(panes) and not panes[0].dead and panes[0].pane_pid not in (None, old_pid)


# --- A2: an invalid spec keeps the last good generation, restarts included -------------


def test_invalid_spec_under_run_still_restarts_crashed_agents_with_backoff(
    team: TeamWorkspace, running: Run
) -> None:
    generation = team.status().generation
    team.spec_path.write_text(team.spec_path.read_text().replace("provider: shell", "provider: x"))
    retry_until(lambda: stalled_reason(team) == C.SPEC_INVALID, timeout=5)

    first = kill_agent(team, "one")
    retry_until(lambda: restarted(team, "one", first), timeout=5)
    retry_until(lambda: team.status().agents["one"].restartCount == 1, timeout=5)

    second = kill_agent(team, "one")  # a second exit within 10 minutes: a 10 s backoff
    # Seen any time before the backoff ends (on two busy cores the exit can take seconds
    # to be observed); the restart must still wait for it.
    retry_until(
        lambda: C.is_true(team.status().agents["one"].conditions, C.CRASH_LOOP_BACK_OFF),
        timeout=8,
    )
    assert not restarted(team, "one", second)  # waiting out the backoff, not restarted at once
    retry_until(lambda: restarted(team, "one", second), timeout=20)
    retry_until(lambda: team.status().agents["one"].restartCount == 2, timeout=5)
    status = team.status()
    assert stalled_reason(team) == C.SPEC_INVALID  # still: the spec is still broken
    assert status.specError is not None
    assert (status.generation, status.observedGeneration) == (generation, generation)
    assert "Traceback" not in running.output()


# --- A3: the spec deleted under run ------------------------------------------------------


def test_deleted_spec_under_run_stalls_once_keeps_agents_and_recovers(
    team: TeamWorkspace, running: Run
) -> None:
    before = team.agent_panes("one")[0]
    text = team.spec_path.read_text()
    team.spec_path.unlink()

    retry_until(lambda: stalled_reason(team) == "SpecNotFound", timeout=5)
    stalled = C.find_condition(team.status().conditions, C.STALLED)
    assert stalled is not None and str(team.spec_path) in stalled.message
    after = team.agent_panes("one")[0]
    assert after.pane_pid == before.pane_pid and not after.dead

    killed = kill_agent(team, "one")  # the last good generation stays in force
    retry_until(lambda: restarted(team, "one", killed), timeout=5)
    time.sleep(1.0)  # a few more passes: still one line about it
    output = running.output()
    assert "Traceback" not in output
    assert sum(1 for line in output.splitlines() if str(team.spec_path) in line) == 1, output

    team.spec_path.write_text(text)
    retry_until(lambda: stalled_reason(team) is None and _ready(team), timeout=5)


# --- C9: deferred messages are retried soon --------------------------------------------

FAKE_SPEC = """\
version: 1
team: {name: deferred}
agents:
  - id: impl
runtime:
  resync_interval_sec: 60
"""


@pytest.fixture
def fake_running(
    team: TeamWorkspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Run]:
    """`send` from the test is a caller outside tmux and no agent: it sends as the leader."""
    for name in ("TEAM_AGENT_ID", "TEAM_AGENT_WORKSPACE"):
        monkeypatch.delenv(name, raising=False)
    yield from start_run(team, tmp_path, FAKE_SPEC)


def send(team: TeamWorkspace, agent: str, body: str) -> str:
    done = team.cli("send", agent, body, "-o", "json", check=True)
    [record] = json.loads(done.stdout)
    return str(record["id"])


def state_of(team: TeamWorkspace, message_id: str) -> str:
    with MessageStore.open(team.root / ".team") as store:
        record = store.get(message_id)
    assert record is not None
    return record.state


def capture(team: TeamWorkspace, pane: str) -> str:
    return "\n".join(team.tmux.run("capture-pane", "-p", "-J", "-t", pane))


def test_a_message_deferred_by_a_busy_recipient_is_retried_within_seconds(
    team: TeamWorkspace, fake_running: Run
) -> None:
    pane = team.agent_panes("impl")[0].pane_id
    team.tmux.run("send-keys", "-t", pane, "/sleep 3", "Enter")  # busy for 3 s, no prompt
    time.sleep(0.3)
    message_id = send(team, "impl", "hello while busy")
    sent = time.monotonic()
    retry_until(lambda: state_of(team, message_id) == "delivered", timeout=15)
    # Busy 3 s; deferrals at about +0, +1, +3 (1 s doubling): well before the 60 s resync.
    assert time.monotonic() - sent < 9.0


def test_a_message_deferred_by_half_typed_input_goes_soon_after_it_is_cleared(
    team: TeamWorkspace, fake_running: Run
) -> None:
    pane = team.agent_panes("impl")[0].pane_id
    team.tmux.run("send-keys", "-t", pane, "-l", "a half-typed thought")
    retry_until(lambda: "a half-typed thought" in capture(team, pane), timeout=5)
    message_id = send(team, "impl", "hello after the draft")
    time.sleep(2.0)
    assert state_of(team, message_id) == "queued"  # never pasted into someone's text
    team.tmux.run("send-keys", "-t", pane, "C-u")  # the person clears the draft
    cleared = time.monotonic()
    retry_until(lambda: state_of(team, message_id) == "delivered", timeout=15)
    assert time.monotonic() - cleared < 6.0

"""One controller failing never stops the rest (issue 12, A1).

A controller that raises, or whose input cannot be read, is isolated by the engine: its
part of the status stays as it was, the team gets `Degraded=True` naming the controller,
the file, the problem and the fix, and every other controller still plans and applies in
the same pass (a crashed agent is restarted), the status is written, and `run` logs one
line, never a traceback. Each controller's input is broken in turn: the message store as
a person's disk or an upgrade leaves it (garbage, truncated, a newer schema, a directory),
and each controller raising through the engine's plug-in list (`Engine.controllers`).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from controllers.base import (
    Controller,
    ControllerResult,
    ObserveContext,
    PassInputs,
    Report,
    Settled,
)
from controllers.registry import default_controllers
from reconciler.api import conditions as C
from reconciler.api.actions import Action, Outcome
from reconciler.api.ids import PaneId
from reconciler.apply.executor import ApplyContext
from reconciler.engine.engine import Engine
from reconciler.store.messages import MessageStore
from reconciler.store.statusfile import StatusStore
from tests.conftest import TeamWorkspace, retry_until

pytestmark = pytest.mark.e2e

SPEC = """\
version: 1
team: {name: isolated}
agents:
  - id: one
    provider: shell
    command: ["sleep", "3600"]
"""


def _garbage(db: Path) -> None:
    db.write_bytes(b"this is not a database\n" * 500)


def _truncated(db: Path) -> None:
    with MessageStore.open(db.parent) as store:
        for i in range(50):
            store.send(sender="leader", recipients=["one"], body=f"m{i} " * 200, task=None, now=1.0)
    for suffix in ("-wal", "-shm"):  # checkpointed on close; what is left is the main file
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 2 + 100])


def _newer_schema(db: Path) -> None:
    MessageStore.open(db.parent).close()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()


def _directory(db: Path) -> None:
    db.mkdir()


BREAKS: dict[str, Callable[[Path], None]] = {
    "garbage": _garbage,
    "truncated": _truncated,
    "newer-schema": _newer_schema,
    "directory": _directory,
}


def _kill(team: TeamWorkspace, agent: str) -> int:
    pane = team.agent_panes(agent)[0]
    assert pane.pane_pid is not None
    os.kill(pane.pane_pid, signal.SIGKILL)
    return pane.pane_pid


def _restarted(team: TeamWorkspace, agent: str, old: int) -> bool:
    panes = team.agent_panes(agent)
    return bool(panes) and not panes[0].dead and panes[0].pane_pid not in (None, old)


def _degraded(team: TeamWorkspace) -> C.Condition | None:
    status = StatusStore(team.root / ".team").read()  # None before the first pass
    cond = C.find_condition(status.conditions, C.DEGRADED) if status is not None else None
    return cond if cond is not None and cond.status == C.TRUE else None


@pytest.mark.parametrize("broken", sorted(BREAKS), ids=sorted(BREAKS))
def test_a_broken_message_store_isolates_only_the_messages_controller(
    team: TeamWorkspace, broken: str
) -> None:
    team.write_spec(SPEC)
    team.converge()
    db = team.root / ".team" / "messages.db"
    BREAKS[broken](db)
    old = _kill(team, "one")

    deadline = time.monotonic() + 10
    while not _restarted(team, "one", old):  # every pass completes and writes the status
        assert time.monotonic() < deadline, "the crashed agent was never restarted"
        before = team.status().lastReconcile
        team.reconcile()
        assert team.status().lastReconcile != before
        time.sleep(0.05)
    result = team.converge()
    degraded = C.find_condition(result.status.conditions, C.DEGRADED)
    assert degraded is not None and degraded.status == C.TRUE, result.status.conditions
    assert degraded.reason == C.INPUT_UNREADABLE
    assert "messages" in degraded.message and str(db) in degraded.message
    assert "fix:" in degraded.message
    assert result.status.agents["one"].restartCount == 1
    assert C.find_condition(result.status.conditions, C.ORPHANS_FOUND) is not None
    assert C.find_condition(result.status.leader.conditions, C.LEADER_BOUND) is not None
    events = (team.root / ".team" / "events.jsonl").read_text()
    assert events.count(C.INPUT_UNREADABLE) == 1  # one event for the episode, not one a pass

    # The person follows the fix: the store is moved aside; the next pass recovers.
    db.rename(db.with_name("messages.db.broken"))
    result = team.reconcile()
    degraded = C.find_condition(result.status.conditions, C.DEGRADED)
    assert degraded is not None and degraded.status == C.FALSE


@dataclass
class Recording:
    """A controller that records its passes and raises when told (the plug-in list's test)."""

    inner: Controller
    broken: bool = False
    calls: list[int] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def action_types(self) -> tuple[type, ...]:
        return self.inner.action_types

    def observe(self, ctx: ObserveContext) -> object | None:
        return self.inner.observe(ctx)

    def screens(self, ctx: ObserveContext) -> Iterable[PaneId]:
        return self.inner.screens(ctx)

    def reconcile(self, inputs: PassInputs) -> ControllerResult:
        self.calls.append(inputs.generation)
        if self.broken:
            raise ZeroDivisionError(f"{self.name} blew up")
        return self.inner.reconcile(inputs)

    def apply(self, action: Action, ctx: ApplyContext) -> Outcome:
        return self.inner.apply(action, ctx)

    def settle(self, settled: Settled) -> Report:
        return self.inner.settle(settled)


@pytest.mark.parametrize("broken", [c.name for c in default_controllers()])
def test_a_controller_that_raises_is_isolated(team: TeamWorkspace, broken: str) -> None:
    team.write_spec(SPEC + '  - id: two\n    provider: shell\n    command: ["sleep", "3600"]\n')
    team.converge()
    with MessageStore.open(team.root / ".team") as store:  # for the messages controller
        [message] = store.send(
            sender="leader", recipients=["two"], body="hi", task=None, now=time.time()
        )
    controllers = [Recording(c, broken=c.name == broken) for c in default_controllers()]
    team.engine_ = Engine(
        spec_path=team.spec_path, workspace=team.root.resolve(), controllers=tuple(controllers)
    )
    old = _kill(team, "one")

    for _ in range(3):
        team.settled()
    passes = len(controllers[0].calls)
    assert passes >= 3 and all(len(c.calls) == passes for c in controllers)  # all ran, always
    status = team.status()
    degraded = _degraded(team)
    assert degraded is not None and degraded.reason == C.CONTROLLER_FAILED
    assert f"{broken} controller" in degraded.message and "ZeroDivisionError" in degraded.message
    if broken != "agents":  # the agents controller restarts crashed agents
        retry_until(lambda: _restarted(team, "one", old), timeout=5)
        assert status.agents["one"].restartCount == 1
    else:
        assert team.agent_panes("one")[0].dead  # nobody restarts it: nothing worse either
    with MessageStore.open(team.root / ".team") as store:
        record = store.get(message.id)
    assert record is not None
    # The messages controller fails a message to a CLI that takes none (`shell`).
    assert record.state == ("queued" if broken == "messages" else "failed")

    team.engine_ = None  # the default controllers again: recovered
    team.settled()
    degraded = C.find_condition(team.status().conditions, C.DEGRADED)
    assert degraded is not None and degraded.status == C.FALSE


def test_run_logs_one_line_for_a_broken_message_store(team: TeamWorkspace, tmp_path: Path) -> None:
    team.write_spec(SPEC)
    db = team.root / ".team" / "messages.db"
    db.parent.mkdir(mode=0o700, exist_ok=True)
    _garbage(db)
    log = tmp_path / "run.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "-f", str(team.spec_path), "run"],
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=team.root,
        )
        try:
            retry_until(lambda: _degraded(team) is not None, timeout=20)
            retry_until(lambda: team.agent_panes("one"), timeout=10)
            old = _kill(team, "one")  # more passes: a restart, then its observation
            retry_until(lambda: _restarted(team, "one", old), timeout=5)
            time.sleep(0.5)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=10)
    output = log.read_text()
    assert "Traceback" not in output
    assert sum(1 for line in output.splitlines() if str(db) in line) == 1, output

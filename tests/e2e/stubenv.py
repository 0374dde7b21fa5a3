"""The stub CLIs' world for end-to-end tests: a temporary HOME, PATH, argv log, helpers.

`stub_env(team, tmp_path, monkeypatch)` must run before the test's first pass: the private
tmux server is started by that pass and inherits the test's environment then, so setting
PATH (stubs first), HOME and `STUB_ARGV_LOG` here is what makes every agent pane run the
stubs, write its sessions under the temporary HOME, and log how it was started.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from controllers.sessions.dialogs import AUTO_TRUST_ENV
from reconciler.api import conditions as C
from reconciler.api.status import AgentStatus
from reconciler.engine.engine import PassResult
from reconciler.store.eventlog import EventLog
from tests.conftest import REPO, TeamWorkspace, retry_until

STUBS_BIN = REPO / "tests" / "stubs" / "bin"
# Provider session variables the tests make sure never reach a worker.
PROVIDER_HOMES = ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "COPILOT_HOME", "XDG_DATA_HOME")


@dataclass
class StubEnv:
    """One test's stub world (see the module docstring)."""

    team: TeamWorkspace
    home: Path
    log: Path

    # --- the argv log --------------------------------------------------------------

    def records(self, kind: str | None = None, cli: str | None = None) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        out = []
        for line in self.log.read_text().splitlines():
            record = json.loads(line)
            if (kind is None or record["kind"] == kind) and (cli is None or record["cli"] == cli):
                out.append(record)
        return out

    def starts(self, cli: str | None = None) -> list[list[str]]:
        return [r["argv"] for r in self.records("start", cli)]

    # --- trust files, as the real CLIs keep them -----------------------------------

    def trust_claude(self, folder: Path) -> None:
        path = self.home / ".claude.json"
        data = json.loads(path.read_text()) if path.exists() else {}
        data.setdefault("projects", {})[str(folder)] = {"hasTrustDialogAccepted": True}
        path.write_text(json.dumps(data))

    def trust_codex(self, folder: Path) -> None:
        config = self.home / ".codex" / "config.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        with config.open("a") as handle:
            handle.write(f'\n[projects."{folder}"]\ntrust_level = "trusted"\n')

    def trust_copilot(self, folder: Path) -> None:
        config = self.home / ".copilot" / "config.json"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(json.dumps({"trustedFolders": [str(folder)]}))

    def trust_all(self, folder: Path) -> None:
        self.trust_claude(folder)
        self.trust_codex(folder)
        self.trust_copilot(folder)

    # --- driving agents ------------------------------------------------------------

    def send(self, agent: str, text: str) -> None:
        """Type a message into the agent's pane, as a person would."""
        pane = self.team.agent_panes(agent)[0].pane_id
        tmux = ["tmux", "-L", self.team.socket]
        subprocess.run([*tmux, "send-keys", "-t", pane, "-l", "--", text], check=True)
        subprocess.run([*tmux, "send-keys", "-t", pane, "Enter"], check=True)

    def screen(self, agent: str) -> str:
        pane = self.team.agent_panes(agent)[0].pane_id
        done = subprocess.run(
            ["tmux", "-L", self.team.socket, "capture-pane", "-p", "-J", "-t", pane],
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    def passes_until(
        self, check: Callable[[PassResult], bool], *, timeout: float = 20.0
    ) -> PassResult:
        """Reconcile pass after pass until `check` holds (a deadline, not a sleep)."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.team.reconcile()
            if check(result):
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"not met after {timeout}s: {result.status.agents}")
            time.sleep(0.1)

    def captured(self, agent: str, *, timeout: float = 20.0) -> AgentStatus:
        """Passes until the agent's session is captured; its status then."""
        result = self.passes_until(
            lambda r: C.is_true(r.status.agents[agent].conditions, C.SESSION_CAPTURED),
            timeout=timeout,
        )
        return result.status.agents[agent]

    def converse(self, agent: str, text: str = "hello") -> AgentStatus:
        """Send a first message and wait until the session is captured."""
        self.send(agent, text)
        return self.captured(agent)

    def events(self, reason: str, agent: str | None = None) -> list[dict[str, Any]]:
        log = EventLog(self.team.root / ".team")
        return [
            e.model_dump()
            for e in log.read()
            if e.reason == reason and (agent is None or e.object == f"agent/{agent}")
        ]

    def kill_agent(self, agent: str) -> None:
        pane = self.team.agent_panes(agent)[0]
        assert pane.pane_pid is not None
        os.kill(pane.pane_pid, 9)
        retry_until(lambda: self.team.agent_panes(agent)[0].dead)


class ShiftedClock:
    """Real time plus an offset a test advances (to cross a crash-loop backoff at once)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + timedelta(seconds=self.offset)

    def monotonic(self) -> float:
        return time.monotonic() + self.offset


def stub_env(
    team: TeamWorkspace,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    with_stubs: bool = True,
) -> StubEnv:
    """Point HOME, PATH and the argv log at this test's folder (before any pass)."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    # The stubs' `#!/usr/bin/env python3` finds this interpreter first: fast and the same
    # on every machine.
    (bin_dir / "python3").symlink_to(sys.executable)
    path = [str(bin_dir), *([str(STUBS_BIN)] if with_stubs else []), os.environ["PATH"]]
    monkeypatch.setenv("PATH", os.pathsep.join(path))
    monkeypatch.setenv("HOME", str(home))
    log = tmp_path / "argv.jsonl"
    monkeypatch.setenv("STUB_ARGV_LOG", str(log))
    for name in (*PROVIDER_HOMES, AUTO_TRUST_ENV, "STUB_SHOW_TRUST_DIALOG", "STUB_SHOW_DIALOG"):
        monkeypatch.delenv(name, raising=False)
    return StubEnv(team=team, home=home, log=log)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

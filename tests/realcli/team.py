"""A team of real agent CLIs on a private tmux server, and what a test asks of it.

`RealTeam.spec(provider, ...)` writes a one-worker spec whose `env:` points the CLI at the
mock model server with a fresh HOME (`tests.realcli.homes`); the helpers drive it the way
a person and a leader would (`send`, `approvals`, `down` as separate processes, passes as
`run` makes them) and read what happened (the status, the message store, the mock's log).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from reconciler.api import conditions as C
from reconciler.api.conditions import Condition
from reconciler.engine.engine import PassResult
from reconciler.store.messages import MessageStore
from reconciler.store.records import MessageRecord
from tests.conftest import TeamWorkspace, retry_until
from tests.mockmodel.server import MockModel
from tests.realcli import homes


@dataclass
class RealTeam:
    team: TeamWorkspace
    mock: MockModel
    home: Path
    env: dict[str, str] = field(default_factory=dict)
    provider: str = ""

    @property
    def root(self) -> Path:
        return self.team.root

    # --- the spec --------------------------------------------------------------------

    def spec(
        self,
        provider: str,
        *,
        trusted: bool = True,
        git: bool = False,
        agent: str = "worker",
        fields: str = "",
    ) -> None:
        """One `provider` worker; `fields` are extra agent keys (YAML, 4-space indented)."""
        self.provider = provider
        if git and not (self.root / ".git").exists():
            subprocess.run(["git", "init", "-q", str(self.root)], check=True)
        self.env = homes.prepare(
            provider, self.home, self.mock.url, workspace=self.root, trusted=trusted
        )
        self.team.write_spec(
            f"""\
            version: 1
            team: {{name: real}}
            agents:
              - id: {agent}
                provider: {provider}
                env: {json.dumps(self.env)}
            {fields}"""
        )

    # --- passes ----------------------------------------------------------------------

    def until(self, check: Callable[[PassResult], bool], *, timeout: float = 60.0) -> PassResult:
        """Passes (as `run` makes them) until `check` holds; fails with the last status."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.team.reconcile()
            if check(result):
                return result
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"not reached within {timeout}s; agents: {result.status.agents}\n"
                    f"screen:\n{self.screen()}"
                )
            time.sleep(0.1)

    def ready(self, agent: str = "worker") -> Condition | None:
        return C.find_condition(self.team.status().agents[agent].conditions, C.READY)

    def until_ready(self, agent: str = "worker", *, timeout: float = 60.0) -> PassResult:
        return self.until(
            lambda r: C.is_true(r.status.agents[agent].conditions, C.READY), timeout=timeout
        )

    def until_reason(
        self, reason: str, agent: str = "worker", *, timeout: float = 60.0
    ) -> Condition:
        def reached(result: PassResult) -> bool:
            ready = C.find_condition(result.status.agents[agent].conditions, C.READY)
            return ready is not None and ready.reason == reason

        result = self.until(reached, timeout=timeout)
        found = C.find_condition(result.status.agents[agent].conditions, C.READY)
        assert found is not None
        return found

    # --- messages --------------------------------------------------------------------

    def send(self, text: str, to: str = "worker") -> str:
        done = self.team.cli("send", to, "-", "-o", "json", input_text=text)
        assert done.returncode == 0, done.stderr
        ids = [m["id"] for m in json.loads(done.stdout)]
        return str(ids[0])

    def message(self, message_id: str) -> MessageRecord:
        with MessageStore.open(self.root / ".team") as store:
            found = store.get(message_id)
        assert found is not None, message_id
        return found

    def until_delivered(self, message_id: str, *, timeout: float = 60.0) -> PassResult:
        def done(_: PassResult) -> bool:
            state = self.message(message_id).state
            assert state != "failed", self.message(message_id)
            return state == "delivered"

        return self.until(done, timeout=timeout)

    def turns_with(self, token: str) -> int:
        """How many conversation turns reached the model with `token` as the newest text."""
        return self.mock.count_turns_with(token)

    def until_model_saw(self, token: str, *, timeout: float = 60.0) -> None:
        retry_until(lambda: self.turns_with(token) > 0, timeout=timeout)

    # --- the pane and its processes --------------------------------------------------

    def pane_pid(self, agent: str = "worker") -> int:
        pane = self.team.agent_panes(agent)[0]
        assert pane.pane_pid is not None
        return pane.pane_pid

    def screen(self, agent: str = "worker") -> str:
        panes = self.team.agent_panes(agent)
        if not panes:
            return "(no pane)"
        done = subprocess.run(
            ["tmux", "-L", self.team.socket, "capture-pane", "-p", "-t", panes[0].pane_id],
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout

    def kill_cli(self, agent: str = "worker") -> int:
        pid = self.pane_pid(agent)
        os.kill(pid, signal.SIGKILL)
        return pid

    def ours(self) -> list[psutil.Process]:
        """Live processes that carry this workspace's team-agent marker in their environment."""
        found = []
        for proc in psutil.process_iter():
            try:
                environ = proc.environ()
            except (psutil.Error, OSError):
                continue
            if environ.get("TEAM_AGENT_WORKSPACE") == str(self.root.resolve()):
                found.append(proc)
        return found

    def under_home(self) -> list[psutil.Process]:
        """Live processes started with this test's HOME (a CLI's daemons included)."""
        found = []
        for proc in psutil.process_iter():
            try:
                if proc.environ().get("HOME") == str(self.home):
                    found.append(proc)
            except (psutil.Error, OSError):
                continue
        return found

    def cleanup(self) -> None:
        """Kill what this test started and left behind (never anything else: only
        processes whose environment names this test's HOME or workspace)."""
        for proc in {p.pid: p for p in [*self.ours(), *self.under_home()]}.values():
            try:
                proc.kill()
            except psutil.Error:
                continue

    def cli(self, *args: str, input_text: str | None = None) -> Any:
        return self.team.cli(*args, input_text=input_text)

"""Shared fixtures: private tmux servers that are always killed, and team workspaces.

Every test that needs tmux gets its own server (`tmux -L ta-test-…`), killed and its socket
unlinked at the end even when the test fails (cleanup errors are swallowed so they never
mask the real failure), the way libtmux's pytest plugin does it. The person's default
tmux server is never addressed: the spec names the private socket and so does the env.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from controllers.agents.actions import NudgeServer
from reconciler.api.status import TeamStatus
from reconciler.engine.engine import Engine, PassResult
from reconciler.observe.tmux import ServerNotRunning, Tmux, TmuxCommandError, socket_path_for
from reconciler.observe.world import Pane, observe
from reconciler.store.statusfile import StatusStore

REPO = Path(__file__).resolve().parents[1]


def retry_until(check: Callable[[], Any], *, timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll `check` until it returns something truthy; fail with its last value at the deadline."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")


@pytest.fixture
def tmux_socket(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is not installed (scripts/bootstrap installs it)")
    name = f"ta-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("TEAM_AGENT_TMUX_SOCKET", name)
    # A test run from inside tmux (or a leader) must not act as that pane or that leader:
    # `down` and the leader verbs read the caller from these.
    for inherited in ("TMUX", "TMUX_PANE", "TEAM_AGENT_LEADER_SESSION_UUID"):
        monkeypatch.delenv(inherited, raising=False)
    yield name
    kill_tmux_server(name)


def kill_tmux_server(name: str) -> None:
    """Kill the private server `tmux -L name` and remove its socket file, which a server
    killed while its clients are gone leaves behind; errors never mask a test's failure."""
    with contextlib.suppress(Exception):
        subprocess.run(["tmux", "-L", name, "kill-server"], capture_output=True, timeout=10)
    socket_dir = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}"
    (socket_dir / name).unlink(missing_ok=True)


@dataclass
class TeamWorkspace:
    """A workspace with a spec, a private tmux server and helpers to drive and inspect it."""

    root: Path
    socket: str
    engine_: Engine | None = field(default=None, repr=False)

    @property
    def spec_path(self) -> Path:
        return self.root / "team.spec.yaml"

    @property
    def tmux(self) -> Tmux:
        return Tmux(socket_name=self.socket)

    def write_spec(self, body: str) -> None:
        """Write a spec; `runtime.tmux_socket` is appended so it always names our server."""
        text = textwrap.dedent(body).rstrip() + "\n"
        if "runtime:" in text:
            text = text.replace("runtime:\n", f"runtime:\n  tmux_socket: {self.socket}\n", 1)
        else:
            text += f"runtime:\n  tmux_socket: {self.socket}\n"
        self.spec_path.write_text(text)

    @property
    def engine(self) -> Engine:
        if self.engine_ is None:
            self.engine_ = Engine(spec_path=self.spec_path, workspace=self.root.resolve())
        return self.engine_

    def reconcile(self) -> PassResult:
        return self.engine.reconcile()

    def settled(self, attempts: int = 50) -> PassResult:
        """A pass past any `NudgeServer`: tmux built with libutempter may miss an agent's
        exit (tmux/tmux#311), and the pass that sees it first only nudges the server."""
        for _ in range(attempts):
            result = self.reconcile()
            if not result.plan.actions or not all(
                isinstance(a, NudgeServer) for a in result.plan.actions
            ):
                return result
            time.sleep(0.05)
        raise AssertionError("tmux never recorded the agent's exit")

    def converge(self, timeout: float = 20.0) -> PassResult:
        """Passes until Ready (as `reconcile --once --wait`)."""
        deadline = time.monotonic() + timeout
        result = self.reconcile()
        while not result.ready:
            if time.monotonic() > deadline:
                raise AssertionError(f"not Ready after {timeout}s: {result.status.conditions}")
            time.sleep(0.1)
            result = self.reconcile()
        return result

    def status(self) -> TeamStatus:
        status = StatusStore(self.root / ".team").read()
        assert status is not None
        return status

    def panes(self) -> list[Pane]:
        return list(observe(self.tmux).panes)

    def agent_panes(self, agent: str | None = None) -> list[Pane]:
        return [p for p in self.panes() if p.agent and (agent is None or p.agent == agent)]

    def cli(
        self,
        *args: str,
        timeout: float = 60.0,
        check: bool = False,
        env: dict[str, str] | None = None,
        input_text: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run the real `team-agent` console script (a separate process)."""
        full_env = {**os.environ, **(env or {})}
        return subprocess.run(
            [sys.executable, "-m", "reconciler", "-f", str(self.spec_path), *args],
            input=input_text,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=full_env,
            cwd=self.root,
            check=check,
        )


@pytest.fixture
def team(tmp_path: Path, tmux_socket: str, monkeypatch: pytest.MonkeyPatch) -> TeamWorkspace:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("FAKE_AGENT_HOME", str(home / ".fake-agent"))
    root = tmp_path / "ws"
    root.mkdir()
    return TeamWorkspace(root=root, socket=tmux_socket)


@dataclass
class PersonServer:
    """A second private tmux server standing in for the person's default server.

    The leader usually lives there, apart from the workers' server; tests never address
    the real default server, so this is another private socket, killed at the end.
    """

    name: str

    @property
    def tmux(self) -> Tmux:
        return Tmux(socket_name=self.name)

    @property
    def path(self) -> str:
        return socket_path_for(self.name)

    @property
    def pid(self) -> int:
        return int(self.tmux.run("display-message", "-p", "#{pid}")[0])

    def caller_env(self, pane_id: str, *, server_pid: int | None = None) -> dict[str, str]:
        """What tmux puts in the environment of a command run in `pane_id`."""
        return {"TMUX": f"{self.path},{server_pid or self.pid},0", "TMUX_PANE": pane_id}

    def start(self, *argv: str, cwd: Path, env: dict[str, str] | None = None) -> str:
        """Run `argv` in a new window (a new session `main` first); returns its pane id."""
        flags = [f for k, v in (env or {}).items() for f in ("-e", f"{k}={v}")]
        common = ["-d", "-c", str(cwd), *flags, "-P", "-F", "#{pane_id}", "--", *argv]
        try:
            return self.tmux.run("new-window", "-t", "=main:", *common)[0]
        except (ServerNotRunning, TmuxCommandError):  # no server or session yet: create it
            return self.tmux.run("new-session", "-s", "main", "-x", "200", "-y", "50", *common)[0]


@pytest.fixture
def person_server() -> Iterator[PersonServer]:
    name = f"ta-person-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    server = PersonServer(name)
    yield server
    with contextlib.suppress(Exception):  # cleanup must never mask the test's own failure
        subprocess.run(["tmux", "-L", name, "kill-server"], capture_output=True, timeout=10)
    Path(server.path).unlink(missing_ok=True)

"""A benchmark's sandbox: a temporary workspace on a private tmux server, always removed.

Every benchmark runs inside `private_team(label)`: a fresh temporary folder holding the
workspace and the spec, and a tmux server of its own (`tmux -L bench-<pid>-<label>-<rand>`)
that the spec names in `runtime.tmux_socket` and that every process started from here is
pointed at (`TEAM_AGENT_TMUX_SOCKET`). On the way out, normal or not (an exception,
Ctrl-C, SIGTERM turned into an exception by `bench/run.py`), it stops the processes it
started, kills that one server, unlinks its socket and deletes the folder. Cleanup errors
are swallowed so they never mask the benchmark's own failure (as the test fixtures do).

Nothing here ever addresses the default tmux server: every `Tmux` and every `tmux` argv
built here carries `-L <private socket>`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import psutil

from reconciler.api import conditions as C
from reconciler.api.status import TeamStatus
from reconciler.engine.engine import Engine, PassResult
from reconciler.observe.procs import Scanner, scan
from reconciler.observe.tmux import Tmux
from reconciler.observe.world import Pane, list_panes
from reconciler.store.statusfile import StatusCorrupt, StatusStore

T = TypeVar("T")

STOP_GRACE_SEC = 5.0
HELD_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
SLEEP_FOREVER = ("sleep", "86400")


class BenchError(Exception):
    """A benchmark could not take its measurement (a deadline passed, a command failed)."""


@dataclass(frozen=True)
class AgentDef:
    """One agent of a benchmark's spec."""

    id: str
    provider: str = "shell"
    command: tuple[str, ...] | None = SLEEP_FOREVER
    env: Mapping[str, str] = field(default_factory=dict)


def shell_agents(count: int, prefix: str = "a") -> list[AgentDef]:
    """`count` cheap agents (`shell` running `sleep`): for figures about scale."""
    return [AgentDef(id=f"{prefix}{i:03d}") for i in range(count)]


def console_script() -> Path:
    """The installed `team-agent` console script next to this interpreter (a venv's bin)."""
    beside = Path(sys.executable).parent / "team-agent"
    if beside.exists():
        return beside
    found = shutil.which("team-agent")
    if found is None:
        raise BenchError("the team-agent console script is not installed (pip install -e .)")
    return Path(found)


def wait_until(check: Callable[[], T | None], *, timeout: float, interval: float, what: str) -> T:
    """Poll `check` until it returns something truthy; `BenchError` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise BenchError(f"{what}: not within {timeout:g}s")
        time.sleep(interval)


@dataclass
class BenchTeam:
    """A workspace, its spec and its private tmux server, plus the processes started here."""

    root: Path
    socket: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def workspace(self) -> Path:
        return self.root / "ws"

    @property
    def spec_path(self) -> Path:
        return self.workspace / "team.spec.yaml"

    @property
    def fake_home(self) -> Path:
        return self.root / "fake-agent-home"

    @property
    def tmux(self) -> Tmux:
        return Tmux(socket_name=self.socket)

    def fake_agents(self, ids: Sequence[str]) -> list[AgentDef]:
        """Fake agents (our stand-in CLI) whose transcripts stay inside this sandbox."""
        env = {"FAKE_AGENT_HOME": str(self.fake_home)}
        return [AgentDef(id=i, provider="fake", command=None, env=env) for i in ids]

    def write_spec(
        self, agents: Sequence[AgentDef], *, name: str = "bench", leader: str | None = None
    ) -> None:
        """Replace the spec atomically (temp file, rename), as a careful editor saves.

        `leader` declares the team's leader provider (`leader: {provider: …}`).
        """
        lines = ["version: 1", f"team: {{name: {name}}}"]
        if leader is not None:
            lines.append(f"leader: {{provider: {leader}}}")
        lines.append("agents:")
        for agent in agents:
            lines += [f"  - id: {agent.id}", f"    provider: {agent.provider}"]
            if agent.command is not None:
                lines.append(f"    command: {json.dumps(list(agent.command))}")
            if agent.env:
                lines.append(f"    env: {json.dumps(dict(agent.env))}")
        lines += ["runtime:", f"  tmux_socket: {self.socket}"]
        self.workspace.mkdir(parents=True, exist_ok=True)
        partial = self.spec_path.with_name(".team.spec.yaml.partial")
        partial.write_text("\n".join(lines) + "\n")
        os.replace(partial, self.spec_path)

    def engine(self, scanner: Scanner = scan) -> Engine:
        """An in-process engine for this workspace (as `reconcile --once` builds one)."""
        return Engine(spec_path=self.spec_path, workspace=self.workspace.resolve(), scanner=scanner)

    def converge(self, engine: Engine, *, timeout: float) -> PassResult:
        """Passes until Ready, as `reconcile --once --wait` does."""
        deadline = time.monotonic() + timeout
        result = engine.reconcile()
        while not result.ready:
            if time.monotonic() > deadline:
                raise BenchError(f"not Ready within {timeout:g}s (exit {result.exit_code})")
            time.sleep(min(max(result.requeue_after or 0.2, 0.05), 0.25))
            result = engine.reconcile()
        return result

    def quiet_pass(self, engine: Engine, *, timeout: float = 5.0) -> PassResult:
        """Let the second of the agents' last output end, then pass once.

        A pass reads the screen of an agent that wrote since the last pass looked (an
        approval prompt may show: `controllers.agents.panes.working_agents`), and tmux
        dates output in whole seconds, so output in the second of the last look counts
        as unseen until that second is over. Passes after this one are a quiet team's.
        """
        last = max((p.activity or 0.0 for p in self.agent_panes().values()), default=0.0)
        wait_until(lambda: time.time() >= last + 1.0, timeout=timeout, interval=0.05, what="quiet")
        return engine.reconcile()

    def status(self) -> TeamStatus | None:
        try:
            return StatusStore(self.workspace / ".team").read()
        except (StatusCorrupt, OSError):
            return None

    def is_ready(self) -> bool:
        status = self.status()
        return status is not None and C.is_true(status.conditions, C.READY)

    def agent_panes(self) -> dict[str, Pane]:
        """Our agents' panes by agent id: one `list-panes -a` call, no process scan."""
        _, panes = list_panes(self.tmux)
        return {p.agent: p for p in panes if p.agent}

    def env(self) -> dict[str, str]:
        """The environment for processes started here: pointed at the private server."""
        env = dict(os.environ)
        env["TEAM_AGENT_TMUX_SOCKET"] = self.socket
        env["FAKE_AGENT_HOME"] = str(self.fake_home)
        env.pop("TMUX", None)  # never let a tmux client guess the caller's server
        env.pop("TMUX_PANE", None)
        return env

    def cli_argv(self, *args: str) -> list[str]:
        return [str(console_script()), "-f", str(self.spec_path), *args]

    def cli(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[bytes]:
        """Run the real console script to completion (output captured)."""
        return subprocess.run(
            self.cli_argv(*args),
            capture_output=True,
            env=self.env(),
            cwd=self.workspace,
            timeout=timeout,
            check=False,
        )

    @property
    def log_path(self) -> Path:
        return self.root / "background.log"

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        """Start the console script in the background; stopped by `close` at the latest.

        Its output goes to `log_path` (a pipe nobody reads could fill and block it);
        `log_tail` quotes it when a benchmark fails.
        """
        with self.log_path.open("ab") as log:
            proc = subprocess.Popen(
                self.cli_argv(*args),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env(),
                cwd=self.workspace,
            )
        self.processes.append(proc)
        return proc

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def close(self) -> None:
        """Stop our processes, kill our server, remove our files; never raises.

        Ctrl-C and SIGTERM are held back meanwhile (delivered when it returns), so a second
        Ctrl-C cannot cut the cleanup short and leave a server behind.
        """
        held = signal.pthread_sigmask(signal.SIG_BLOCK, HELD_SIGNALS)
        try:
            self._close()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)

    def _kill_leftovers(self) -> None:
        """What outlived the server: Gemini's launcher and child survive the loss of their
        terminal (measured). Only processes whose HOME or workspace lies in this sandbox,
        so nothing the benchmark did not start is touched."""
        root = str(self.root)
        for proc in psutil.process_iter():
            try:
                env = proc.environ()
            except (psutil.Error, OSError):
                continue
            places = (env.get("HOME", ""), env.get("TEAM_AGENT_WORKSPACE", ""))
            if any(place == root or place.startswith(root + "/") for place in places):
                with contextlib.suppress(psutil.Error):
                    proc.kill()

    def _close(self) -> None:
        for proc in self.processes:
            with contextlib.suppress(Exception):
                stop_process(proc)
        with contextlib.suppress(Exception):
            subprocess.run(
                ["tmux", "-L", self.socket, "kill-server"],
                capture_output=True,
                timeout=10,
                check=False,
            )
        with contextlib.suppress(Exception):
            self._kill_leftovers()
        with contextlib.suppress(Exception):
            socket_dir = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}"
            (socket_dir / self.socket).unlink(missing_ok=True)
        shutil.rmtree(self.root, ignore_errors=True)


def stop_process(proc: subprocess.Popen[bytes]) -> int:
    """SIGTERM, a grace period, then SIGKILL; the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_GRACE_SEC)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_GRACE_SEC)
    return proc.returncode


@contextlib.contextmanager
def private_team(label: str) -> Iterator[BenchTeam]:
    """A sandbox for one benchmark (see the module docstring)."""
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") or "x"
    root = Path(tempfile.mkdtemp(prefix=f"ta-bench-{slug}-"))
    team = BenchTeam(root=root, socket=f"bench-{os.getpid()}-{slug}-{uuid.uuid4().hex[:6]}")
    try:
        yield team
    finally:
        team.close()

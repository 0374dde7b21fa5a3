"""The reference system's sandbox: a fake leader and N fake workers, without any AI CLI.

The reference (`bench/refbinary.py`) starts a team from a team folder: `TEAM.md` (team
settings in front matter) and one role file per worker under `agents/`
(`.team/current/` in the workspace, as its skill documents). Its roles accept `provider:
fake`, which runs the binary's own stand-in worker (`team-agent fake-worker`, prints a
ready line and answers messages): no AI CLI and no key are involved. Its `quick-start`
refuses to bind a leader unless it runs in a tmux pane whose command is a provider CLI,
so the fake leader is a pane running a program *named* `claude` (a link to `sleep`, first
on a private PATH) on a tmux server of our own, and `quick-start` is run with `TMUX` and
`TMUX_PANE` naming that pane, as if typed there.

Isolation:

* The team's name is unique (`ref<random>`): the reference's `shutdown` counts any
  process whose environment names its team id as one it failed to stop, ours included.
* `HOME` and the XDG folders point into the sandbox (the reference keeps leader
  registries under the home folder); `TEAM_AGENT_*`, `CLAUDE*` and `CODEX_*` variables
  of the caller are dropped.
* The workers' tmux server is the reference's own choice: `tmux -L ta-<hash of the
  workspace>`, one per workspace, never the default server. It records that socket as
  `/tmp/tmux-<uid>/ta-…` whatever `TMUX_TMPDIR` says (and then cannot find its own
  session), so `TMUX_TMPDIR` is dropped for the reference and for the leader's server,
  which lives beside it as `bench-<pid>-ref-<label>-<random>`.

`close` (always run, also on Ctrl-C) ends every process whose command line names the
sandbox folder (its fake workers, its coordinator daemons, both tmux servers: the folder's
name is random, so nothing else matches), SIGTERM then SIGKILL through psutil, which
re-checks each pid's create time before signalling; then it kills both tmux servers by
socket, unlinks the sockets and removes the folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench.harness import HELD_SIGNALS, BenchError, wait_until
from bench.measure import children_cpu
from bench.sidebyside import ProcessRun

TEAM_DIR = Path(".team") / "current"
STATE = Path(".team") / "runtime" / "state.json"
SLEEP_FOR_LEADER = "86400"
STOP_GRACE_SEC = 5.0
DROPPED_ENV = re.compile(r"^(TMUX|TMUX_PANE|TMUX_TMPDIR|TEAM_AGENT_\w*|CLAUDE\w*|CODEX_\w*)$")
XDG_HOMES = (
    ("CONFIG", ".config"), ("DATA", ".local/share"), ("STATE", ".local/state"), ("CACHE", ".cache")
)
WORKER_SOCKET = re.compile(r"^ta-[0-9a-f]{6,64}$")
TEAM_MD = """\
---
name: {name}
objective: benchmark of team-agent against the reference
dangerous_auto_approve: false
display_backend: none
---

Team config only.
"""
ROLE_MD = """\
---
name: {name}
role: Worker
provider: fake
dangerously_skip_permissions: false
tools:
  - fs_read
---

Fake worker for a benchmark.
"""


def worker_ids(size: int) -> list[str]:
    return [f"w{i:03d}" for i in range(size)]


def default_socket_dir() -> Path:
    """Where tmux puts `-L NAME` sockets without `TMUX_TMPDIR`: the reference's view."""
    return Path("/tmp") / f"tmux-{os.getuid()}"


def parse_json(run: ProcessRun, what: str) -> dict[str, Any]:
    """The JSON object a reference command printed; `BenchError` quoting it otherwise."""
    try:
        data = json.loads(run.stdout)
    except json.JSONDecodeError as err:
        problem = f"reference {what}: no JSON (exit {run.returncode})"
        raise BenchError(f"{problem}: {run.tail()}") from err
    if not isinstance(data, dict):
        raise BenchError(f"reference {what}: printed {run.stdout[:200]!r}")
    return data


def check_started(run: ProcessRun) -> None:
    """`quick-start --json` succeeded: exit 0, `ok` and `ready` true, leader bound."""
    data = parse_json(run, "quick-start")
    if run.returncode != 0 or data.get("ok") is not True or data.get("ready") is not True:
        raise BenchError(
            f"reference quick-start: exit {run.returncode}, status {data.get('status')!r}, "
            f"reason {data.get('reason')!r}"
        )


def check_ready(run: ProcessRun) -> None:
    """`wait-ready --json` says every worker is ready."""
    data = parse_json(run, "wait-ready")
    if run.returncode != 0 or data.get("status") != "ready":
        raise BenchError(
            f"reference wait-ready: exit {run.returncode}, status {data.get('status')!r}, "
            f"summary {data.get('summary')!r}"
        )


def status_names(run: ProcessRun) -> list[str]:
    """The workers `status --json` lists (its `nodes`, by name)."""
    data = parse_json(run, "status")
    nodes = data.get("nodes")
    if run.returncode != 0 or not isinstance(nodes, list):
        raise BenchError(f"reference status: exit {run.returncode}: {run.tail()}")
    return sorted(str(n.get("name")) for n in nodes if isinstance(n, dict))


def shutdown_status(run: ProcessRun) -> str:
    """How `shutdown --json` judged itself: `ok`, or `failed`/`partial` with exit 1.

    Its judgement is not the benchmark's: it reports `failed` when a fake worker has
    exited but is not reaped yet (a zombie), and `partial` when its coordinator takes
    long to stop. The benchmark checks the outcome itself (`RefTeam.leftovers`) and
    quotes this in the figure's detail; only output that is no JSON report is an error.
    """
    data = parse_json(run, "shutdown")
    status = data.get("status")
    return status if isinstance(status, str) else f"exit {run.returncode}"


def shutdown_verdicts(runs: Sequence[ProcessRun]) -> str:
    """How many `shutdown` runs judged themselves not ok, for the stop figure's detail."""
    verdicts = Counter(shutdown_status(r) for r in runs if r.returncode != 0)
    if not verdicts:
        return ""
    said = ", ".join(f"{count} `{status}`" for status, count in sorted(verdicts.items()))
    return f"its own verdict: {said} of {len(runs)}, though nothing of the team ran after"


def workers_socket(state_text: str, socket_dir: Path) -> Path | None:
    """The workers' tmux socket its `state.json` records, if it is one the reference made.

    Only a socket in `socket_dir` named `ta-<hex>` is taken, so a damaged or foreign state
    file can never point the cleanup at another server.
    """
    try:
        state = json.loads(state_text)
    except json.JSONDecodeError:
        return None
    recorded = state.get("tmux_socket") if isinstance(state, dict) else None
    if not isinstance(recorded, str):
        return None
    path = Path(recorded)
    if path.parent != socket_dir or not WORKER_SOCKET.match(path.name):
        return None
    return path


def measured_run(
    argv: list[str], *, env: Mapping[str, str], cwd: Path, timeout: float
) -> ProcessRun:
    """Run `argv` to completion; wall time, and CPU time of it and what it waited for."""
    cpu0, t0 = children_cpu(), time.perf_counter()
    done = subprocess.run(
        argv, env=dict(env), cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    wall, cpu = time.perf_counter() - t0, children_cpu() - cpu0
    return ProcessRun(wall, cpu, done.returncode, done.stdout, done.stderr)


@dataclass
class RefTeam:
    """The reference's workspace, private home and PATH, and its fake leader's server."""

    root: Path
    binary: Path
    leader_socket: str
    team_name: str = "refbench"
    leader_pane: str = ""
    leader_server_pid: int = 0
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def workspace(self) -> Path:
        return self.root / "ws"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def bin_dir(self) -> Path:
        return self.root / "bin"

    def write_team(self, size: int) -> None:
        agents = self.workspace / TEAM_DIR / "agents"
        agents.mkdir(parents=True, exist_ok=True)
        (self.workspace / TEAM_DIR / "TEAM.md").write_text(TEAM_MD.format(name=self.team_name))
        for name in worker_ids(size):
            (agents / f"{name}.md").write_text(ROLE_MD.format(name=name))

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not DROPPED_ENV.match(k)}
        env["HOME"] = str(self.home)
        for name, sub in XDG_HOMES:
            env[f"XDG_{name}_HOME"] = str(self.home / sub)
        env["PATH"] = f"{self.bin_dir}{os.pathsep}{env.get('PATH', '')}"
        return env

    def start_leader(self) -> None:
        """The fake leader: a pane whose command is named `claude` (a link to `sleep`)."""
        sleep = shutil.which("sleep")
        if sleep is None:
            raise BenchError("`sleep` is not on PATH")
        self.home.mkdir(parents=True, exist_ok=True)
        self.bin_dir.mkdir(parents=True, exist_ok=True)
        (self.bin_dir / "claude").symlink_to(sleep)
        created = subprocess.run(
            ["tmux", "-L", self.leader_socket, "new-session", "-d", "-s", "lead", "-x", "200",
             "-y", "50", "-c", str(self.workspace), "-P", "-F", "#{pane_id} #{pid}",
             "--", "claude", SLEEP_FOR_LEADER],
            env=self.env(), capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        if created.returncode != 0:
            raise BenchError(f"the reference's leader pane: {created.stderr.strip()}")
        self.leader_pane, pid = created.stdout.split()
        self.leader_server_pid = int(pid)

    def leader_env(self) -> dict[str, str]:
        """The environment of a command typed in the leader pane (what tmux sets there)."""
        socket = default_socket_dir() / self.leader_socket
        env = self.env()
        env["TMUX"] = f"{socket},{self.leader_server_pid},0"
        env["TMUX_PANE"] = self.leader_pane
        return env

    def run(self, *args: str, leader: bool = False, timeout: float = 180.0) -> ProcessRun:
        env = self.leader_env() if leader else self.env()
        argv = [str(self.binary), *args]
        return measured_run(argv, env=env, cwd=self.workspace, timeout=timeout)

    def quick_start(self) -> ProcessRun:
        return self.run("quick-start", str(TEAM_DIR), "--yes", "--json", leader=True)

    def wait_ready(self) -> ProcessRun:
        return self.run("wait-ready", "--timeout", "120", "--json")

    def workers_socket(self) -> Path | None:
        try:
            text = (self.workspace / STATE).read_text()
        except OSError:
            return None
        return workers_socket(text, default_socket_dir())

    def worker_panes(self) -> int:
        """Panes on the workers' server (0 when it is not running)."""
        socket = self.workers_socket()
        if socket is None:
            return 0
        done = subprocess.run(
            ["tmux", "-S", str(socket), "list-panes", "-a", "-F", "#{pane_id}"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        return len(done.stdout.split()) if done.returncode == 0 else 0

    def coordinators(self) -> list[psutil.Process]:
        """Its coordinator daemons for this workspace (a `--once` run may have added one)."""
        found = []
        for proc in _mentioning(str(self.workspace)):
            with contextlib.suppress(psutil.Error):
                argv = proc.cmdline()
                if argv[:2] == [str(self.binary), "coordinator"] and "--once" not in argv:
                    found.append(proc)
        return found

    def leftovers(self) -> list[str]:
        """What still runs of the team: worker panes, its own processes (not zombies)."""
        left = [f"{n} worker panes"] if (n := self.worker_panes()) else []
        for proc in _mentioning(str(self.workspace)):
            with contextlib.suppress(psutil.Error):
                argv = proc.cmdline()
                if argv[:1] == [str(self.binary)] and proc.status() != psutil.STATUS_ZOMBIE:
                    left.append(f"pid {proc.pid} ({' '.join(argv[1:2])})")
        return left

    def stop_coordinators(self) -> None:
        """Stop its coordinator daemons, so that no tick runs while one-shot calls are timed."""
        _terminate(self.coordinators())
        wait_until(lambda: not self.coordinators(), timeout=15, interval=0.1, what="coordinator")

    def start_coordinator(self) -> psutil.Process:
        """A coordinator daemon as quick-start leaves one (`coordinator --workspace WS`)."""
        proc = subprocess.Popen(
            [str(self.binary), "coordinator", "--workspace", str(self.workspace)],
            env=self.env(), cwd=self.workspace, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.started.append(proc)
        return psutil.Process(proc.pid)

    def close(self) -> None:
        """End everything the sandbox started, then remove it; never raises (see module)."""
        held = signal.pthread_sigmask(signal.SIG_BLOCK, HELD_SIGNALS)
        try:
            sockets = [default_socket_dir() / self.leader_socket]
            with contextlib.suppress(Exception):
                if (workers := self.workers_socket()) is not None:
                    sockets.append(workers)
            with contextlib.suppress(Exception):
                _terminate(_mentioning(str(self.root)))
            for proc in self.started:
                with contextlib.suppress(Exception):
                    proc.wait(timeout=STOP_GRACE_SEC)
            for socket in sockets:
                with contextlib.suppress(Exception):
                    subprocess.run(["tmux", "-S", str(socket), "kill-server"],
                                   capture_output=True, timeout=10, check=False)  # fmt: skip
                with contextlib.suppress(Exception):
                    socket.unlink(missing_ok=True)
            shutil.rmtree(self.root, ignore_errors=True)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _mentioning(text: str) -> list[psutil.Process]:
    """Processes (not this one) with `text` in their command line."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        argv = proc.info.get("cmdline") or []
        if proc.pid != os.getpid() and any(text in arg for arg in argv):
            found.append(proc)
    return found


def _terminate(procs: list[psutil.Process]) -> None:
    """SIGTERM, a grace period, SIGKILL; psutil refuses a pid reused since it was listed."""
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    _, alive = psutil.wait_procs(procs, timeout=STOP_GRACE_SEC)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(alive, timeout=STOP_GRACE_SEC)


@contextlib.contextmanager
def private_reference_team(label: str, binary: Path) -> Iterator[RefTeam]:
    """A sandbox for the reference system (see the module docstring)."""
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") or "x"
    root = Path(tempfile.mkdtemp(prefix=f"ta-bench-ref-{slug}-"))
    unique = uuid.uuid4().hex[:6]
    socket = f"bench-{os.getpid()}-ref-{slug}-{unique}"
    team = RefTeam(root=root, binary=binary, leader_socket=socket, team_name=f"ref{unique}")
    try:
        (root / "ws").mkdir()
        yield team
    finally:
        team.close()

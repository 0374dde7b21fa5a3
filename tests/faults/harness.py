"""What the fault tests share: run length and seeds, team specs, invariants, privileged tricks.

The invariants are the promises every fault must leave intact, checked the same way by
every test: the status file parses (or is absent), no agent has two windows, no window in
the team's session lacks our markers, and a converging pass sequence reaches Ready within
two passes.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from reconciler.api.status import TeamStatus
from reconciler.engine.engine import Engine, PassResult
from reconciler.observe.tmux import Tmux
from reconciler.observe.world import Pane, observe
from reconciler.store.statusfile import StatusStore
from tests.conftest import REPO

# ---------------------------------------------------------------- run length and seeds


class RunLength:
    """Short (every `pytest -q tests`) or long (`TEAM_AGENT_LONG=1`, `-m long`)."""

    def __init__(self) -> None:
        self.long = os.environ.get("TEAM_AGENT_LONG", "") not in ("", "0")

    def configure(self, markexpr: str) -> None:
        words = markexpr.replace("(", " ").replace(")", " ").split()
        asked = any(w == "long" and (i == 0 or words[i - 1] != "not") for i, w in enumerate(words))
        self.long = self.long or asked


RUN = RunLength()


def seed(name: str, index: int) -> int:
    """Trial `index` of test `name`: stable across runs, varied by TEAM_AGENT_FAULT_SEED."""
    base = os.environ.get("TEAM_AGENT_FAULT_SEED", "0")
    digest = hashlib.sha256(f"{base}:{name}:{index}".encode()).hexdigest()
    return int(digest[:8], 16)


def trial_seeds(name: str, *, short: int, long: int) -> list[Any]:
    """`short` or `long` seeded trials as pytest params, ids `seed_N` (rerun with -k)."""
    count = long if RUN.long else short
    return [pytest.param(seed(name, i), id=f"seed_{seed(name, i)}") for i in range(count)]


def rng_for(trial_seed: int) -> random.Random:
    return random.Random(trial_seed)


# ---------------------------------------------------------------- specs


@dataclass(frozen=True)
class Variant:
    """One desired team: which agents, and a config version per agent (env `V`)."""

    agents: Mapping[str, int]

    def spec(self, name: str, socket: str) -> str:
        """The spec text; `socket` is always named, so nothing reaches the default server."""
        lines = ["version: 1", f"team: {{name: {name}}}", "runtime:", "  stop_grace_sec: 1"]
        lines.append(f"  tmux_socket: {socket}")
        lines.append("agents:" if self.agents else "agents: []")
        for agent, version in sorted(self.agents.items()):
            lines += [
                f"  - id: {agent}",
                "    provider: shell",
                '    command: ["sleep", "3600"]',
                f'    env: {{V: "{version}"}}',
            ]
        return "\n".join(lines) + "\n"


def random_variant(rng: random.Random, previous: Variant | None, *, pool: int = 8) -> Variant:
    """A team that differs from `previous` the ways a person edits one: agents added,
    removed, reconfigured (a new `V` recreates the agent) or left alone."""
    names = [f"a{i}" for i in range(pool)]
    if previous is None or rng.random() < 0.2:
        chosen = rng.sample(names, rng.randint(3, pool))
        return Variant({a: 0 for a in chosen})
    agents = dict(previous.agents)
    for agent in names:
        roll = rng.random()
        if agent in agents and roll < 0.2:
            del agents[agent]
        elif agent in agents and roll < 0.45:
            agents[agent] += 1
        elif agent not in agents and roll < 0.5:
            agents[agent] = 0
    if not agents:
        agents[rng.choice(names)] = 0
    return Variant(agents)


def sleepers(name: str, count: int, socket: str) -> str:
    return Variant({f"a{i}": 0 for i in range(count)}).spec(name, socket)


def engine_for(root: Path, socket: str) -> Engine:
    """A fresh Engine on the private server, as a new reconciler process would build."""
    return Engine(spec_path=root / "team.spec.yaml", workspace=root.resolve(), tmux_socket=socket)


# ---------------------------------------------------------------- invariants


def session_panes(tmux: Tmux, session: str) -> list[Pane]:
    return [p for p in observe(tmux).panes if p.session_name == session]


def check_status_parses(root: Path) -> TeamStatus | None:
    """The status is absent or a valid TeamStatus (StatusStore.read raises otherwise)."""
    return StatusStore(root / ".team").read()


def check_no_duplicates(tmux: Tmux, session: str) -> Counter[str]:
    """At most one pane per agent and no unmarked pane in the team's session."""
    panes = session_panes(tmux, session)
    unmarked = [p.pane_id for p in panes if not p.agent]
    assert not unmarked, f"unmarked panes in {session}: {unmarked}"
    counts = Counter(p.agent for p in panes)
    duplicated = {agent: n for agent, n in counts.items() if n > 1}
    assert not duplicated, f"agents with more than one pane: {duplicated}"
    return counts


def converge_within_two_passes(engine: Engine) -> tuple[PassResult, int]:
    """Run up to two passes; the second at the latest must be Ready (exit 0)."""
    first = engine.reconcile()
    if first.ready:
        return first, 1
    second = engine.reconcile()
    assert second.ready, (
        f"not Ready after two passes: first {first.exit_code} {first.plan.render()!r}, "
        f"second {second.exit_code} {second.plan.render()!r}, "
        f"conditions {second.status.conditions}"
    )
    return second, 2


def assert_matches(tmux: Tmux, session: str, agents: Sequence[str]) -> None:
    """Exactly one live pane per declared agent, nothing else in the session."""
    panes = session_panes(tmux, session)
    assert sorted(p.agent for p in panes) == sorted(agents), [
        (p.agent, p.pane_id, p.dead) for p in panes
    ]
    assert not [p.pane_id for p in panes if p.dead], "dead panes left after convergence"


def identities(tmux: Tmux, session: str) -> dict[str, tuple[int, float]]:
    """Each agent's pane process as (pid, create time): "undisturbed" means unchanged."""
    found: dict[str, tuple[int, float]] = {}
    for pane in session_panes(tmux, session):
        assert pane.pane_pid is not None and not pane.dead, pane
        found[pane.agent] = (pane.pane_pid, psutil.Process(pane.pane_pid).create_time())
    return found


def wait_started(tmux: Tmux, session: str, executable: str, *, timeout: float = 20.0) -> None:
    """Until every pane runs `executable`: Ready (no readiness pattern) means the pane is up,
    not that `exec_agent` has read its launch file and exec'd the agent yet; a test that
    then breaks `.team` would otherwise break the start itself."""

    def started() -> bool:
        panes = session_panes(tmux, session)
        try:
            return bool(panes) and all(
                p.pane_pid is not None
                and not p.dead
                and psutil.Process(p.pane_pid).cmdline()[:1] == [executable]
                for p in panes
            )
        except (psutil.Error, IndexError):
            return False

    deadline = time.monotonic() + timeout
    while not started():
        assert time.monotonic() < deadline, [
            (p.agent, p.dead) for p in session_panes(tmux, session)
        ]
        time.sleep(0.05)


def alive(pid: int, create_time: float) -> bool:
    try:
        proc = psutil.Process(pid)
        return (
            abs(proc.create_time() - create_time) < 0.01 and proc.status() != psutil.STATUS_ZOMBIE
        )
    except psutil.NoSuchProcess:
        return False


def leftovers(root: Path) -> list[str]:
    """Files a pass writes and must not leave behind: launch files, status temp files."""
    state = root / ".team"
    found = [str(p) for p in state.glob(".status.*.tmp")]
    launch = state / "launch"
    if launch.is_dir():
        found += [str(p) for p in launch.iterdir()]
    return found


def assert_no_leftovers(root: Path, *, timeout: float = 10.0) -> None:
    """Launch files are read (and deleted) by panes that are still starting: allow them
    `timeout` to go, then name whatever is left."""
    deadline = time.monotonic() + timeout
    while leftovers(root) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert leftovers(root) == []


# ---------------------------------------------------------------- processes


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a reconciler child: the repo importable, our tmux socket kept."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    env.update(extra)
    return env


def cli_argv(spec: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "reconciler", "-f", str(spec), *args]


def pass_child_argv(spec: Path, mode: str, index: int) -> list[str]:
    return [sys.executable, "-m", "tests.faults.pass_child", str(spec), mode, str(index)]


def no_traceback(*texts: str) -> None:
    for text in texts:
        assert "Traceback (most recent call last)" not in text, text


# ---------------------------------------------------------------- privileged tricks

UNSHARE = shutil.which("unshare")
SETPRIV = shutil.which("setpriv")


@functools.cache
def mount_namespace_problem() -> str | None:
    """None when a private mount namespace with a tmpfs can be made here, else why not."""
    if UNSHARE is None or shutil.which("mount") is None:
        return "unshare(1) or mount(8) is not installed"
    with tempfile.TemporaryDirectory() as scratch:
        probe = subprocess.run(
            [
                UNSHARE,
                "--mount",
                "--propagation",
                "private",
                "--",
                "sh",
                "-c",
                'mount -t tmpfs -o size=64k tmpfs "$1"',
                "sh",
                scratch,
            ],
            capture_output=True,
            text=True,
            timeout=10,
        )
    if probe.returncode != 0:
        return f"cannot mount in a private namespace: {probe.stderr.strip() or probe.returncode}"
    return None


def in_mount_namespace(script: str, *args: str) -> list[str]:
    """argv that runs `script` (sh, arguments as $1...) in a private mount namespace.

    Mounts made there vanish with the namespace's last process and are never seen by the
    tmux server or anyone else; paths are passed as arguments, never spliced into script.
    """
    assert UNSHARE is not None
    return [UNSHARE, "--mount", "--propagation", "private", "--", "sh", "-c", script, "sh", *args]


@functools.cache
def cap_drop_problem() -> str | None:
    """None when setpriv can drop root's permission-override capabilities, else why not."""
    if os.geteuid() != 0:
        return None  # not root: chmod already stops us
    if SETPRIV is None:
        return "setpriv(1) is not installed"
    probe = subprocess.run(
        [*drop_caps_prefix(), "true"], capture_output=True, text=True, timeout=10
    )
    if probe.returncode != 0:
        return f"setpriv cannot drop capabilities: {probe.stderr.strip()}"
    return None


def drop_caps_prefix() -> list[str]:
    """Run as root without CAP_DAC_OVERRIDE & co, so file modes apply to us (EACCES)."""
    if os.geteuid() != 0:
        return []
    assert SETPRIV is not None
    dropped = "-dac_override,-dac_read_search,-fowner"
    return [SETPRIV, f"--inh-caps={dropped}", f"--bounding-set={dropped}", "--"]


@contextlib.contextmanager
def swapped(path: Path, replacement: str) -> Iterator[None]:
    """Put a directory (`"dir"`) or a file (`"file"`) where `path` is, restore it after."""
    aside = path.with_name(path.name + ".aside")
    had = path.exists()
    if had:
        path.rename(aside)
    try:
        if replacement == "dir":
            path.mkdir()
        else:
            path.write_text("not what you expected\n")
        yield
    finally:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
        if had:
            aside.rename(path)

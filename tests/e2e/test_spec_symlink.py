"""`team-agent run` on a symlinked `team.spec.yaml`: the watcher follows the link.

A spec kept elsewhere (a dotfiles repository, a shared folder, one of several variants)
is often linked into the workspace. The watcher must see the link being swapped to
another target, and then edits of that new target, at once: not at the next resync. The
resync is set to an hour here, so only the watcher can make these tests pass in time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.api import conditions as C
from tests.conftest import TeamWorkspace, retry_until

pytestmark = pytest.mark.e2e

REACT_BOUND_SEC = 5.0  # generous on a shared 2-core machine; the figure is printed


def spec_text(socket: str, *agents: str) -> str:
    lines = ["version: 1", "team: {name: linked}", "agents:"]
    for agent in agents:
        lines += [f"  - id: {agent}", "    provider: fake"]
    lines += ["runtime:", f"  tmux_socket: {socket}", "  resync_interval_sec: 3600"]
    return "\n".join(lines) + "\n"


def swap_link(link: Path, target: Path) -> None:
    """Point `link` at `target` atomically, as `ln -sfn` with a rename (editors, stow)."""
    tmp = link.with_name(link.name + ".new")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target)
    os.replace(tmp, link)


def write_in_place(path: Path, text: str) -> None:
    """Rewrite a file in place (same inode), as `echo > file` or many editors do."""
    with path.open("w", encoding="utf-8") as handle:
        handle.write(text)


@pytest.fixture
def run_on(team: TeamWorkspace) -> Iterator[list[subprocess.Popen[str]]]:
    """Start `team-agent run` on the workspace's (linked) spec; killed at the end."""
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def start_run(team: TeamWorkspace, procs: list[subprocess.Popen[str]]) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "-f", str(team.spec_path), "run"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=team.root,
    )
    procs.append(proc)
    retry_until(lambda: ready(team), timeout=20)


def ready(team: TeamWorkspace) -> bool:
    try:
        return C.is_true(team.status().conditions, C.READY)
    except (AssertionError, OSError, ValueError):
        return False


def reaction(team: TeamWorkspace, agent: str) -> float:
    """Seconds until `agent` has a pane (measured from the call, right after the change)."""
    began = time.monotonic()
    retry_until(lambda: team.agent_panes(agent), timeout=REACT_BOUND_SEC, interval=0.02)
    took = time.monotonic() - began
    print(f"spec change -> pane of {agent}: {took * 1000:.0f} ms")
    return took


def test_swapped_link_and_edits_of_its_new_target_are_seen_at_once(
    team: TeamWorkspace, tmp_path: Path, run_on: list[subprocess.Popen[str]]
) -> None:
    """The link is swapped to a file in another folder → the new spec is applied; that new
    target is edited (in place, then by rename) → applied; the old target's edits are not
    the spec any more and change nothing."""
    old_dir, new_dir = tmp_path / "variants-a", tmp_path / "variants-b"
    old_dir.mkdir()
    new_dir.mkdir()
    old, new = old_dir / "team.yaml", new_dir / "team.yaml"
    old.write_text(spec_text(team.socket, "one"))
    new.write_text(spec_text(team.socket, "one", "two"))
    team.spec_path.symlink_to(old)
    start_run(team, run_on)

    swap_link(team.spec_path, new)
    assert reaction(team, "two") < REACT_BOUND_SEC

    write_in_place(new, spec_text(team.socket, "one", "two", "three"))
    assert reaction(team, "three") < REACT_BOUND_SEC

    aside = new.with_name("team.yaml.tmp")
    aside.write_text(spec_text(team.socket, "one", "two", "three", "four"))
    os.replace(aside, new)
    assert reaction(team, "four") < REACT_BOUND_SEC

    write_in_place(old, spec_text(team.socket, "one", "five"))
    write_in_place(new, spec_text(team.socket, "one", "two", "three", "four", "six"))
    assert reaction(team, "six") < REACT_BOUND_SEC
    assert not team.agent_panes("five")


def test_a_swapped_link_in_the_middle_of_a_chain_is_followed(
    team: TeamWorkspace, tmp_path: Path, run_on: list[subprocess.Popen[str]]
) -> None:
    """team.spec.yaml → current (a link in another folder) → a.yaml; `current` is swapped
    to b.yaml → applied; b.yaml is edited → applied."""
    links, files = tmp_path / "links", tmp_path / "files"
    links.mkdir()
    files.mkdir()
    first, second = files / "a.yaml", files / "b.yaml"
    first.write_text(spec_text(team.socket, "one"))
    second.write_text(spec_text(team.socket, "one", "two"))
    current = links / "current"
    current.symlink_to(first)
    team.spec_path.symlink_to(current)
    start_run(team, run_on)

    swap_link(current, second)
    assert reaction(team, "two") < REACT_BOUND_SEC

    write_in_place(second, spec_text(team.socket, "one", "two", "three"))
    assert reaction(team, "three") < REACT_BOUND_SEC

"""`team-agent run` on a symlinked `team.spec.yaml`: the watcher follows the link.

A spec kept elsewhere (a dotfiles repository, a shared folder, one of several variants)
is often linked into the workspace. The watcher must see the link being swapped to
another target, and then edits of that new target, at once: not at the next resync. The
resync is set to an hour here, so only the watcher can make these tests pass in time.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.conftest import TeamWorkspace, retry_until
from tests.e2e.conftest import StartRun

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


def reaction(team: TeamWorkspace, agent: str) -> float:
    """Seconds until `agent` has a pane (measured from the call, right after the change)."""
    began = time.monotonic()
    retry_until(lambda: team.agent_panes(agent), timeout=REACT_BOUND_SEC, interval=0.02)
    took = time.monotonic() - began
    print(f"spec change -> pane of {agent}: {took * 1000:.0f} ms")
    return took


def test_swapped_link_and_edits_of_its_new_target_are_seen_at_once(
    team: TeamWorkspace, tmp_path: Path, run_loop: StartRun
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
    run_loop()

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
    team: TeamWorkspace, tmp_path: Path, run_loop: StartRun
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
    run_loop()

    swap_link(current, second)
    assert reaction(team, "two") < REACT_BOUND_SEC

    write_in_place(second, spec_text(team.socket, "one", "two", "three"))
    assert reaction(team, "three") < REACT_BOUND_SEC

"""SIGKILL of the reconciler in the middle of a pass.

Attacks: the reconciler dying with no cleanup at all (no `finally`, no lock release, no
flush) at any moment of a pass: between loading and observing, between planning and
acting, between two actions (a window created, the next not yet), after acting but before
the status is written, while a window is being created or an agent recreated or stopped.

Must hold after every kill: `status.json` is absent or parses as a TeamStatus; no agent
has two windows; no window in the team's session lacks our markers; and from there,
uninterrupted passes reach Ready within two passes with exactly the declared windows.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from reconciler.store.lock import read_holder
from tests.conftest import TeamWorkspace, retry_until
from tests.faults import harness

KILLS_PER_CHAIN = 6 if harness.RUN.long else 4


@pytest.mark.parametrize("trial_seed", harness.trial_seeds("sigkill-point", short=1, long=10))
def test_sigkill_at_a_chosen_point_of_the_pass(team: TeamWorkspace, trial_seed: int) -> None:
    """A chain of passes, each SIGKILLed at a point drawn from the seed (before or after
    any action, or between the pass's steps), on teams that grow, shrink and change
    config from one pass to the next. After each kill: status parses, no duplicate or
    unmarked window; then (at random, and always at the end) two passes reach Ready."""
    rng = harness.rng_for(trial_seed)
    session = "team-kill"
    variant: harness.Variant | None = None
    landed: list[str] = []
    for _ in range(KILLS_PER_CHAIN):
        variant = harness.random_variant(rng, variant)
        team.spec_path.write_text(variant.spec("kill", team.socket))
        points = 5 + 2 * len(variant.agents)  # loaded, observed, planned, 2 per action, ...
        index = rng.randrange(points)
        child = subprocess.run(
            harness.pass_child_argv(team.spec_path, "sigkill", index),
            capture_output=True,
            text=True,
            timeout=60,
            env=harness.child_env(),
        )
        harness.no_traceback(child.stderr)
        reached = child.stdout.splitlines()
        if child.returncode == -signal.SIGKILL:
            assert reached[-1] == "FAULT sigkill", reached
            landed.append(reached[-2])
        else:
            assert child.returncode in (0, 1), (child.returncode, child.stderr)
            assert reached[-1] == "COMPLETED"
            landed.append("(completed)")

        harness.check_status_parses(team.root)
        harness.check_no_duplicates(team.tmux, session)
        if rng.random() < 0.5:
            harness.converge_within_two_passes(harness.engine_for(team.root, team.socket))
            harness.assert_matches(team.tmux, session, list(variant.agents))

    assert variant is not None
    harness.converge_within_two_passes(harness.engine_for(team.root, team.socket))
    harness.assert_matches(team.tmux, session, list(variant.agents))
    assert any(point != "(completed)" for point in landed), landed
    harness.assert_no_leftovers(team.root)


@pytest.mark.parametrize("trial_seed", harness.trial_seeds("sigkill-cli", short=2, long=50))
def test_sigkill_of_reconcile_once_after_a_random_delay(
    team: TeamWorkspace, trial_seed: int
) -> None:
    """The real `team-agent reconcile --once` creating 8 agents, SIGKILLed a random time
    after it took the lock (the delay drawn from the seed, within a pass's length). Then:
    status parses, no duplicate or unmarked window; two CLI passes reach Ready (exit 0)
    with one window per agent; no launch file or status temp file is left behind."""
    rng = harness.rng_for(trial_seed)
    agents = [f"a{i}" for i in range(8)]
    team.spec_path.write_text(harness.sleepers("cli", len(agents), team.socket))
    if rng.random() < 0.5:  # half the trials start from a partly converged team
        team.spec_path.write_text(harness.sleepers("cli", 3, team.socket))
        assert team.cli("reconcile", "--once").returncode in (0, 1)
        team.spec_path.write_text(harness.sleepers("cli", len(agents), team.socket))
    lock = team.root / ".team" / "reconciler.lock"
    before = read_holder(lock)
    proc = subprocess.Popen(
        harness.cli_argv(team.spec_path, "reconcile", "--once"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=team.root,
    )
    try:
        # The pass starts when the holder record appears; kill somewhere inside it.
        retry_until(lambda: read_holder(lock) not in (None, before), timeout=20, interval=0.005)
        time.sleep(rng.uniform(0.0, 0.5))
        proc.send_signal(signal.SIGKILL)
    finally:
        _, stderr = proc.communicate(timeout=30)
    harness.no_traceback(stderr)

    harness.check_status_parses(team.root)
    harness.check_no_duplicates(team.tmux, "team-cli")
    first = team.cli("reconcile", "--once")
    harness.no_traceback(first.stderr)
    if first.returncode != 0:
        second = team.cli("reconcile", "--once")
        assert second.returncode == 0, (first.stdout, second.stdout, second.stderr)
    harness.assert_matches(team.tmux, "team-cli", agents)
    harness.assert_no_leftovers(team.root)


def test_lock_is_free_after_sigkill(team: TeamWorkspace, tmp_path: Path) -> None:
    """A SIGKILLed holder leaves the lock free at once (flock dies with the process):
    the next `reconcile --once --lock-timeout 0` gets it and exits 0, not 3."""
    team.spec_path.write_text(harness.sleepers("lockfree", 2, team.socket))
    child = subprocess.run(
        harness.pass_child_argv(team.spec_path, "sigkill", 4),
        capture_output=True,
        text=True,
        timeout=60,
        env=harness.child_env(),
    )
    assert child.returncode == -signal.SIGKILL, child.stdout
    proc = team.cli("reconcile", "--once", "--wait", "20s", "--lock-timeout", "0")
    assert proc.returncode == 0, proc.stderr


def test_status_temp_file_left_by_a_kill_is_removed(team: TeamWorkspace) -> None:
    """A writer SIGKILLed between its temp file and the rename leaves `.status.*.tmp`
    behind (the random-delay trials found one in about 40 kills): the next status write,
    by the lock holder, removes it."""
    team.spec_path.write_text(harness.sleepers("tmpfile", 1, team.socket))
    state = team.root / ".team"
    state.mkdir(mode=0o700)
    leftover = state / ".status.k1ll3d.tmp"
    leftover.write_text('{"half": ')
    assert team.cli("reconcile", "--once").returncode in (0, 1)
    assert not leftover.exists()
    harness.assert_no_leftovers(team.root)


def test_launch_file_left_by_a_kill_is_removed(team: TeamWorkspace) -> None:
    """A kill inside a create, after the launch file is written and before tmux starts the
    pane that would read (and delete) it, leaves the file with the agent's env values.
    Must hold: a later pass removes launch files no pane can still be about to read
    (here: an hour old)."""
    team.spec_path.write_text(harness.sleepers("launch", 1, team.socket))
    assert team.cli("reconcile", "--once", "--wait", "20s").returncode == 0
    stale = team.root / ".team" / "launch" / "a0-0123456789ab.json"
    stale.write_text('{"argv": ["sleep", "1"], "cwd": "/", "env": {"TOKEN": "secret"}}')
    old = time.time() - 3600
    os.utime(stale, (old, old))
    assert team.cli("reconcile", "--once").returncode == 0
    assert not stale.exists()

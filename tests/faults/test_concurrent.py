"""Two and three reconcilers started together on one workspace.

Attacks: the single-writer promise. Several `team-agent reconcile --once` processes start
within milliseconds of each other on an empty world (so each, unguarded, would create
every window), some willing to wait for the lock and some not (`--lock-timeout 0`); and
`team-agent run` holding the lock while one-shot reconcilers try to get in.

Must hold: never two windows for one agent, never an unmarked window; every process
exits 0 or 1 (it ran a pass) or 3 (it found the lock held), never anything else and
never a traceback; at least one of them ran a pass; the status parses.
"""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from reconciler.api import conditions as C
from tests.conftest import TeamWorkspace, retry_until
from tests.faults import harness


@pytest.mark.parametrize("count", [2, 3])
@pytest.mark.parametrize("trial_seed", harness.trial_seeds("together", short=2, long=50))
def test_reconcilers_started_together_never_duplicate(
    team: TeamWorkspace, count: int, trial_seed: int
) -> None:
    """`count` reconcile --once processes started together (stagger 0-30 ms, drawn from
    the seed) on an empty world, each waiting up to 10 s for the lock or not at all:
    exactly one window per agent, exit codes in {0, 1, 3}."""
    rng = harness.rng_for(trial_seed)
    size = rng.randint(3, 8)
    agents = [f"a{i}" for i in range(size)]
    team.spec_path.write_text(harness.sleepers("together", size, team.socket))
    procs: list[subprocess.Popen[str]] = []
    for _ in range(count):
        timeout = rng.choice(["0", "10s", "10s"])
        procs.append(
            subprocess.Popen(
                harness.cli_argv(team.spec_path, "reconcile", "--once", "--lock-timeout", timeout),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                cwd=team.root,
            )
        )
        time.sleep(rng.uniform(0.0, 0.03))
    codes = []
    for proc in procs:
        _, stderr = proc.communicate(timeout=60)
        harness.no_traceback(stderr)
        codes.append(proc.returncode)
    assert set(codes) <= {0, 1, 3}, codes
    assert any(code in (0, 1) for code in codes), codes

    harness.check_status_parses(team.root)
    counts = harness.check_no_duplicates(team.tmux, "team-together")
    assert set(counts) == set(agents), counts


@pytest.mark.parametrize("trial_seed", harness.trial_seeds("run-and-once", short=1, long=10))
def test_run_holds_the_lock_against_one_shot_reconcilers(
    team: TeamWorkspace, trial_seed: int
) -> None:
    """`team-agent run` and two `reconcile --once --lock-timeout 0.3s` started together:
    the one-shots exit 3 naming the holder (or 0/1 if they won the race, in which case
    `run` waits for them), no agent gets two windows, and the team ends Ready."""
    rng = harness.rng_for(trial_seed)
    size = rng.randint(3, 6)
    team.spec_path.write_text(harness.sleepers("runonce", size, team.socket))
    run = subprocess.Popen(
        harness.cli_argv(team.spec_path, "run", "-q", "--lock-timeout", "20s"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=team.root,
    )
    try:
        time.sleep(rng.uniform(0.0, 0.4))
        onces = [
            subprocess.Popen(
                harness.cli_argv(team.spec_path, "reconcile", "--once", "--lock-timeout", "0.3s"),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                cwd=team.root,
            )
            for _ in range(2)
        ]
        for proc in onces:
            _, stderr = proc.communicate(timeout=60)
            harness.no_traceback(stderr)
            assert proc.returncode in (0, 1, 3), (proc.returncode, stderr)
            if proc.returncode == 3:
                assert "another reconciler holds the lock" in stderr, stderr

        def ready() -> bool:
            status = harness.check_status_parses(team.root)
            return status is not None and C.is_true(status.conditions, C.READY)

        retry_until(ready, timeout=30)
        counts = harness.check_no_duplicates(team.tmux, "team-runonce")
        assert set(counts) == {f"a{i}" for i in range(size)}, counts
        assert run.poll() is None, "run exited"
    finally:
        run.send_signal(signal.SIGTERM)
        _, stderr = run.communicate(timeout=30)
    harness.no_traceback(stderr)
    assert run.returncode == 0, stderr

"""`tmux kill-server` during a pass, and under `team-agent run`.

Attacks: the world vanishing under a reconciler that already observed it. The server is
killed at a point of a pass drawn from the seed (after observing, between two actions,
before the status is written), so the pass acts on panes, windows and a server pid
that no longer exist; and it is killed repeatedly under the `run` loop.

Must hold: the pass ends on its own (no traceback, exit 0, 1 or 4), the status parses,
no agent gets two windows and no unmarked window appears; uninterrupted passes then
reach Ready within two passes with exactly the declared windows; the old agents'
processes are gone (tmux hung them up), so nothing runs twice. Under `run`, the team is
back, Ready, within seconds of each kill and `run` itself keeps running.
"""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from reconciler.api import conditions as C
from tests.conftest import TeamWorkspace, retry_until
from tests.faults import harness


@pytest.mark.parametrize("trial_seed", harness.trial_seeds("kill-server-point", short=2, long=20))
def test_kill_server_at_a_chosen_point_of_the_pass(team: TeamWorkspace, trial_seed: int) -> None:
    """A converged team is edited (agents added, removed, reconfigured) and the next pass
    kills the tmux server at a point drawn from the seed, then carries on."""
    rng = harness.rng_for(trial_seed)
    before_variant = harness.random_variant(rng, None)
    team.spec_path.write_text(before_variant.spec("gone", team.socket))
    harness.converge_within_two_passes(harness.engine_for(team.root, team.socket))
    old = harness.identities(team.tmux, "team-gone")

    variant = harness.random_variant(rng, before_variant)
    team.spec_path.write_text(variant.spec("gone", team.socket))
    index = rng.randrange(5 + 2 * len(variant.agents))
    child = subprocess.run(
        harness.pass_child_argv(team.spec_path, "kill-server", index),
        capture_output=True,
        text=True,
        timeout=60,
        env=harness.child_env(),
    )
    harness.no_traceback(child.stdout, child.stderr)
    assert child.returncode in (0, 1, 4), (child.returncode, child.stdout, child.stderr)
    harness.check_status_parses(team.root)
    harness.check_no_duplicates(team.tmux, "team-gone")

    harness.converge_within_two_passes(harness.engine_for(team.root, team.socket))
    harness.assert_matches(team.tmux, "team-gone", list(variant.agents))
    if "FAULT kill-server" in child.stdout.splitlines():
        retry_until(lambda: not [a for a, p in old.items() if harness.alive(*p)], timeout=10)


@pytest.mark.parametrize("trial_seed", harness.trial_seeds("kill-server-run", short=1, long=5))
def test_kill_server_under_run(team: TeamWorkspace, trial_seed: int) -> None:
    """`team-agent run` with 4 agents; the server is killed 2 (short) or 5 (long) times,
    at delays drawn from the seed: each time every agent is back in one window and Ready
    within 10 s, with new processes; `run` keeps running and exits 0 on SIGTERM."""
    rng = harness.rng_for(trial_seed)
    team.spec_path.write_text(harness.sleepers("rungone", 4, team.socket))
    run = subprocess.Popen(
        harness.cli_argv(team.spec_path, "run", "-q"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=team.root,
    )

    def ready_with(excluded: set[int]) -> bool:
        status = harness.check_status_parses(team.root)
        if status is None or not C.is_true(status.conditions, C.READY):
            return False
        panes = harness.session_panes(team.tmux, "team-rungone")
        pids = {p.pane_pid for p in panes}
        return len(panes) == 4 and not pids & excluded and not any(p.dead for p in panes)

    try:
        retry_until(lambda: ready_with(set()), timeout=20)
        for _ in range(5 if harness.RUN.long else 2):
            time.sleep(rng.uniform(0.0, 1.5))
            old = {pid for pid, _ in harness.identities(team.tmux, "team-rungone").values()}
            team.tmux.kill_server()
            retry_until(lambda old=old: ready_with(old), timeout=10)  # type: ignore[misc]
            harness.check_no_duplicates(team.tmux, "team-rungone")
            assert run.poll() is None, "run exited after the server was killed"
    finally:
        run.send_signal(signal.SIGTERM)
        _, stderr = run.communicate(timeout=30)
    harness.no_traceback(stderr)
    assert run.returncode == 0, stderr

"""Crash-loop backoff as Kubernetes: at once, then 10 s doubling to 300 s, reset after 10 min."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from controllers.agents.backoff import (
    INITIAL_BACKOFF_SEC,
    MAX_BACKOFF_SEC,
    RESET_AFTER_SEC,
    next_restart,
    wants_restart,
)
from reconciler.api.spec import RestartPolicy

EXITED = 1_800_000_000.0  # any epoch second


class RestartCase(NamedTuple):
    test_id: str
    backoff_sec: float  # step recorded at the previous restart
    ran_for: float | None  # seconds between start and exit; None: start unknown
    wait: float  # restart_at - exited_at
    next_backoff_sec: float


RESTART_CASES = [
    RestartCase("first-exit-restarts-at-once", 0, 5, 0, 10),
    RestartCase("second-exit-waits-10", 10, 5, 10, 20),
    RestartCase("then-20", 20, 5, 20, 40),
    RestartCase("then-40", 40, 5, 40, 80),
    RestartCase("then-80", 80, 5, 80, 160),
    RestartCase("then-160-and-next-is-capped", 160, 5, 160, 300),
    RestartCase("capped-at-300", 300, 5, 300, 300),
    RestartCase("unknown-start-never-resets", 300, None, 300, 300),
    RestartCase("ran-just-under-10-min-keeps-backoff", 300, 599.9, 300, 300),
    RestartCase("ran-10-min-resets", 300, 600, 0, 10),
    RestartCase("ran-an-hour-resets", 40, 3600, 0, 10),
    RestartCase("negative-step-is-treated-as-none", -5, 5, 0, 10),
    RestartCase("start-after-exit-is-not-a-reset", 40, -30, 40, 80),
]


@pytest.mark.parametrize("case", RESTART_CASES, ids=[c.test_id for c in RESTART_CASES])
def test_next_restart(case: RestartCase) -> None:
    started = EXITED - case.ran_for if case.ran_for is not None else None

    decision = next_restart(exited_at=EXITED, started_at=started, backoff_sec=case.backoff_sec)

    assert decision.restart_at - EXITED == pytest.approx(case.wait)
    assert decision.next_backoff_sec == case.next_backoff_sec


def test_constants_match_the_design() -> None:
    assert (INITIAL_BACKOFF_SEC, MAX_BACKOFF_SEC, RESET_AFTER_SEC) == (10, 300, 600)


def test_steps_walk_the_kubernetes_sequence() -> None:
    step = 0.0
    waits = []
    for _ in range(9):
        decision = next_restart(exited_at=EXITED, started_at=EXITED - 1, backoff_sec=step)
        waits.append(decision.restart_at - EXITED)
        step = decision.next_backoff_sec
    assert waits == [0, 10, 20, 40, 80, 160, 300, 300, 300]


class PolicyCase(NamedTuple):
    test_id: str
    policy: RestartPolicy
    exit_code: int | None
    want: bool


POLICY_CASES = [
    PolicyCase("always-failure", "Always", 1, True),
    PolicyCase("always-success", "Always", 0, True),
    PolicyCase("always-unknown", "Always", None, True),
    PolicyCase("on-failure-failure", "OnFailure", 1, True),
    PolicyCase("on-failure-signal-like-code", "OnFailure", 137, True),
    PolicyCase("on-failure-success", "OnFailure", 0, False),
    PolicyCase("on-failure-unknown-code-counts-as-failure", "OnFailure", None, True),
    PolicyCase("never-failure", "Never", 1, False),
    PolicyCase("never-success", "Never", 0, False),
    PolicyCase("never-unknown", "Never", None, False),
]


@pytest.mark.parametrize("case", POLICY_CASES, ids=[c.test_id for c in POLICY_CASES])
def test_wants_restart(case: PolicyCase) -> None:
    assert wants_restart(case.policy, case.exit_code) is case.want


def test_a_recorded_step_above_the_cap_waits_at_most_the_cap() -> None:
    # `backoffSec` comes back from status.json (an older version, a hand edit): the wait
    # must still respect the 300 s ceiling of DESIGN.md ("10 s doubling to 300 s").
    decision = next_restart(exited_at=EXITED, started_at=EXITED - 5, backoff_sec=1200)

    assert decision.restart_at - EXITED <= MAX_BACKOFF_SEC
    assert decision.next_backoff_sec == MAX_BACKOFF_SEC

"""Crash-loop backoff, as Kubernetes restarts containers.

The first exit restarts at once; each following exit waits the current step, which starts
at 10 s and doubles up to 300 s; an agent that ran for 10 minutes before it exited is
considered healthy again and restarts at once. The step is carried in the agent's status
(`backoffSec`) rather than in memory, so a restarted reconciler keeps the same backoff.

Pure functions of times passed in: no clock is read here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from reconciler.api.spec import RestartPolicy

INITIAL_BACKOFF_SEC: Final = 10.0
MAX_BACKOFF_SEC: Final = 300.0
RESET_AFTER_SEC: Final = 600.0

@dataclass(frozen=True)
class RestartDecision:
    """When an exited agent may start again, and the backoff step after that restart."""

    restart_at: float  # epoch seconds
    next_backoff_sec: float


def wants_restart(policy: RestartPolicy, exit_code: int | None) -> bool:
    """Whether `restart_policy` asks for a restart after this exit."""
    if policy == "Never":
        return False
    if policy == "OnFailure":
        return exit_code != 0
    return True


def next_restart(
    *, exited_at: float, started_at: float | None, backoff_sec: float
) -> RestartDecision:
    """Decide the restart time of an agent that exited at `exited_at`.

    `backoff_sec` is the step recorded at the previous restart (0 before the first one).
    """
    ran_for = exited_at - started_at if started_at is not None else 0.0
    step = 0.0 if ran_for >= RESET_AFTER_SEC else min(max(backoff_sec, 0.0), MAX_BACKOFF_SEC)
    following = INITIAL_BACKOFF_SEC if step == 0 else min(step * 2, MAX_BACKOFF_SEC)
    return RestartDecision(restart_at=exited_at + step, next_backoff_sec=following)

"""Live agents: readiness, first-run dialogs and session capture of a running process."""

from __future__ import annotations

from controllers.agent_status import StatusBuilder
from controllers.desired import DesiredAgent
from reconciler import conditions as C
from reconciler import patterns
from reconciler.clock import parse_time
from reconciler.patterns import PatternTooSlow
from reconciler.world import Pane, World

READINESS_POLL_SEC = 0.25


def plan_readiness(
    desired: DesiredAgent,
    pane: Pane,
    b: StatusBuilder,
    *,
    world: World,
    same_process: bool,
    started_at: str | None,
) -> float | None:
    """Set `Ready` for a live agent; return seconds until readiness should be looked at."""
    launch = desired.launch
    pattern = launch.readiness_pattern if launch is not None else None
    if pattern is None:
        b.set(C.READY, C.TRUE, C.RUNNING)
        return None
    if same_process and C.is_true(b.previous.conditions, C.READY):
        b.set(C.READY, C.TRUE, C.RUNNING)
        return None
    text = world.captures.get(pane.pane_id, "")
    try:
        seen = patterns.search(pattern, text)
    except PatternTooSlow as err:
        b.set(C.READY, C.FALSE, C.PATTERN_TOO_SLOW, f"readiness: {err}")
        return None
    if seen:
        b.set(C.READY, C.TRUE, C.RUNNING)
        return None
    timeout = desired.agent.readiness.timeout_sec if desired.agent.readiness else 60.0
    waited = (b.now - parse_time(started_at)).total_seconds() if started_at else 0.0
    if waited > timeout:
        b.set(
            C.READY,
            C.FALSE,
            C.READINESS_TIMEOUT,
            f"readiness pattern {pattern!r} not seen after {timeout:g}s",
        )
        return None
    b.set(C.READY, C.FALSE, C.STARTING, f"waiting for readiness pattern {pattern!r}")
    return READINESS_POLL_SEC

"""The team-level summary conditions: `Ready`, `Reconciling`, `Stalled`.

They summarise the agents' conditions the way Kubernetes summarises a Deployment:
`Ready` when every declared, unpaused agent is Ready; `Reconciling` while work is in
flight (actions this pass, agents starting or backing off); `Stalled` when the reconciler
cannot make progress by itself (invalid or missing spec, tmux unusable, a session held by
another workspace). Pure: the inputs are statuses and the plan. (`Degraded`, one
controller left out of a pass, is `reconciler.engine.isolation`'s.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from controllers.base import Stall
from reconciler.api import conditions as C
from reconciler.api.conditions import Condition, set_condition
from reconciler.api.status import AgentStatus


def team_conditions(
    previous: Sequence[Condition],
    agents: Mapping[str, AgentStatus],
    *,
    paused: frozenset[str],
    acted: bool,
    stall: Stall | None,
    now: datetime,
    generation: int,
) -> list[Condition]:
    """The team's next conditions, keeping transition times of unchanged statuses."""

    def make(kind: str, status: C.ConditionStatus, reason: str, message: str = "") -> Condition:
        return C.condition(kind, status, reason, message, now=now, generation=generation)

    active = {name: st for name, st in agents.items() if name not in paused}
    not_ready = sorted(name for name, st in active.items() if not C.is_true(st.conditions, C.READY))
    out = list(previous)

    if stall is not None:
        ready = make(C.READY, C.FALSE, stall.reason, stall.message)
    elif not agents:
        ready = make(C.READY, C.TRUE, C.NO_AGENTS, "the spec declares no agents")
    elif not_ready:
        ready = make(C.READY, C.FALSE, C.AGENTS_NOT_READY, "not ready: " + ", ".join(not_ready))
    else:
        ready = make(C.READY, C.TRUE, C.ALL_AGENTS_READY, f"{len(active)} agents ready")
    out, _ = set_condition(out, ready)

    in_flight = acted or any(
        C.is_true(st.conditions, C.CRASH_LOOP_BACK_OFF)
        or _reason(st.conditions, C.READY) == C.STARTING
        for st in active.values()
    )
    if stall is None and in_flight:
        reconciling = make(C.RECONCILING, C.TRUE, C.APPLYING, "converging towards the spec")
    else:
        reconciling = make(C.RECONCILING, C.FALSE, C.CONVERGED if stall is None else stall.reason)
    out, _ = set_condition(out, reconciling)

    if stall is not None:
        stalled = make(C.STALLED, C.TRUE, stall.reason, stall.message)
    else:
        stalled = make(C.STALLED, C.FALSE, C.CONVERGED if not in_flight else C.APPLYING)
    out, _ = set_condition(out, stalled)
    return out


def _reason(conditions: Sequence[Condition], kind: str) -> str | None:
    found = C.find_condition(conditions, kind)
    return found.reason if found is not None else None

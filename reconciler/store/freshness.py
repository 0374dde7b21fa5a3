"""How old the status is, and what it may still claim: the reader's side of "never lie".

`status.json` is written by a pass (`run`, `reconcile`, `down`) and read at any time
after. Nothing rewrites it once its reconciler is gone: a killed tmux server leaves a file
that still says `Ready=True`, with pids that no longer exist. Kubernetes has the same gap
between a kubelet's last report and the present, and closes it in the reader's favour:
a node that has not reported within its grace period is shown `Unknown`
(`NodeStatusUnknown`, "Kubelet stopped posting node status"), not as it last said.

Here the rule is: a status whose observation is older than the resync interval
(`runtime.resync_interval_sec`, the longest a `run` loop goes without a pass) while no
reconciler holds the workspace lock is *stale*. A reader then shows every condition of
the team, its agents and its leader as `Unknown` with reason `StatusStale`, keeping what
was last seen in the message. The file itself is never rewritten (readers do not write;
the next pass replaces it). A status with no `lastReconcile` was never observed by a pass,
so it is stale as soon as no reconciler holds the workspace.

Everything here is pure (time and the lock holder are inputs) and cheap to import: plain
`team-agent status` and `wait` use it and must not pull in the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

import msgspec

from reconciler.api import conditions as C
from reconciler.api.clock import format_time, parse_time
from reconciler.api.conditions import Condition
from reconciler.api.status import TeamStatus

STATUS_FILE_SOURCE: Final = "status.json"
REFRESH_SOURCE: Final = "refresh"
NO_RECONCILER: Final = "no reconciler holds the workspace"
# `runtime.resync_interval_sec`'s default, for a status read while the spec cannot be loaded.
DEFAULT_RESYNC_SEC: Final = 30.0


@dataclass(frozen=True)
class ReconcilerHolder:
    """The live process holding the workspace lock (from the lock file's record)."""

    pid: int
    acquiredAt: str | None = None  # camelCase: the JSON keys, as in status.json


@dataclass(frozen=True)
class Observation:
    """When what is shown was observed, and whether that may still read as current.

    Printed beside the status by `status -o json|yaml` (key `observation`, `to_json`) so
    monitors decide on the same facts the table shows; never written into `status.json`.
    A dataclass, not a pydantic model: `reconcile --once` imports this module through
    the renderer, and a model class costs milliseconds to build at import.
    """

    source: Literal["status.json", "refresh"]
    observedAt: str | None  # when the last pass started; it observes right away
    ageSec: int | None  # seconds between observedAt and this reading
    resyncIntervalSec: float  # the longest a running `run` goes without a pass
    reconciler: ReconcilerHolder | None  # who holds the workspace lock now, if anyone
    stale: bool  # older than resyncIntervalSec with no reconciler: conditions read Unknown

    def to_json(self) -> dict[str, object]:
        """The `observation` object of `status -o json`, keys as the attributes."""
        return asdict(self)


def assess(
    status: TeamStatus,
    *,
    now: datetime,
    resync_sec: float,
    reconciler: ReconcilerHolder | None,
) -> Observation:
    """The observation behind a status read from `status.json` at `now`.

    A reconciler holding the lock keeps the file current (its next pass is at most one
    resync away, or under way), so its status is never called stale; without one, the
    file goes stale one resync interval after the pass that wrote it observed the world.
    """
    started = status.lastReconcile.startedAt if status.lastReconcile is not None else None
    age = None if started is None else max(0, int((now - parse_time(started)).total_seconds()))
    stale = reconciler is None and (age is None or age > resync_sec)
    return Observation(
        source=STATUS_FILE_SOURCE,
        observedAt=started,
        ageSec=age,
        resyncIntervalSec=resync_sec,
        reconciler=reconciler,
        stale=stale,
    )


def as_seen(status: TeamStatus, observation: Observation, *, now: datetime) -> TeamStatus:
    """`status` as a reader may present it: unchanged when current, all Unknown when stale.

    The stale conditions keep their type; `lastTransitionTime` is the moment the status
    went stale (observed time plus the resync interval; `now` when it was never observed),
    and the message keeps what the last pass saw, so nothing is lost but the claim that
    it is still so.
    """
    if not observation.stale:
        return status
    if observation.observedAt is None:
        since, seen = now, "never observed by a pass"
    else:
        went_stale = parse_time(observation.observedAt) + timedelta(
            seconds=observation.resyncIntervalSec
        )
        since, seen = min(went_stale, now), f"at {observation.observedAt}"

    def unknown(conds: Sequence[Condition]) -> list[Condition]:
        return [
            msgspec.structs.replace(
                c,
                status=C.UNKNOWN,
                reason=C.STATUS_STALE,
                message=f"last observed {c.status} ({c.reason}) {seen}; {NO_RECONCILER}",
                lastTransitionTime=format_time(since),
            )
            if c.reason != C.NOT_DECLARED  # read from the spec, not observed
            else c
            for c in conds
        ]

    agents = {
        name: msgspec.structs.replace(agent, conditions=unknown(agent.conditions))
        for name, agent in status.agents.items()
    }
    leader = msgspec.structs.replace(status.leader, conditions=unknown(status.leader.conditions))
    return msgspec.structs.replace(
        status, conditions=unknown(status.conditions), agents=agents, leader=leader
    )


def as_previewed(
    status: TeamStatus, actions: Sequence[tuple[str, str]], reconciler: ReconcilerHolder | None
) -> TeamStatus:
    """A preview (`status --refresh`) that does not pretend its plan was carried out.

    A pass's reports describe the world as its plan leaves it: an agent whose pane is
    gone reads `Starting, creating its window`. A preview applies nothing, so each agent
    with a planned action gets that action (`actions`: resource and rendered line) in its
    Ready message, and a team `Reconciling=True` says whether anything is there to act.
    """
    planned: dict[str, list[str]] = {}
    for resource, line in actions:
        kind, _, name = resource.partition("/")
        if kind == "agent":
            planned.setdefault(name, []).append(" ".join(line.split()))
    agents = dict(status.agents)
    for name, lines in planned.items():
        agent = agents.get(name)
        ready = C.find_condition(agent.conditions, C.READY) if agent is not None else None
        if agent is None or ready is None or ready.status == C.TRUE:
            continue
        note = f"not done (--refresh applies nothing); a pass would: {'; '.join(lines)}"
        conds, _ = C.set_condition(agent.conditions, msgspec.structs.replace(ready, message=note))
        agents[name] = msgspec.structs.replace(agent, conditions=conds)
    conditions = list(status.conditions)
    reconciling = C.find_condition(conditions, C.RECONCILING)
    if reconciling is not None and reconciling.status == C.TRUE and reconciler is None:
        message = f"{reconciling.message}; but {NO_RECONCILER}".lstrip("; ")
        conditions, _ = C.set_condition(
            conditions, msgspec.structs.replace(reconciling, message=message)
        )
    return msgspec.structs.replace(status, agents=agents, conditions=conditions)


def stale_reason(observation: Observation) -> str:
    """Why a stale status cannot be believed, and what to run, in one clause."""
    if observation.ageSec is None:
        when = "never observed by a pass"
    else:
        when = f"observed {describe_age(observation.ageSec)} ago"
    return (
        f"{when} and {NO_RECONCILER} (`team-agent run` keeps it current; "
        "`team-agent status --refresh` observes now)"
    )


def describe_age(seconds: int) -> str:
    """`42s`, `7m`, `3h`, `2d`: as kubectl's AGE column."""
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"

"""One agent's next status as the agents controller builds it, and the session part of a start.

`StatusBuilder` accumulates conditions with `set_condition`, so a condition re-asserted
with the same status keeps its `lastTransitionTime`, whatever path of the plan set it.
`session_start` asks the sessions logic (`controllers.sessions.plan`) how a start must go
(fresh, resumed, or held because the session was lost and `session.on_lost` is hold).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import msgspec

from controllers.sessions.plan import StartPlan, plan_start
from controllers.sessions.view import ProviderView
from controllers.team.desired import DesiredAgent, DesiredTeam
from reconciler.api import conditions as C
from reconciler.api.conditions import Condition, set_condition
from reconciler.api.status import AgentStatus, AgentStatusUpdate

if TYPE_CHECKING:  # annotations only: no runtime dependency on typing_extensions (3.10)
    from typing_extensions import Unpack


@dataclass
class StatusBuilder:
    """Accumulates one agent's next status; conditions keep their transition times."""

    previous: AgentStatus
    now: datetime
    generation: int
    status: AgentStatusUpdate = field(default_factory=AgentStatusUpdate)
    conditions: list[Condition] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.conditions = list(self.previous.conditions)

    def set(
        self, cond_type: str, status: C.ConditionStatus, reason: str, message: str = ""
    ) -> None:
        new = C.condition(
            cond_type, status, reason, message, now=self.now, generation=self.generation
        )
        self.conditions, _ = set_condition(self.conditions, new)

    def build(
        self, *updates: AgentStatusUpdate, **fields: Unpack[AgentStatusUpdate]
    ) -> AgentStatus:
        """The next status: the previous one with `status`, each of `updates` (the parts a
        helper computed: an exit's fields, a session's) and then `fields` laid over it.

        Converted through the type, not merely replaced: `msgspec.convert` checks each
        field as a decode would (types, bounds, timestamps, one condition per type), so a
        plan that computes a wrong value fails here, in its own pass, naming the field.
        """
        data = msgspec.structs.asdict(self.previous)
        data.update(self.status)
        for update in updates:
            data.update(update)
        data.update(fields)
        data["conditions"] = self.conditions
        return msgspec.convert(msgspec.to_builtins(data), AgentStatus)


@dataclass(frozen=True)
class StartContext:
    """What deciding a start needs besides the agent: the pass's provider view and team."""

    view: ProviderView
    team: DesiredTeam
    installed: Mapping[str, bool]


def session_start(
    desired: DesiredAgent, b: StatusBuilder, view: ProviderView, team: DesiredTeam
) -> StartPlan:
    """The session part of a start (see `controllers.sessions.plan`); sets SessionCaptured."""
    start = plan_start(
        desired,
        b.previous,
        view.transcripts.get(desired.id),
        now=b.now,
        team_id=team.team_id,
        workspace=team.workspace_marker,
    )
    if start.condition is not None:
        b.set(C.SESSION_CAPTURED, *start.condition)
    return start


RESTART_REQUESTED = "restart requested"


def restart_requested(desired: DesiredAgent, prev: AgentStatus) -> bool:
    """The spec asks for a restart this agent's process was not started under.

    Only the cause a plan names and the condition message depend on it: the decision to
    recreate is the config hash's, which holds the request (`LaunchConfig.restart_token`).
    """
    token = desired.launch.restart_token if desired.launch is not None else None
    return token is not None and token != prev.restartedAt


def applied_restart(desired: DesiredAgent) -> AgentStatusUpdate:
    """The status field saying which restart request the process now running was started
    under, for a start planned or a process observed with the spec's config hash."""
    return {"restartedAt": desired.launch.restart_token if desired.launch is not None else None}


def held(
    b: StatusBuilder, *updates: AgentStatusUpdate, **fields: Unpack[AgentStatusUpdate]
) -> AgentStatus:
    """Not started: its session is lost and `session.on_lost` is hold (a person decides)."""
    held = C.find_condition(b.conditions, C.SESSION_CAPTURED)
    b.set(C.READY, C.FALSE, C.SESSION_LOST, held.message if held is not None else "")
    b.set(C.CRASH_LOOP_BACK_OFF, C.FALSE, C.SESSION_LOST)
    return b.build({"pid": None, "pidCreateTime": None}, *updates, fields)

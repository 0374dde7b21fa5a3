"""What a controller is: a pure function from one pass's inputs to a plan and a report.

Every controller (agents, leader, orphans, sessions, ...) sees the same `PassInputs` (the
spec resolved into a `DesiredTeam`, the one world snapshot, the previous status, `now`)
and returns a `ControllerResult`: the actions it wants (a `Plan`) and what it has to say
in the status (a `Report`). The engine runs them in order, applies their plans, and
merges their reports; controllers never write the status or call tmux themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from controllers.leader.observe import LeaderWorld
from controllers.orphans.observe import OrphanFacts
from controllers.sessions.view import EMPTY_VIEW, ProviderView
from controllers.team.desired import DesiredTeam
from controllers.team.summary import Stall
from reconciler.api.actions import Plan
from reconciler.api.conditions import Condition
from reconciler.api.events import EventType
from reconciler.api.status import (
    AgentStatus,
    LeaderStatus,
    MessagesStatus,
    OrphanStatus,
    TeamStatus,
)
from reconciler.observe.world import World
from reconciler.specfile.load import LoadedSpec

if TYPE_CHECKING:  # the store imports sqlite3: a pass without messages never loads it
    from reconciler.store.messages import StoreSnapshot


@dataclass(frozen=True)
class PassInputs:
    """Everything a controller may read; nothing here performs I/O."""

    loaded: LoadedSpec
    team: DesiredTeam
    world: World
    previous: TeamStatus
    now: datetime
    generation: int
    installed: Mapping[str, bool]
    # Observed for the orphans controller (`controllers.orphans.observe`); None: not observed.
    orphan_facts: OrphanFacts | None = None
    # Observed for the leader controller (`controllers.leader.observe`); None: not observed.
    leader: LeaderWorld | None = None
    # Observed for session capture and dialogs (`controllers.sessions.observe`).
    provider_view: ProviderView = EMPTY_VIEW
    # Read from `.team/messages.db` for the messages controller; None: no message ever sent.
    messages: StoreSnapshot | None = None


@dataclass(frozen=True)
class Note:
    """An event a controller decided to emit (the engine stamps time and pass id)."""

    type: EventType
    reason: str
    object: str
    message: str


@dataclass(frozen=True)
class Report:
    """A controller's contribution to the status; None leaves that part as it was."""

    agents: Mapping[str, AgentStatus] | None = None
    leader: LeaderStatus | None = None
    orphans: Sequence[OrphanStatus] | None = None
    team_conditions: tuple[Condition, ...] = ()  # e.g. OrphansFound
    # Conditions laid over agents' statuses after the agents controller's (e.g. Stalled).
    agent_conditions: Mapping[str, tuple[Condition, ...]] | None = None
    messages: MessagesStatus | None = None
    stall: Stall | None = None  # the pass cannot progress: nothing is applied
    notes: tuple[Note, ...] = field(default=())


@dataclass(frozen=True)
class ControllerResult:
    plan: Plan
    report: Report


class Controller(Protocol):
    """One resource's controller."""

    @property
    def name(self) -> str: ...

    def reconcile(self, inputs: PassInputs) -> ControllerResult:
        """Plan and report from `inputs`; pure (no clock, no I/O)."""
        ...

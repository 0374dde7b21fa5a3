"""What a controller is: the plug-in unit of a pass.

A controller owns one resource (agents, the leader, orphans, messages, ...) from end to
end, the way a controller-runtime reconciler or a kopf handler does, and the engine knows
none of them by name (`controllers.registry` lists them). A controller declares:

* what it observes besides the pass's one snapshot (`observe`: its typed facts, e.g. the
  message store's pending work; `screens`: panes whose text it needs, captured for every
  controller in one batched tmux call);
* its plan (`reconcile`, pure: no clock, no I/O) and its part of the status (`Report`);
* the actions it plans and how each is applied (`action_types`, `apply`);
* what applying revealed, laid over its report (`settle`: e.g. a created pane's id).

Facts are shared by type: a controller may read another's facts (`PassInputs.fact`), so
one observation serves every controller that needs it. `ControllerBase` gives each hook a
do-nothing default, so a controller states only what it uses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol, TypeVar

from controllers.team.desired import DesiredTeam
from reconciler.api.actions import Action, Outcome, Plan
from reconciler.api.conditions import Condition
from reconciler.api.events import Note
from reconciler.api.ids import PaneId
from reconciler.api.status import (
    AgentStatus,
    LeaderStatus,
    MessagesStatus,
    OrphanStatus,
    TeamStatus,
)
from reconciler.apply.executor import ApplyContext
from reconciler.observe.tmux import Tmux
from reconciler.observe.world import World
from reconciler.specfile.load import LoadedSpec

F = TypeVar("F")


class Facts:
    """What controllers observed this pass, one value per type (read-only to planners).

    Keyed by type so a reader names what it wants and gets it typed:
    `inputs.fact(StoreSnapshot)` is a `StoreSnapshot | None`; None means not observed
    (nothing to observe, or the observation failed and its controller is left out).
    """

    def __init__(self, values: Iterable[object] = ()) -> None:
        self._by_type: dict[type, object] = {type(v): v for v in values}

    def get(self, kind: type[F]) -> F | None:
        found = self._by_type.get(kind)
        return found if isinstance(found, kind) else None

    def with_value(self, value: object) -> Facts:
        return Facts([*self._by_type.values(), value])

    def __len__(self) -> int:
        return len(self._by_type)


@dataclass(frozen=True)
class ObserveContext:
    """What a controller's observation may use: the snapshot, the servers, the files."""

    loaded: LoadedSpec
    team: DesiredTeam
    world: World
    previous: TeamStatus
    now: datetime
    tmux: Tmux  # the workers' server
    tmux_at: Callable[[str], Tmux]  # another server (the leader's), by socket path
    state_dir: Path
    env: Mapping[str, str]
    facts: Facts = field(default_factory=Facts)  # observed earlier in this pass

    def fact(self, kind: type[F]) -> F | None:
        return self.facts.get(kind)


@dataclass(frozen=True)
class PassInputs:
    """Everything a controller's plan may read; nothing here performs I/O."""

    loaded: LoadedSpec
    team: DesiredTeam
    world: World
    previous: TeamStatus
    now: datetime
    generation: int
    installed: Mapping[str, bool]
    facts: Facts = field(default_factory=Facts)

    def fact(self, kind: type[F]) -> F | None:
        return self.facts.get(kind)


@dataclass(frozen=True)
class Stall:
    """Why the reconciler cannot progress (reason is a condition reason)."""

    reason: str
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


@dataclass(frozen=True)
class Settled:
    """What `settle` sees: the report it made, and the outcomes of its own actions."""

    report: Report
    outcomes: tuple[Outcome, ...]
    now: datetime
    generation: int


class Controller(Protocol):
    """One resource's controller (see the module docstring)."""

    @property
    def name(self) -> str: ...

    @property
    def action_types(self) -> tuple[type, ...]:
        """The action classes this controller plans; the executor routes them to `apply`."""
        ...

    def observe(self, ctx: ObserveContext) -> object | None:
        """Its own facts (None: nothing to observe). May raise: the controller is left out."""
        ...

    def screens(self, ctx: ObserveContext) -> Iterable[PaneId]:
        """Panes whose text this pass's plan needs (captured for all in one tmux call)."""
        ...

    def reconcile(self, inputs: PassInputs) -> ControllerResult:
        """Plan and report from `inputs`; pure (no clock, no I/O)."""
        ...

    def apply(self, action: Action, ctx: ApplyContext) -> Outcome:
        """Carry out one of its actions; a failure raises `TeamAgentError` or `OSError`."""
        ...

    def settle(self, settled: Settled) -> Report:
        """Its report with what applying revealed (new pane ids, failures)."""
        ...


class ControllerBase:
    """Defaults for every hook but `reconcile`: no facts, no screens, no actions."""

    name = "controller"
    action_types: tuple[type, ...] = ()

    def observe(self, ctx: ObserveContext) -> object | None:
        return None

    def screens(self, ctx: ObserveContext) -> Iterable[PaneId]:
        return ()

    def reconcile(self, inputs: PassInputs) -> ControllerResult:
        raise NotImplementedError

    def apply(self, action: Action, ctx: ApplyContext) -> Outcome:
        msg = f"{self.name} controller plans no {type(action).__name__}"
        raise TypeError(msg)

    def settle(self, settled: Settled) -> Report:
        return settled.report

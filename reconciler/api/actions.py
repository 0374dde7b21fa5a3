"""Actions: what a pass will do, as plain data.

Each controller declares its own action classes (`controllers/<resource>/actions.py`) and
applies them itself; the engine and the executor see only this protocol. An action names
its `resource` (`agent/impl`) and its `cause` ("missing", "config changed", ...), renders
to one line for `team-agent plan`, names the event reason it is reported under (`verb`),
and carries everything its handler needs, so the handler makes no decision of its own
(the docker compose `plan.go` / `executor.go` split).

`requires` names resources whose actions in the same plan must succeed first (compose's
`depends_on`): when one of them fails, or is itself skipped, the executor skips this one
and reports why instead of acting on a world that is not there.

Process identity travels with every action that may signal: the pid *and* its create time,
re-checked right before the signal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol


@dataclass(frozen=True)
class ProcessRef:
    """A process as observed: pid plus create time, so a recycled pid is never signalled."""

    pid: int
    create_time: float


class Action(Protocol):
    """What the engine, the executor and `team-agent plan` know of any action."""

    verb: ClassVar[str]  # the event reason when it is done: "Created", "Reaped", ...

    @property
    def resource(self) -> str: ...

    @property
    def cause(self) -> str: ...

    @property
    def requires(self) -> tuple[str, ...]: ...

    def render(self) -> str: ...


@dataclass(frozen=True)
class Plan:
    """The actions of one pass, in the order they will be applied, and when to look again."""

    actions: tuple[Action, ...] = ()
    requeue_after: float | None = None

    @property
    def empty(self) -> bool:
        return not self.actions

    def render(self) -> str:
        """What `team-agent plan` prints: one line per action, or a line saying nothing."""
        if not self.actions:
            return "no changes: the world matches the spec"
        return "\n".join(action.render() for action in self.actions)


def merge_plans(plans: Sequence[Plan]) -> Plan:
    """Concatenate plans; the earliest requeue wins."""
    requeues = [p.requeue_after for p in plans if p.requeue_after is not None]
    return Plan(
        actions=tuple(a for p in plans for a in p.actions),
        requeue_after=min(requeues) if requeues else None,
    )


@dataclass(frozen=True)
class Outcome:
    """The result of one action: done, or failed with a message (never an exception)."""

    action: Action
    ok: bool
    message: str = ""
    pane_id: str | None = None
    window_id: str | None = None
    quiet: bool = False  # nothing changed (a delivery deferred): no event, not "Reconciling"
    retry_after: float | None = None  # deferred: the pass should look again this soon
    skipped: bool = False  # not run: a resource it requires failed earlier in the plan

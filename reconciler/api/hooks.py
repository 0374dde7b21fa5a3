"""Pass hooks: named points of a pass where a caller may look in.

A pass moves through fixed points: the spec loaded, the world observed, the plan made,
each action about to be applied and just applied, the status written. `PassHooks` is told
each time one is reached. Production passes none (`Engine.hooks` is None); the
fault-injection suite (tests/faults) passes one that SIGKILLs its own process, or kills
the tmux server, at a point chosen by a seeded RNG, so a crash lands exactly between two
steps and a failing trial reproduces from its seed.

Why a hook object passed in, not a patch: the points are part of the engine's own
description of a pass (they are the places a crash can leave the world), they cost one
`None` check each, and tests that need them use the public `Engine` and `apply_plan`
arguments rather than replacing private names.
"""

from __future__ import annotations

from typing import Final, Literal, Protocol

from reconciler.api.actions import Action

PassPoint = Literal[
    "loaded",
    "observed",
    "planned",
    "action",
    "pasted",
    "entering",
    "entered",
    "applied",
    "applied-all",
    "written",
]

LOADED: Final = "loaded"  # the spec is valid; nothing observed yet
OBSERVED: Final = "observed"  # the snapshot is taken; nothing planned yet
PLANNED: Final = "planned"  # every controller planned; nothing applied yet
ACTION: Final = "action"  # `action` is about to be applied
# Inside a `DeliverMessage` (controllers.messages.deliver): the message is on screen;
# Enter is about to be pressed (the store already says so); Enter was pressed.
PASTED: Final = "pasted"
ENTERING: Final = "entering"
ENTERED: Final = "entered"
APPLIED: Final = "applied"  # `action` was applied (or failed); the next one is not started
APPLIED_ALL: Final = "applied-all"  # every action is done; events and status not yet written
WRITTEN: Final = "written"  # the status of the pass is on disk


class PassHooks(Protocol):
    """Told when a pass reaches each point; it may raise, block or end the process."""

    def reached(self, point: PassPoint, action: Action | None) -> None:
        """`action` is the action for `ACTION`, `APPLIED` and the delivery points."""
        ...

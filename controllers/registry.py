"""The one list of controllers, and the door through which the engine reaches them.

The engine imports this module (and the contract in `controllers.base`) and nothing else
of `controllers/`: adding a controller is adding it here. Order matters twice: it is the
order controllers observe in (a later one may read an earlier one's facts) and the order
their plans are applied in (agents first, so a message is delivered to an agent started
in the same pass only once its pane exists; the messages controller last).

`desired_team` and `installed_executables` resolve the spec for every controller (the
providers' knowledge of each CLI); the engine calls them before observing.
"""

from __future__ import annotations

from controllers.agents.controller import AgentsController
from controllers.base import Controller
from controllers.leader.controller import LeaderController
from controllers.messages.controller import MessagesController
from controllers.orphans.controller import OrphansController
from controllers.team.desired import desired_team, installed_executables

__all__ = ["default_controllers", "desired_team", "installed_executables"]


def default_controllers() -> tuple[Controller, ...]:
    """The controllers of a pass, in the order they observe and their plans are applied."""
    return (AgentsController(), OrphansController(), LeaderController(), MessagesController())

"""What applying revealed about agents, laid over the agents controller's report.

A plan cannot know a pane id tmux has not assigned yet, nor whether an action will fail:
the engine hands the agents controller the outcomes of its own actions after applying,
and this folds them into the agents' statuses (a created pane's ids; `Ready=False,
ApplyFailed` with the failure; a dialog answer that typed nothing is forgotten, so the
next pass may answer again, on the same terms).
"""

from __future__ import annotations

from dataclasses import replace

import msgspec

from controllers.agents.actions import CreateAgent, RecreateAgent, RestartAgent, SendKeys
from controllers.base import Report, Settled
from reconciler.api import conditions as C


def settle_agents(settled: Settled) -> Report:
    """The agents controller's report with its outcomes folded in."""
    report = settled.report
    if report.agents is None:
        return report
    folded = dict(report.agents)
    for outcome in settled.outcomes:
        action = outcome.action
        name = getattr(action, "agent", None)
        if name not in folded:
            continue
        current = folded[name]
        if isinstance(action, SendKeys):
            if not outcome.ok:  # nothing was typed
                folded[name] = msgspec.structs.replace(current, dialogAnsweredPid=None)
            continue
        if not isinstance(action, (CreateAgent, RestartAgent, RecreateAgent)):
            continue
        if outcome.ok:
            if isinstance(action, CreateAgent):
                folded[name] = msgspec.structs.replace(
                    current, paneId=outcome.pane_id, windowId=outcome.window_id
                )
            continue
        failed = C.condition(
            C.READY,
            C.FALSE,
            C.APPLY_FAILED,
            outcome.message,
            now=settled.now,
            generation=settled.generation,
        )
        conditions, _ = C.set_condition(current.conditions, failed)
        folded[name] = msgspec.structs.replace(current, conditions=conditions)
    return replace(report, agents=folded)

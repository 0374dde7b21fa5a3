"""The orphans controller as the engine runs it: observe, plan (`plan_orphans`), reap.

`reap` forces reaping (`team-agent orphans --reap`); None follows `orphans.policy`. Its
observation (`observe_orphans`: a few candidates' environments, lock files and
workspaces, no tmux call) fails alone: the controller is then left out of the pass.
"""

from __future__ import annotations

from controllers.base import ControllerBase, ControllerResult, ObserveContext, PassInputs, Report
from controllers.orphans.actions import ReapOrphan
from controllers.orphans.observe import OrphanFacts, observe_orphans
from controllers.orphans.plan import plan_orphans
from controllers.orphans.reap import reap_orphan
from reconciler.api.actions import Action, Outcome, Plan
from reconciler.apply.executor import ApplyContext


class OrphansController(ControllerBase):
    """Find what a dead or changed team left behind; reap it when asked (docs/orphans.md)."""

    name = "orphans"
    action_types = (ReapOrphan,)

    def __init__(self, *, reap: bool | None = None) -> None:
        self.reap = reap

    def observe(self, ctx: ObserveContext) -> OrphanFacts:
        return observe_orphans(
            ctx.world,
            team_id=ctx.team.team_id,
            workspace=ctx.team.workspace_marker,
            socket_name=ctx.tmux.socket_name,
            previous=ctx.previous,
        )

    def reconcile(self, inputs: PassInputs) -> ControllerResult:
        facts = inputs.fact(OrphanFacts)
        if facts is None:
            return ControllerResult(plan=Plan(), report=Report())
        reap = self.reap if self.reap is not None else inputs.loaded.spec.orphans.policy == "reap"
        result = plan_orphans(
            inputs.team,
            inputs.world,
            facts,
            inputs.previous,
            reap=reap,
            now=inputs.now,
            generation=inputs.generation,
        )
        report = Report(
            orphans=[o.status for o in result.orphans],
            team_conditions=(result.condition,),
            notes=result.notes,
        )
        return ControllerResult(plan=result.plan, report=report)

    def apply(self, action: Action, ctx: ApplyContext) -> Outcome:
        """Reap one orphan; the checks at the moment of acting are `reap_orphan`'s."""
        if not isinstance(action, ReapOrphan):
            return super().apply(action, ctx)
        done = reap_orphan(action, ctx.tmux)
        pane = action.panes[0].pane if action.panes else None
        return Outcome(action=action, ok=True, message=done, pane_id=pane, window_id=action.window)

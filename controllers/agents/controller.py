"""The agents controller as the engine runs it: observe, plan (`plan_agents`), apply, settle.

It owns one tmux window per declared agent. Its observation is the provider sessions'
transcripts (`controllers.sessions.observe`: a stat each, no tmux call); it asks for the
screens of agents not yet Ready or with open work; its plan is `plan_agents` (pure); its
actions are applied by `controllers.agents.handlers`; and it settles its report with what
applying revealed (`controllers.agents.settle`).
"""

from __future__ import annotations

from controllers.agents.actions import AGENT_ACTIONS
from controllers.agents.handlers import apply_agent_action
from controllers.agents.panes import panes_to_capture, working_agents
from controllers.agents.plan import plan_agents
from controllers.agents.settle import settle_agents
from controllers.base import (
    ControllerBase,
    ControllerResult,
    ObserveContext,
    PassInputs,
    Report,
    Settled,
    Stall,
)
from controllers.sessions.observe import observe_provider_view
from controllers.sessions.plan import session_notes
from controllers.sessions.view import EMPTY_VIEW, ProviderView
from reconciler.api import conditions as C
from reconciler.api.actions import Action, Outcome, Plan
from reconciler.api.ids import PaneId
from reconciler.apply.executor import ApplyContext
from reconciler.store.records import StoreSnapshot


class AgentsController(ControllerBase):
    """Keep one window per declared agent, restarted with backoff (module docstring)."""

    name = "agents"
    action_types = AGENT_ACTIONS

    def observe(self, ctx: ObserveContext) -> ProviderView:
        """The session transcripts of agents that need looking at: a stat each, no tmux."""
        return observe_provider_view(
            ctx.team,
            ctx.world,
            ctx.previous,
            env=ctx.env,
            spec_auto_trust=ctx.loaded.spec.runtime.auto_trust_own_workspace,
        )

    def screens(self, ctx: ObserveContext) -> list[PaneId]:
        working = working_agents(ctx.team, ctx.world, ctx.previous, ctx.fact(StoreSnapshot))
        return panes_to_capture(ctx.team, ctx.world, ctx.previous, working)

    def reconcile(self, inputs: PassInputs) -> ControllerResult:
        result = plan_agents(
            inputs.team,
            inputs.world,
            inputs.previous,
            now=inputs.now,
            generation=inputs.generation,
            installed=inputs.installed,
            provider_view=inputs.fact(ProviderView) or EMPTY_VIEW,
        )
        if result.session_conflict is not None:
            return ControllerResult(
                plan=Plan(), report=Report(stall=Stall(C.SESSION_CONFLICT, result.session_conflict))
            )
        notes = tuple(session_notes(inputs.previous.agents, result.agents))
        return ControllerResult(plan=result.plan, report=Report(agents=result.agents, notes=notes))

    def apply(self, action: Action, ctx: ApplyContext) -> Outcome:
        if not isinstance(action, AGENT_ACTIONS):
            return super().apply(action, ctx)
        return apply_agent_action(action, ctx)

    def settle(self, settled: Settled) -> Report:
        return settle_agents(settled)

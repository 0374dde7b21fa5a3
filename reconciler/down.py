"""`team-agent down`: stop every agent pane this team owns, and nothing else.

Ownership is the markers (team id *and* workspace), in any session of the server, so a
team whose session was renamed is still brought down completely. A pane that carries a
leader marker is never stopped, even if it also carried agent markers. The status is
updated under the same lock, so monitors see the agents as stopped rather than stale.
"""

from __future__ import annotations

from datetime import datetime, timezone

from controllers.agent_panes import stop_pane
from reconciler import conditions as C
from reconciler.apply import ApplyContext, apply_plan
from reconciler.specfile import LoadedSpec
from reconciler.status import StatusStore, ensure_state_dir
from reconciler.tmux import Tmux
from reconciler.world import observe


def down_team(loaded: LoadedSpec, tmux: Tmux, *, python: str) -> tuple[list[str], list[str]]:
    """Stop the team's agents; returns (stopped, failed) descriptions."""
    spec = loaded.spec
    workspace = str(loaded.workspace)
    world = observe(tmux)
    panes = sorted(
        (p for p in world.owned_panes(spec.team_id, workspace) if not p.leader_uuid),
        key=lambda p: (p.agent, p.pane_number),
    )
    actions = [
        stop_pane(p, world, grace_sec=spec.runtime.stop_grace_sec, cause="down") for p in panes
    ]
    state = ensure_state_dir(loaded.workspace)
    ctx = ApplyContext(
        tmux=tmux,
        world=world,
        team_id=spec.team_id,
        workspace=workspace,
        state_dir=state,
        python=python,
    )
    outcomes = apply_plan(actions, ctx)
    _record(loaded, state)
    stopped = [f"{o.action.resource} ({o.pane_id})" for o in outcomes if o.ok]
    failed = [f"{o.action.resource}: {o.message}" for o in outcomes if not o.ok]
    return stopped, failed


def _record(loaded: LoadedSpec, state: object) -> None:
    """Mark every agent `Ready=False, reason=Stopped` and the team not Ready."""
    store = StatusStore(loaded.workspace / ".team")
    status = store.read()
    if status is None:
        return
    now = datetime.now(timezone.utc)
    gen = status.generation
    agents = {}
    for name, agent in status.agents.items():
        conds, _ = C.set_condition(
            agent.conditions,
            C.condition(
                C.READY, C.FALSE, C.STOPPED, "stopped by team-agent down", now=now, generation=gen
            ),
        )
        agents[name] = agent.model_copy(
            update={
                "conditions": conds,
                "pid": None,
                "pidCreateTime": None,
                "paneId": None,
                "windowId": None,
            }
        )
    conds, _ = C.set_condition(
        status.conditions,
        C.condition(
            C.READY, C.FALSE, C.STOPPED, "the team was brought down", now=now, generation=gen
        ),
    )
    store.write(status.model_copy(update={"agents": agents, "conditions": conds}))

"""`team-agent down`: stop every agent pane this team owns, and nothing else.

Ownership is the markers (workspace, with this team id or, for a team renamed since the
last pass, its former one: a workspace holds one team), in any session of the server, so
a team whose session was renamed is still brought down completely. A pane that carries a
leader marker is never stopped, even if it also carried agent markers. Nor is a pane a
person respawned with their own command (`Pane.taken_over`): it is only released
(unmarked), and what runs there is never signalled. The status is
updated under the same lock, so monitors see the agents as stopped rather than stale.

Then what the agents started outside their panes' process groups, and which would
otherwise outlive the team: a tool command Claude Code was running (its own session,
measured on 2.1.197), a Copilot tool started in the background. Such a process still
carries this team's identity in its environment (`TEAM_AGENT_TEAM_ID` and
`TEAM_AGENT_WORKSPACE`), so the orphans detection (`controllers.orphans.rules`) finds it
once its pane is gone, and `down` reaps exactly those of this team and workspace, with
the same pid and create-time re-check before every signal. Another team's processes and
the person's are never touched.
"""

from __future__ import annotations

from datetime import datetime, timezone

import msgspec

from controllers.agents.controller import AgentsController
from controllers.agents.panes import release_pane, stop_pane
from controllers.orphans.actions import ReapOrphan
from controllers.orphans.controller import OrphansController
from controllers.orphans.observe import observe_orphans
from controllers.orphans.rules import process_orphans
from controllers.team.desired import desired_team
from reconciler.api import conditions as C
from reconciler.api.actions import Action
from reconciler.api.status import TeamStatus
from reconciler.apply.executor import ApplyContext, apply_plan
from reconciler.observe.tmux import Tmux
from reconciler.observe.world import observe
from reconciler.specfile.load import LoadedSpec
from reconciler.store.statusfile import StatusStore, ensure_state_dir

LEFTOVER_ROUNDS = 3
# Stops applied at once: each is a few tmux calls and a wait; tmux serialises the calls.
STOP_CONCURRENCY = 16


def down_team(loaded: LoadedSpec, tmux: Tmux, *, python: str) -> tuple[list[str], list[str]]:
    """Stop the team's agents; returns (stopped, failed) descriptions."""
    spec = loaded.spec
    workspace = str(loaded.workspace)
    world = observe(tmux)
    # This workspace's agents under any team id: one renamed since the last pass is still
    # this team (`former_panes`). Never a leader pane (`Pane.of_workspace`).
    panes = sorted(
        (p for p in world.panes if p.of_workspace(workspace)),
        key=lambda p: (p.agent, p.pane_number),
    )
    taken = sorted(
        world.taken_over_panes(spec.team_id, workspace), key=lambda p: (p.agent, p.pane_number)
    )
    actions: list[Action] = [release_pane(p, world) for p in taken]
    actions += [
        stop_pane(
            p,
            world,
            grace_sec=spec.runtime.stop_grace_sec,
            cause="down",
            former=p.team != spec.team_id,
        )
        for p in panes
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
    appliers = (AgentsController(), OrphansController())
    # The stops are independent, and each may wait out the grace period: at once, not
    # one after another (issue 16: fifty agents took seconds).
    outcomes = apply_plan(actions, ctx, appliers, concurrency=STOP_CONCURRENCY)
    # Again while some are found: a tool's own children (Claude's `bash -c` runs the
    # command as its child) become orphans only once the tool process is gone.
    for _ in range(LEFTOVER_ROUNDS):
        reaps = _leftovers(loaded, tmux, python=python)
        if not reaps:
            break
        outcomes += apply_plan(reaps, ctx, appliers)
    _record(loaded, state)
    stopped = [f"{o.action.resource} ({o.pane_id})" for o in outcomes if o.ok]
    failed = [f"{o.action.resource}: {o.message}" for o in outcomes if not o.ok]
    return stopped, failed


def _leftovers(loaded: LoadedSpec, tmux: Tmux, *, python: str) -> list[ReapOrphan]:
    """Reap actions for this team's own processes that outlived their panes."""
    spec = loaded.spec
    workspace = str(loaded.workspace)
    world = observe(tmux)
    previous = StatusStore(loaded.workspace / ".team").read() or TeamStatus.empty(spec.team_id)
    facts = observe_orphans(
        world,
        team_id=spec.team_id,
        workspace=workspace,
        socket_name=tmux.socket_name,
        previous=previous,
    )
    ours = {p.pid for p in facts.processes if p.team == spec.team_id and p.workspace == workspace}
    team = desired_team(spec, loaded.workspace, python=python)
    return [
        o.action
        for o in process_orphans(team, world, facts)
        if o.action.process is not None and o.action.process.pid in ours
    ]


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
        agents[name] = msgspec.structs.replace(
            agent, conditions=conds, pid=None, pidCreateTime=None, paneId=None, windowId=None
        )
    conds, _ = C.set_condition(
        status.conditions,
        C.condition(
            C.READY, C.FALSE, C.STOPPED, "the team was brought down", now=now, generation=gen
        ),
    )
    store.write(msgspec.structs.replace(status, agents=agents, conditions=conds))

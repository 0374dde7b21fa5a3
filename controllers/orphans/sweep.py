"""Finding and reaping a team's orphans outside a pass: `team-agent orphans [--reap]`.

The orphans controller plans reaps inside a pass only with `orphans.policy: reap`. A
person who asks for one reap (`orphans --reap`) gets the same detection and the same
safety checks, but only the `ReapOrphan` actions are applied: no agent is created,
restarted or stopped, no generation is claimed as observed. Two callers need exactly
that: the verb itself when it holds the workspace lock, and the `run` loop when the verb
asks it to reap (`reconciler.engine.requests`: `run` holds the lock). Both call these functions
under the lock; they raise (`TmuxUnavailable`, `StateUnwritable`) rather than exit, so the
loop survives them and answers with the error.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import msgspec

from controllers.orphans.controller import OrphansController
from controllers.orphans.observe import observe_orphans
from controllers.orphans.plan import OrphansResult, orphans_condition, plan_orphans
from controllers.team.desired import desired_team
from reconciler.api import conditions as C
from reconciler.api.actions import Outcome
from reconciler.api.events import outcome_note, to_event
from reconciler.api.status import TeamStatus
from reconciler.apply.executor import ApplyContext, apply_plan
from reconciler.observe.tmux import Tmux
from reconciler.observe.world import World, observe
from reconciler.specfile.load import LoadedSpec
from reconciler.store.eventlog import EventLog
from reconciler.store.statusfile import StatusStore, ensure_state_dir


def find_orphans(
    loaded: LoadedSpec, tmux: Tmux, current: TeamStatus | None, *, reap: bool, python: str
) -> tuple[World, OrphansResult]:
    """One snapshot, the orphan observation, the orphans controller's plan.

    Raises `TmuxUnavailable` when the server cannot be observed.
    """
    previous = current or TeamStatus.empty(loaded.spec.team_id)
    team = desired_team(loaded.spec, loaded.workspace, python=python)
    world = observe(tmux)
    facts = observe_orphans(
        world,
        team_id=team.team_id,
        workspace=team.workspace_marker,
        socket_name=tmux.socket_name,
        previous=previous,
    )
    found = plan_orphans(
        team,
        world,
        facts,
        previous,
        reap=reap,
        now=datetime.now(timezone.utc),
        generation=previous.generation,
    )
    return world, found


def reap_orphans(
    loaded: LoadedSpec, tmux: Tmux, current: TeamStatus | None, *, python: str
) -> tuple[OrphansResult, list[Outcome]]:
    """Apply the reaps (under the caller's lock) and record events and what is left.

    Raises `TmuxUnavailable` and `StateUnwritable`.
    """
    world, found = find_orphans(loaded, tmux, current, reap=True, python=python)
    state = ensure_state_dir(loaded.workspace)
    spec = loaded.spec
    ctx = ApplyContext(
        tmux=tmux,
        world=world,
        team_id=spec.team_id,
        workspace=str(loaded.workspace),
        state_dir=state,
        python=python,
    )
    outcomes = apply_plan(found.plan.actions, ctx, (OrphansController(),))

    now = datetime.now(timezone.utc)
    generation = current.generation if current else None
    reconcile_id = uuid.uuid4().hex[:12]
    log = EventLog(state)
    for note in [*found.notes, *(outcome_note(o) for o in outcomes)]:
        log.append(to_event(note, now=now, generation=generation, reconcile_id=reconcile_id))
    if current is not None:
        failed = {o.action.resource for o in outcomes if not o.ok}
        left = [o for o in found.orphans if o.action.resource in failed]
        cond = orphans_condition(left, reap=False, now=now, generation=current.generation)
        conditions, _ = C.set_condition(current.conditions, cond)
        orphans = [o.status for o in left]
        StatusStore(state).write(
            msgspec.structs.replace(current, orphans=orphans, conditions=conditions)
        )
    return found, outcomes

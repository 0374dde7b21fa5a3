"""`team-agent orphans [-o json] [--reap]`: what a dead or changed team left behind.

Without `--reap` it only looks, like `plan`: no lock, no status write, nothing signalled
or killed. It takes one snapshot, observes what orphan detection needs
(`reconciler.orphanscan`), runs the orphans controller's pure plan and prints every
orphan with why it is one. Exit 0 when there is none, 1 when there are some.

With `--reap` it holds the workspace lock (exit 3 while a `team-agent run` holds it: set
`orphans.policy: reap` in the spec instead), plans the same way with reaping forced,
applies only those `ReapOrphan` actions, and records the result as `down` does: one
event per reaped orphan (and per refusal), and `status.orphans` / `OrphansFound` updated
to what is left. Nothing else about the team changes (no agent is created, restarted or
stopped, no generation is claimed as observed). Exit 0 when every orphan was reaped, 1
when one was not (the message says why: it changed since it was seen, it is held by a
live process, ...).
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Sequence
from datetime import datetime, timezone

import click

from controllers.desired import desired_team
from controllers.orphans import OrphansResult, orphans_condition, plan_orphans
from reconciler import conditions as C
from reconciler.actions import ReapOrphan
from reconciler.apply import ApplyContext, Outcome, apply_plan
from reconciler.cliutil import Locked, console, fail, read_status, target
from reconciler.engine import EXIT_NOT_READY, EXIT_READY, EXIT_UNUSABLE
from reconciler.errors import StateUnwritable, TmuxUnavailable
from reconciler.events import EventLog
from reconciler.orphanscan import observe_orphans
from reconciler.reporting import outcome_note, to_event
from reconciler.specfile import LoadedSpec
from reconciler.status import OrphanStatus, StatusStore, TeamStatus, ensure_state_dir
from reconciler.tmux import Tmux
from reconciler.world import World, observe


@click.command()
@click.option("-o", "--output", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option("--reap", is_flag=True, help="Reap them (SIGTERM, grace, SIGKILL; kill panes).")
@click.option("--lock-timeout", default="10s", show_default=True, help="With --reap.")
@click.pass_context
def orphans(ctx: click.Context, fmt: str, reap: bool, lock_timeout: str) -> None:
    """List what a dead or changed team left behind; --reap removes it. Exit 0 none, 1 some."""
    t = target(ctx)
    loaded = t.require_spec()
    tmux = Tmux(socket_name=t.socket)
    if not reap:
        _, found = _find(loaded, tmux, read_status(t), reap=False)
        _print([o.status for o in found.orphans], [], fmt)
        sys.exit(EXIT_NOT_READY if found.orphans else EXIT_READY)
    with Locked(t, lock_timeout):
        found, outcomes = _reap(loaded, tmux, read_status(t))
    _print([o.status for o in found.orphans], outcomes, fmt)
    sys.exit(EXIT_READY if all(o.ok for o in outcomes) else EXIT_NOT_READY)


def _find(
    loaded: LoadedSpec, tmux: Tmux, current: TeamStatus | None, *, reap: bool
) -> tuple[World, OrphansResult]:
    """One snapshot, the orphan observation, the orphans controller's plan."""
    previous = current or TeamStatus.empty(loaded.spec.team_id)
    team = desired_team(loaded.spec, loaded.workspace, python=sys.executable)
    try:
        world = observe(tmux)
    except TmuxUnavailable as err:
        fail(str(err), EXIT_UNUSABLE)
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


def _reap(
    loaded: LoadedSpec, tmux: Tmux, current: TeamStatus | None
) -> tuple[OrphansResult, list[Outcome]]:
    """Apply the reaps (under the caller's lock) and record events and what is left."""
    world, found = _find(loaded, tmux, current, reap=True)
    try:
        state = ensure_state_dir(loaded.workspace)
    except StateUnwritable as err:
        fail(str(err), EXIT_UNUSABLE)
    spec = loaded.spec
    workspace = str(loaded.workspace)
    ctx = ApplyContext(
        tmux=tmux,
        world=world,
        team_id=spec.team_id,
        workspace=workspace,
        state_dir=state,
        python=sys.executable,
    )
    outcomes = apply_plan(found.plan.actions, ctx)

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
        update = {"orphans": [o.status for o in left], "conditions": conditions}
        StatusStore(state).write(current.model_copy(update=update))
    return found, outcomes


def _print(found: Sequence[OrphanStatus], outcomes: Sequence[Outcome], fmt: str) -> None:
    if fmt == "json":
        data = {
            "count": len(found),
            "orphans": [o.model_dump(mode="json") for o in found],
            "reaped": [
                {"resource": o.action.resource, "ok": o.ok, "message": o.message}
                for o in outcomes
                if isinstance(o.action, ReapOrphan)
            ],
        }
        click.echo(json.dumps(data, indent=2))
        return
    out = console()
    if not found:
        out.print("no orphans", highlight=False)
    for orphan in found:
        what = orphan.paneId if orphan.pid is None else f"pid {orphan.pid}"
        if orphan.kind == "session":
            what = f"session {orphan.session}"
        out.print(f"{orphan.kind:8} {what}  {orphan.reason}", highlight=False, markup=False)
        out.print(f"         marker: {orphan.marker}", highlight=False, markup=False)
    for outcome in outcomes:
        verdict = "reaped" if outcome.ok else "FAILED"
        line = f"{verdict:8} {outcome.action.resource}: {outcome.message}"
        out.print(line, highlight=False, markup=False)

"""What the `run` loop does for a verb's request (`reconciler.engine.requests`), between passes.

Each handler does exactly what the verb does when it holds the lock itself (the same
functions: `controllers.team.down.down_team`, `controllers.orphans.sweep.reap_orphans`), on the
loop's own tmux server, with the spec as it is now (or, when it is broken, the last good
one `run` keeps in force), so a `down` under `run` stops the same panes a `down` without
it would. Errors the verb would report (tmux unusable, state folder unwritable, a corrupt
status) become the answer's `error`, never an exception. A `down` ends the loop even when
it failed: the person asked for the team to stay down, and a loop that went on would
recreate whatever it had already stopped.
"""

from __future__ import annotations

import os

from controllers.orphans.actions import ReapOrphan
from controllers.orphans.sweep import reap_orphans
from controllers.team.down import down_team
from reconciler.api.errors import SpecError, SpecNotFound, StateUnwritable, TmuxUnavailable
from reconciler.engine.engine import Engine
from reconciler.engine.requests import DOWN, Answer, ReapLine, Request
from reconciler.specfile.load import LoadedSpec, load_spec
from reconciler.store.statusfile import StatusCorrupt, StatusStore


def perform(request: Request, engine: Engine) -> Answer:
    """Do what `request` asks, under the loop's lock; the answer says what was done."""
    by = os.getpid()
    loaded = _spec(engine)
    if loaded is None:
        return Answer(
            id=request.id,
            kind=request.kind,
            by=by,
            error=f"run has no valid spec to act on yet: fix {engine.spec_path} (see `validate`)",
            runExits=request.kind == DOWN,
        )
    tmux = engine.tmux_for(loaded.spec.runtime.tmux_socket)
    try:
        if request.kind == DOWN:
            stopped, failed = down_team(loaded, tmux, python=engine.python)
            return Answer(
                id=request.id,
                kind=request.kind,
                by=by,
                stopped=stopped,
                failed=failed,
                runExits=True,
            )
        current = StatusStore(engine.state_dir).read()
        found, outcomes = reap_orphans(loaded, tmux, current, python=engine.python)
    except (TmuxUnavailable, StateUnwritable, StatusCorrupt) as err:
        return Answer(
            id=request.id, kind=request.kind, by=by, error=str(err), runExits=request.kind == DOWN
        )
    return Answer(
        id=request.id,
        kind=request.kind,
        by=by,
        orphans=[o.status for o in found.orphans],
        reaped=[
            ReapLine(resource=o.action.resource, ok=o.ok, message=o.message)
            for o in outcomes
            if isinstance(o.action, ReapOrphan)
        ],
    )


def _spec(engine: Engine) -> LoadedSpec | None:
    """The spec as it is now, else the last good one `run` keeps in force."""
    try:
        return load_spec(engine.spec_path, previous=engine.last_good)
    except (SpecError, SpecNotFound):
        return engine.last_good

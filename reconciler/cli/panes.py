"""An agent's pane, for the verbs that look at it (`logs`, `attach`).

Apart from `reconciler.cli.util` so the verbs that only read files (`status`, `send`, ...)
do not import the tmux observation.
"""

from __future__ import annotations

from reconciler.api.errors import TmuxUnavailable
from reconciler.api.exitcodes import EXIT_NOT_READY, EXIT_UNUSABLE
from reconciler.cli.util import Target, fail
from reconciler.observe.tmux import Tmux
from reconciler.observe.world import Pane, observe


def agent_pane(t: Target, agent: str) -> tuple[Tmux, Pane]:
    loaded = t.require_spec()
    tmux = Tmux(socket_name=t.socket)
    try:
        world = observe(tmux)
    except TmuxUnavailable as err:
        fail(str(err), EXIT_UNUSABLE)
    panes = [
        p
        for p in world.owned_panes(loaded.spec.team_id, str(loaded.workspace))
        if p.agent == agent and p.session_name == loaded.spec.session_name
    ]
    if not panes:
        fail(f"agent {agent!r} has no pane (is the team up?)", EXIT_NOT_READY)
    return tmux, panes[0]

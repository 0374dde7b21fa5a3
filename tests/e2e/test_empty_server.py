"""A tmux server whose last session is gone: an observation of no panes, not an error.

tmux keeps running a moment after its last session ends (longer with `exit-empty off`),
and `list-panes -a` then fails with "no current target". `down` observes again right
after stopping the last agent, so it met this and crashed with a traceback.
"""

from __future__ import annotations

import pytest

from reconciler.observe.world import observe
from tests.conftest import TeamWorkspace

pytestmark = pytest.mark.e2e


def test_a_server_with_no_session_is_observed_as_no_panes(team: TeamWorkspace) -> None:
    tmux = team.tmux
    tmux.run("new-session", "-d", "-s", "scratch", "sleep", "100")
    tmux.run("set-option", "-s", "exit-empty", "off")
    tmux.run("kill-session", "-t", "=scratch")

    world = observe(tmux)

    assert world.server_running
    assert world.panes == ()

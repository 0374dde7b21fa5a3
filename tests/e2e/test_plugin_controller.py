"""A controller defined outside `controllers/` joins real passes on a real tmux server.

`tests/unit/pluginkit.NotesController` is handed to the `Engine` beside the registry's
controllers, with no engine module edited: it observes, plans its own action, has it
applied and reports its condition, while the agents controller keeps a real agent running
(created, killed, restarted) in the same passes.
"""

from __future__ import annotations

import os
import signal

import pytest

from controllers.registry import default_controllers
from reconciler.api import conditions as C
from reconciler.engine.engine import Engine
from tests.conftest import TeamWorkspace, retry_until
from tests.unit.pluginkit import NOTE_FILE, NOTE_WRITTEN, WANT_FILE, NotesController

pytestmark = pytest.mark.e2e

SPEC = """\
version: 1
team:
  name: plug
agents:
  - id: one
    provider: shell
    command: ["sleep", "3600"]
"""


def test_a_plugin_controller_converges_beside_the_registry(team: TeamWorkspace) -> None:
    team.write_spec(SPEC)
    notes = NotesController()
    team.engine_ = Engine(
        spec_path=team.spec_path,
        workspace=team.root.resolve(),
        controllers=(*default_controllers(), notes),
    )
    (team.root / WANT_FILE).write_text("from the spec's neighbour")

    result = team.converge()
    assert (team.root / NOTE_FILE).read_text() == "from the spec's neighbour"
    written = C.find_condition(result.status.conditions, NOTE_WRITTEN)
    assert written is not None and written.status == C.TRUE
    assert C.is_true(result.status.conditions, C.READY)

    # The agents controller still does its job in the same passes.
    [pane] = team.agent_panes("one")
    assert pane.pane_pid is not None
    os.kill(pane.pane_pid, signal.SIGKILL)
    (team.root / WANT_FILE).write_text("changed")
    retry_until(lambda: team.settled().status.agents["one"].restartCount == 1, timeout=10)
    assert (team.root / NOTE_FILE).read_text() == "changed"
    assert len(notes.applied) == 2

"""A workspace whose own modules share team-agent's names never breaks its agents (issue 12, D13).

The pane's first program is team-agent's launcher, started in the workspace. A workspace
holding `controllers/`, `controllers.py` or `reconciler/` (likely names in anyone's project)
must not be imported in its place: here they raise on import, so any use of them shows.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.api import conditions as C
from reconciler.launcher.interpreter import module_argv
from tests.conftest import TeamWorkspace

pytestmark = pytest.mark.e2e

POISON = "raise ImportError('the workspace module {name} was imported instead of team-agent')\n"

SHELL_TEAM = """\
version: 1
team: {name: names}
agents:
  - id: worker
    provider: shell
    command: ["sh", "-c", "echo worker up; exec sleep 3600"]
"""


def poison(workspace: Path) -> None:
    """Put modules named like team-agent's packages in `workspace`; each raises on import."""
    for package in ("controllers", "reconciler"):
        (workspace / package).mkdir()
        (workspace / package / "__init__.py").write_text(POISON.format(name=package))
        (workspace / package / "exec_agent.py").write_text(POISON.format(name=package))
    (workspace / "controllers.py").write_text(POISON.format(name="controllers.py"))


def test_agents_start_in_a_workspace_with_our_module_names(team: TeamWorkspace) -> None:
    """The launcher runs from the workspace yet imports team-agent's own `controllers`."""
    poison(team.root)
    team.write_spec(SHELL_TEAM)

    result = team.converge(timeout=15)

    assert C.is_true(result.status.conditions, C.READY)
    agent = result.status.agents["worker"]
    assert agent.restartCount == 0
    assert "worker up" in "\n".join(team.tmux.run("capture-pane", "-p", "-t", str(agent.paneId)))


def test_module_argv_ignores_the_current_folder(tmp_path: Path) -> None:
    """The bootstrap runs our module as `__main__` with its arguments, not the folder's."""
    poison(tmp_path)
    done = subprocess.run(
        module_argv(sys.executable, "reconciler", "--version"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("team-agent ")

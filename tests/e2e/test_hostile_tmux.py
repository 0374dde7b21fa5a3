"""A person's `~/.tmux.conf` that would destroy our detached sessions (issue 12, A4).

tmux reads `~/.tmux.conf` when a server starts, the private server of `runtime.tmux_socket`
included. With `destroy-unattached on` a session nobody is attached to is destroyed; with
`exit-unattached on` the server exits when no client is attached. Our sessions are never
attached, so the session that creates the team must switch both off in the same tmux
invocation that creates it. HOME points at a temporary folder here, so the hostile file
is read by this test's private server only.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from reconciler.api import conditions as C
from tests.conftest import TeamWorkspace

pytestmark = pytest.mark.e2e

SPEC = """\
version: 1
team: {name: hostile}
agents:
  - id: one
    provider: shell
    command: ["sleep", "3600"]
  - id: two
    provider: shell
    command: ["sleep", "3600"]
"""

HOSTILE = {
    "destroy-unattached": "set -g destroy-unattached on\n",
    "exit-unattached": "set -s exit-unattached on\n",
    "both": "set -g destroy-unattached on\nset -s exit-unattached on\n",
}


@pytest.mark.parametrize("config", sorted(HOSTILE), ids=sorted(HOSTILE))
def test_a_hostile_tmux_conf_does_not_stop_the_team_from_starting(
    team: TeamWorkspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: str
) -> None:
    home = tmp_path / "hostile-home"
    home.mkdir()
    (home / ".tmux.conf").write_text(HOSTILE[config])
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    team.write_spec(SPEC)

    team.converge(timeout=10)
    time.sleep(0.5)  # a server that exits, or a session destroyed, would be gone by now
    result = team.reconcile()
    assert result.ready, result.status.conditions
    assert not result.plan.actions, result.plan.render()
    assert sorted(p.agent for p in team.agent_panes()) == ["one", "two"]
    assert not C.is_true(result.status.conditions, C.STALLED)
    assert team.tmux.run("show-options", "-v", "-t", "=team-hostile:", "destroy-unattached") == [
        "off"
    ]
    assert team.tmux.run("show-options", "-v", "-s", "exit-unattached") == ["off"]

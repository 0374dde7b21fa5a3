"""What a newcomer meets at the command line, as real processes (issue 12, D14, D16, D18).

`send` with nothing to deliver it, `logs -n`/`-f` on a real pane, and two demos side by
side. Every tmux server is private: the `team` fixture's, or the demo's own per-folder
socket, killed at the end.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.cli.demo import demo_socket
from reconciler.store.lock import WorkspaceLock
from reconciler.store.statusfile import ensure_state_dir
from tests.conftest import TeamWorkspace, kill_tmux_server, retry_until

pytestmark = pytest.mark.e2e

VENV_BIN = Path(sys.executable).parent
NO_RECONCILER = "no reconciler is running for"


# --- D14: send with no reconciler ------------------------------------------------------------


def test_send_says_when_nothing_will_deliver(team: TeamWorkspace) -> None:
    team.write_spec("version: 1\nteam: {name: quiet}\nagents:\n  - id: impl\n    provider: fake\n")

    alone = team.cli("send", "impl", "hello")

    assert alone.returncode == 0, alone.stderr
    assert alone.stdout == "msg-1\n"
    assert NO_RECONCILER in alone.stderr
    assert " run` (or " in alone.stderr and " reconcile --once`)" in alone.stderr
    with WorkspaceLock(ensure_state_dir(team.root)):  # as `run` holds it
        held = team.cli("send", "impl", "again")
    assert held.returncode == 0, held.stderr
    assert NO_RECONCILER not in held.stderr


# --- D16: logs -n N and -f -------------------------------------------------------------------


def _shell_team(team: TeamWorkspace, script: str) -> None:
    team.write_spec(
        "version: 1\nteam: {name: logs}\nagents:\n  - id: worker\n    provider: shell\n"
        f"    command: [sh, -c, {script!r}]\n"
    )
    team.converge(timeout=15)


def _pane_shows(team: TeamWorkspace, text: str) -> bool:
    """The worker's pane shows `text` (one tmux call in this process: waiting on the pane
    costs less than running `logs`, a whole CLI process, on every poll)."""
    (pane,) = team.agent_panes("worker")
    return text in team.tmux.run("capture-pane", "-p", "-t", pane.pane_id)


def test_logs_n_prints_exactly_the_last_n_lines(team: TeamWorkspace) -> None:
    _shell_team(team, "seq 1 100; exec sleep 3600")
    retry_until(lambda: _pane_shows(team, "100"))

    done = team.cli("logs", "worker", "-n", "5")

    assert done.returncode == 0, done.stderr
    assert done.stdout == "96\n97\n98\n99\n100\n"
    assert team.cli("logs", "worker", "-n", "0").stdout == ""


def test_logs_follow_prints_each_new_line_once(team: TeamWorkspace, tmp_path: Path) -> None:
    """Lines arriving while -f follows come out in order, none twice, none missed."""
    script = "i=0; while [ $i -lt 300 ]; do i=$((i+1)); echo line-$i; sleep 0.01; done; sleep 3600"
    _shell_team(team, script)
    argv = [sys.executable, "-m", "reconciler", "-f", str(team.spec_path)]
    argv += ["logs", "worker", "-n", "2", "-f", "--interval", "0.05s"]
    printed = tmp_path / "followed.txt"
    with printed.open("w") as sink:  # a file the test reads while it follows (click flushes)
        follower = subprocess.Popen(argv, cwd=team.root, stdout=sink, text=True)
        try:
            retry_until(lambda: "line-300" in printed.read_text(), timeout=20)
            assert follower.poll() is None  # still following
            follower.send_signal(signal.SIGINT)  # Ctrl-C: stop quietly
            follower.wait(timeout=10)
        finally:
            if follower.poll() is None:
                follower.kill()
    out = printed.read_text()
    assert follower.returncode == 0
    numbers = [int(line.removeprefix("line-")) for line in out.split()]
    assert numbers == list(range(numbers[0], 301)), out
    assert numbers[0] < 300


# --- D18: two demos --------------------------------------------------------------------------


@pytest.fixture
def demo_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """`./scripts/demo`'s situation: team-agent run by its path, not found on PATH."""
    path = [p for p in os.environ["PATH"].split(os.pathsep) if Path(p) != VENV_BIN]
    scrubbed = ("TEAM_AGENT_TMUX_SOCKET", "TMUX", "TMUX_PANE", "TEAM_AGENT_WORKSPACE")
    env = {k: v for k, v in os.environ.items() if k not in scrubbed}
    env |= {"PATH": os.pathsep.join(path), "FAKE_AGENT_HOME": str(tmp_path / "fake-home")}
    yield env
    for folder in ("one", "two"):  # the demos' own private servers
        kill_tmux_server(demo_socket(tmp_path / folder))


def test_a_second_demo_does_not_collide_and_its_hints_work(
    tmp_path: Path, demo_env: dict[str, str]
) -> None:
    program = VENV_BIN / "team-agent"
    demos = {}
    for folder in ("one", "two"):
        demos[folder] = subprocess.run(
            [str(program), "demo", folder, "--wait", "20s"],
            cwd=tmp_path,
            env=demo_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    for folder, done in demos.items():
        assert done.returncode == 0, (folder, done.stdout, done.stderr)
        assert "SessionConflict" not in done.stdout
    assert demo_socket(tmp_path / "one") != demo_socket(tmp_path / "two")

    hints = re.findall(r"^(?:next:| ) +(.+?) +# ", demos["two"].stdout, re.MULTILINE)
    assert [h.split()[-1] for h in hints] == ["lead", "run", "down"], demos["two"].stdout
    down = subprocess.run(
        shlex.split(hints[-1]), cwd=tmp_path, env=demo_env, capture_output=True, text=True
    )
    assert down.returncode == 0, down.stdout + down.stderr
    assert "stopped" in down.stdout + down.stderr

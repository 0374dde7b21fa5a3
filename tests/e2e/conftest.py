"""What several e2e files share: `team-agent run` as a real process on the test's team.

`run_loop` starts it (the console entry point, `python -m reconciler -f <spec> run`, in the
workspace), waits until the status says Ready, and kills it at the end whatever happened
(resumed first, should the test have stopped it with SIGSTOP). `ready` is the check it
waits on, for tests that wait on it again after a change.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Protocol

import pytest

from reconciler.api import conditions as C
from tests.conftest import TeamWorkspace, retry_until


def ready(team: TeamWorkspace, team_id: str | None = None) -> bool:
    """The status says Ready (for `team_id`, when given); no status yet reads as not."""
    try:
        status = team.status()
    except (AssertionError, OSError, ValueError):
        return False
    return (team_id is None or status.team == team_id) and C.is_true(status.conditions, C.READY)


class StartRun(Protocol):
    def __call__(
        self, *, output: int = subprocess.DEVNULL, team_id: str | None = None, timeout: float = 20.0
    ) -> subprocess.Popen[str]: ...


@pytest.fixture
def run_loop(team: TeamWorkspace) -> Iterator[StartRun]:
    """Start `team-agent run` on the team's spec and wait until Ready (for `team_id`).

    `output=subprocess.PIPE` keeps what it printed (stdout and stderr together) for the
    test to read once it has ended; by default it is dropped.
    """
    procs: list[subprocess.Popen[str]] = []

    def start(
        *, output: int = subprocess.DEVNULL, team_id: str | None = None, timeout: float = 20.0
    ) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "-f", str(team.spec_path), "run"],
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=team.root,
        )
        procs.append(proc)
        retry_until(lambda: ready(team, team_id), timeout=timeout)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)
            proc.kill()
        proc.wait(timeout=10)

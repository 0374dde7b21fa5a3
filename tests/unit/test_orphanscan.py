"""Pieces of the orphan observation that need no tmux: daemon recognition, the pane-pid
marker exec_agent sets, and candidate selection over a real process (this test's child).
"""

from __future__ import annotations

from typing import NamedTuple

import pytest

from controllers.orphans.daemons import is_run_daemon


class DaemonCase(NamedTuple):
    test_id: str
    argv: list[str]
    daemon: bool


DAEMON_CASES = [
    DaemonCase("console-script", ["/venv/bin/team-agent", "-f", "s.yaml", "run", "-q"], True),
    DaemonCase("module", ["/usr/bin/python3", "-m", "reconciler", "run"], True),
    DaemonCase(
        "module-with-socket", ["python", "-m", "reconciler", "--tmux-socket", "x", "run"], True
    ),
    DaemonCase("reconcile-once", ["/venv/bin/team-agent", "reconcile", "--once"], False),
    DaemonCase("other-module-run", ["python", "-m", "flask", "run"], False),
    DaemonCase("script-named-run", ["python", "run"], False),
]


@pytest.mark.parametrize("case", DAEMON_CASES, ids=[c.test_id for c in DAEMON_CASES])
def test_is_run_daemon(case: DaemonCase) -> None:
    assert is_run_daemon(case.argv) is case.daemon

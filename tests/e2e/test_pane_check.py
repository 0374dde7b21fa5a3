"""`recheck_pane` against a real tmux server: each refusal, and the pass-through.

The re-check reads the pane with the snapshot's own format and `Pane` parsing, so these
cases pin that it still refuses exactly what it refused when it had a format of its own:
another server, other markers, a process team-agent did not start (unless the action is
the one meant for such a pane), another process than the plan's, a pane that is gone.
The pane runs `sleep` on the test's private server, which the fixture kills.
"""

from __future__ import annotations

from typing import NamedTuple

import pytest

from reconciler.api import markers
from reconciler.api.actions import ProcessRef
from reconciler.apply.pane_check import Owner, PaneNotOurs, recheck_pane
from reconciler.observe.procs import create_time_of
from reconciler.observe.tmux import Tmux

pytestmark = pytest.mark.e2e

OWNER = Owner(team="t1", agent="alpha", workspace="/ws")


class Started(NamedTuple):
    tmux: Tmux
    pane: str
    server_pid: int
    pane_pid: int


def start(socket: str, *, launched: str | None = None) -> Started:
    """A pane running `sleep`, marked as agent alpha of team t1; `launched` overrides the
    recorded pid (None: the pane's own pid, as a start records it)."""
    tmux = Tmux(socket_name=socket)
    line = tmux.run(
        "new-session", "-d", "-P", "-F", "#{pane_id} #{pid} #{pane_pid}", "sleep", "3600"
    )[0]
    pane, server_pid, pane_pid = line.split()
    for option, value in (
        (markers.TEAM, OWNER.team),
        (markers.AGENT, OWNER.agent),
        (markers.WORKSPACE, OWNER.workspace),
        (markers.PANE_PID, pane_pid if launched is None else launched),
    ):
        tmux.run("set-option", "-p", "-t", pane, option, value)
    return Started(tmux, pane, int(server_pid), int(pane_pid))


def process(started: Started) -> ProcessRef:
    created = create_time_of(started.pane_pid)
    assert created is not None
    return ProcessRef(started.pane_pid, created)


def test_our_pane_passes_and_reads_mode_and_screen(tmux_socket: str) -> None:
    s = start(tmux_socket)
    now = recheck_pane(
        s.tmux, s.pane, server_pid=s.server_pid, owner=OWNER, process=process(s), screen=True
    )
    assert now.in_mode is False
    s.tmux.run("copy-mode", "-t", s.pane)
    assert recheck_pane(s.tmux, s.pane, server_pid=s.server_pid, owner=OWNER).in_mode is True


class Refusal(NamedTuple):
    test_id: str
    launched: str | None
    server_delta: int
    owner: Owner | None
    pid_delta: int | None  # None: no process to check
    foreign: bool
    refused: str | None  # a part of the refusal's message; None: passes


CASES = [
    Refusal("ours", None, 0, OWNER, 0, False, None),
    Refusal("other-server", None, 1, OWNER, None, False, "server was replaced"),
    Refusal("other-team", None, 0, Owner("t2", "alpha", "/ws"), None, False, "markers"),
    Refusal("other-agent", None, 0, Owner("t1", "beta", "/ws"), None, False, "markers"),
    Refusal("other-workspace", None, 0, Owner("t1", "alpha", "/x"), None, False, "markers"),
    Refusal("taken-over", "1", 0, OWNER, None, False, "did not start"),
    Refusal("taken-over-released", "1", 0, OWNER, None, True, None),
    Refusal("taken-over-unchecked-owner", "1", 0, None, None, False, None),
    Refusal("no-launch-marker", "", 0, OWNER, None, False, None),
    Refusal("other-process", None, 0, OWNER, 1, False, "another process"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.test_id for c in CASES])
def test_refusals(tmux_socket: str, case: Refusal) -> None:
    s = start(tmux_socket, launched=case.launched)
    ref = process(s) if case.pid_delta is not None else None
    if ref is not None and case.pid_delta:
        ref = ProcessRef(ref.pid + case.pid_delta, ref.create_time)

    def check() -> None:
        recheck_pane(
            s.tmux,
            s.pane,
            server_pid=s.server_pid + case.server_delta,
            owner=case.owner,
            process=ref,
            foreign=case.foreign,
        )

    if case.refused is None:
        check()
    else:
        with pytest.raises(PaneNotOurs, match=case.refused):
            check()


def test_a_pane_gone_is_refused(tmux_socket: str) -> None:
    s = start(tmux_socket)
    s.tmux.run("new-window", "-d", "sleep", "3600")  # keeps the server up
    s.tmux.run("kill-pane", "-t", s.pane)
    with pytest.raises(PaneNotOurs, match="gone"):
        recheck_pane(s.tmux, s.pane, server_pid=s.server_pid, owner=OWNER)

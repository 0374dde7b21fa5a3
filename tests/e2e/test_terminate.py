"""`procs.terminate` and `terminate_all` on real processes (psutil.wait_procs underneath).

The processes are children of a "nursery" that never reaps them, so each one that dies
stays a zombie, as an agent does when tmux misses its SIGCHLD (tmux#311): a zombie has
exited and must count as gone at once, not after the grace. They are not children of the
test process, as agents are not children of the reconciler.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import psutil
import pytest

from reconciler.observe.procs import create_time_of, terminate, terminate_all

NURSERY = r"""
import subprocess, sys, time
ignore = sys.argv[1] == "ignore-term"
code = (
    "import signal, sys, time\n"
    + ("signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" if ignore else "")
    + "sys.stdout.write('up\\n'); sys.stdout.flush(); time.sleep(600)\n"
)
kids = [
    subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    for _ in range(int(sys.argv[2]))
]
for kid in kids:
    kid.stdout.readline()  # its SIGTERM disposition is in place
print(" ".join(str(kid.pid) for kid in kids), flush=True)
time.sleep(600)  # never waits for them
"""


@dataclass
class Nursery:
    kids: list[tuple[int, float]]  # (pid, create time)


def _nursery(ignore_term: bool, count: int) -> Iterator[Nursery]:
    mode = "ignore-term" if ignore_term else "default"
    parent = subprocess.Popen(
        [sys.executable, "-c", NURSERY, mode, str(count)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own group, so the teardown ends exactly these
    )
    try:
        assert parent.stdout is not None
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert len(pids) == count
        kids = []
        for pid in pids:
            created = create_time_of(pid)
            assert created is not None
            kids.append((pid, created))
        yield Nursery(kids)
    finally:
        os.killpg(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)


@pytest.fixture
def polite() -> Iterator[Nursery]:
    """Two processes that exit on SIGTERM."""
    yield from _nursery(ignore_term=False, count=2)


@pytest.fixture
def stubborn() -> Iterator[Nursery]:
    """Three processes that ignore SIGTERM."""
    yield from _nursery(ignore_term=True, count=3)


def _zombie(pid: int) -> bool:
    return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_a_zombie_counts_as_gone_at_once(polite: Nursery) -> None:
    pid, created = polite.kids[0]
    began = time.monotonic()
    assert terminate(pid, created, grace=5.0)
    # psutil alone waits for a non-child until its parent reaps it: the whole grace here.
    assert time.monotonic() - began < 2.0
    assert _zombie(pid)
    assert not _zombie(polite.kids[1][0])  # only the one asked for


def test_sigkill_after_grace(stubborn: Nursery) -> None:
    pid, created = stubborn.kids[0]
    assert terminate(pid, created, grace=0.2)
    assert _zombie(pid)


def test_terminate_all_waits_one_grace_for_all(stubborn: Nursery) -> None:
    began = time.monotonic()
    assert terminate_all(stubborn.kids, grace=1.5) == []
    took = time.monotonic() - began
    assert took < 3.5, f"{took:.1f}s: one grace each (4.5 s) rather than one for all"
    assert all(_zombie(pid) for pid, _ in stubborn.kids)


def test_another_process_under_the_pid_is_never_signalled(polite: Nursery) -> None:
    pid, created = polite.kids[0]
    # As if the observed process had exited and its pid been reused since the snapshot.
    assert terminate(pid, created - 60.0, grace=0.5)  # "the observed one is gone"
    assert not _zombie(pid)
    assert terminate_all([(pid, created - 60.0)], grace=0.5) == []
    assert not _zombie(pid)

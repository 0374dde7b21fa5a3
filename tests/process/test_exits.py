"""The agent-exit trigger (`reconciler.engine.exits`) against real processes (`sleep`)."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator

import pytest

from reconciler.engine.exits import SUPPORTED, ExitWatch, ProcessKey
from reconciler.observe.procs import create_time_of
from tests.conftest import retry_until

pytestmark = pytest.mark.skipif(not SUPPORTED, reason="needs os.pidfd_open (Linux)")


@pytest.fixture
def watching() -> Iterator[tuple[ExitWatch, list[str]]]:
    watch = ExitWatch()
    exits: list[str] = []
    thread = threading.Thread(target=watch.run, args=(lambda: exits.append("exit"),))
    thread.start()
    yield watch, exits
    watch.close()
    thread.join(timeout=5)
    assert not thread.is_alive()


def started() -> tuple[subprocess.Popen[bytes], ProcessKey]:
    proc = subprocess.Popen(["sleep", "30"])
    create_time = create_time_of(proc.pid)
    assert create_time is not None
    return proc, (proc.pid, create_time)


def test_exit_is_reported_once_even_while_still_listed(
    watching: tuple[ExitWatch, list[str]],
) -> None:
    """A watched process exits (left a zombie, as tmux leaves a missed agent) → one report;
    a later set that still names it (a stale pass) does not report it again."""
    watch, exits = watching
    first, first_key = started()
    watch.watch([first_key])
    first.kill()  # not reaped yet: a zombie, like an agent tmux failed to collect
    retry_until(lambda: exits == ["exit"], timeout=5)

    second, second_key = started()
    second.kill()
    second.wait()
    watch.watch([first_key, second_key])  # the second is already gone when it is named
    retry_until(lambda: len(exits) == 2, timeout=5)
    first.wait()
    watch.close()
    assert exits == ["exit", "exit"]


def test_recycled_pid_is_not_watched(watching: tuple[ExitWatch, list[str]]) -> None:
    """A pid now naming another process (create time differs) counts as gone: one report,
    and the live process with that pid is never watched."""
    watch, exits = watching
    watch.watch([(os.getpid(), 1.0)])
    retry_until(lambda: exits == ["exit"], timeout=5)


def gone() -> ProcessKey:
    """The key of a process that has already exited and been reaped."""
    proc, key = started()
    proc.kill()
    proc.wait()
    return key


def test_unwatched_process_exit_is_not_reported(watching: tuple[ExitWatch, list[str]]) -> None:
    """A process dropped from the set, then exiting, is not reported. Each set change is
    proven taken by naming a process that is already gone (one report each)."""
    watch, exits = watching
    proc, key = started()
    watch.watch([key, gone()])
    retry_until(lambda: exits == ["exit"], timeout=5)
    marker = gone()
    watch.watch([marker])  # `proc` no longer named
    retry_until(lambda: len(exits) == 2, timeout=5)
    proc.kill()
    proc.wait()
    watch.watch([marker, gone()])
    retry_until(lambda: len(exits) == 3, timeout=5)
    watch.close()
    assert exits == ["exit"] * 3

"""A trigger for the run loop: an agent's process exited, whether or not tmux noticed.

The loop's fast path for agent exits is tmux's `pane-died` hook (see `reconciler.engine.loop`).
tmux fires it only once it has collected the exit status, and a tmux built with
libutempter can miss the SIGCHLD of a pane process that exits while utempter's helper
runs (tmux/tmux#311, the reason for `NudgeServer`): the agent stays a zombie, no hook
fires, and nothing wakes the loop until the periodic resync, 30 s later by default. The
benchmarks caught it in about one exit in fifteen (docs/benchmarks.md).

So the loop also watches the agents' processes themselves. On Linux a pidfd
(`os.pidfd_open`) becomes readable when its process exits, so one thread blocked in
`poll` over the agents' pidfds wakes the loop at once: no polling, no cost while idle.
The pass it triggers finds the zombie and nudges the tmux server, which then collects it
and fires the hook, and the restart goes as usual. Elsewhere (no pidfd) the watch does
nothing, and the hook plus the resync remain.

A process is named by pid and create time, like every process we act on: the pidfd pins
the process and the create time is checked after opening it, so a recycled pid is never
watched. Like every trigger this one only says "reconcile now"; the pass decides.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
from collections.abc import Callable, Iterable

from reconciler.api.status import TeamStatus
from reconciler.observe.procs import is_same_process

SUPPORTED = hasattr(os, "pidfd_open")
MAX_WATCHED = 512  # each pidfd is a file descriptor; past this, the hook and resync suffice

ProcessKey = tuple[int, float]  # (pid, create time)


def agent_processes(status: TeamStatus) -> frozenset[ProcessKey]:
    """The agent processes a pass saw running, by pid and create time."""
    return frozenset(
        (agent.pid, agent.pidCreateTime)
        for agent in status.agents.values()
        if agent.pid is not None and agent.pidCreateTime is not None
    )


class ExitWatch:
    """Calls `on_exit` (from its own thread) when a watched process exits.

    `watch` replaces the watched set (the loop calls it after every pass); `run` is the
    thread's body and returns after `close`. A process that exits is reported once, even
    while a later `watch` still names it (a pass may still list it as running).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wanted: frozenset[ProcessKey] = frozenset()
        self._closed = False
        self._wakeup: tuple[int, int] | None = None  # (read, write) pipe while `run` runs

    def watch(self, processes: Iterable[ProcessKey]) -> None:
        wanted = frozenset(sorted(processes)[:MAX_WATCHED])
        with self._lock:
            if wanted == self._wanted:
                return
            self._wanted = wanted
        self._poke()

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._poke()

    def run(self, on_exit: Callable[[], None]) -> None:
        if not SUPPORTED:
            return
        read, write = os.pipe()
        os.set_blocking(write, False)
        with self._lock:
            self._wakeup = (read, write)
        pidfds: dict[ProcessKey, int] = {}
        reported: set[ProcessKey] = set()
        try:
            while True:
                with self._lock:
                    if self._closed:
                        return
                    wanted = self._wanted
                if self._sync(pidfds, reported, wanted):
                    on_exit()
                poller = select.poll()
                poller.register(read, select.POLLIN)
                for fd in pidfds.values():
                    poller.register(fd, select.POLLIN)
                by_fd = {fd: key for key, fd in pidfds.items()}
                exited = False
                for fd, _ in poller.poll():
                    if fd == read:
                        os.read(read, 4096)
                        continue
                    key = by_fd[fd]
                    os.close(pidfds.pop(key))
                    reported.add(key)
                    exited = True
                if exited:
                    on_exit()
        finally:
            for fd in pidfds.values():
                os.close(fd)
            with self._lock:
                self._wakeup = None
                os.close(read)
                os.close(write)

    def _sync(
        self,
        pidfds: dict[ProcessKey, int],
        reported: set[ProcessKey],
        wanted: frozenset[ProcessKey],
    ) -> bool:
        """Open pidfds for newly wanted processes, close the unwanted; True if one is gone."""
        for key in [k for k in pidfds if k not in wanted]:
            os.close(pidfds.pop(key))
        reported.intersection_update(wanted)
        gone = False
        for key in wanted:
            if key in pidfds or key in reported:
                continue
            pid, create_time = key
            try:
                fd = os.pidfd_open(pid)
            except ProcessLookupError:
                fd = None
            except OSError:
                continue  # no pidfd here (old kernel, no permission): the hook still works
            if fd is not None and is_same_process(pid, create_time):
                pidfds[key] = fd
                continue
            if fd is not None:
                os.close(fd)  # the pid now names another process: ours is gone
            reported.add(key)
            gone = True
        return gone

    def _poke(self) -> None:
        """Wake `run` from its poll, to take a new set or to return."""
        with self._lock:
            if self._wakeup is not None:
                with contextlib.suppress(BlockingIOError):  # full: it will wake anyway
                    os.write(self._wakeup[1], b"\0")

"""The process adapter: one process-table scan per observation, and safe signalling.

A scan reads pid, parent, name and create time for every process once (psutil), so the
controllers can walk process trees (a pane's agent and its children) without further
system calls. Environments are read lazily and only for the pids a controller asks about,
because reading every process's environment is the expensive part of a scan.

Signalling is here too, because it is the dangerous part: `signal_process` re-checks that
the pid still belongs to the process that was observed (same create time) right before
sending anything, so a pid recycled between observation and action is never hit.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import psutil

from reconciler.api import retrying

CREATE_TIME_TOLERANCE = 0.01


@dataclass(frozen=True)
class ProcessInfo:
    """One row of the process table."""

    pid: int
    ppid: int
    name: str
    create_time: float
    uid: int | None
    zombie: bool = False


@dataclass
class ProcessTable:
    """The processes seen by one scan, indexed for tree walks."""

    by_pid: Mapping[int, ProcessInfo]
    children: Mapping[int, tuple[int, ...]]
    scanned_at: float
    _environ_cache: dict[int, dict[str, str] | None] = field(default_factory=dict, repr=False)

    def get(self, pid: int) -> ProcessInfo | None:
        return self.by_pid.get(pid)

    def descendants(self, pid: int) -> Iterator[ProcessInfo]:
        """Every process below `pid`, breadth first (the process itself excluded)."""
        queue = list(self.children.get(pid, ()))
        seen: set[int] = set()
        while queue:
            child = queue.pop(0)
            if child in seen:
                continue
            seen.add(child)
            info = self.by_pid.get(child)
            if info is not None:
                yield info
            queue.extend(self.children.get(child, ()))

    def environ(self, pid: int) -> dict[str, str] | None:
        """The environment of `pid`, or None when it cannot be read (gone, not ours, macOS)."""
        if pid not in self._environ_cache:
            self._environ_cache[pid] = read_environ(pid)
        return self._environ_cache[pid]


Scanner = Callable[[], ProcessTable]
"""How an observation reads the process table: `scan`, or a wrapper around it.

Passed in (never patched) so a benchmark or test can count scans per pass.
"""


def scan() -> ProcessTable:
    """Read the whole process table once."""
    by_pid: dict[int, ProcessInfo] = {}
    children: dict[int, list[int]] = {}
    for proc in psutil.process_iter(["pid", "ppid", "name", "create_time", "uids", "status"]):
        info = proc.info
        try:
            uids = info.get("uids")
            row = ProcessInfo(
                pid=int(info["pid"]),
                ppid=int(info.get("ppid") or 0),
                name=str(info.get("name") or ""),
                create_time=float(info.get("create_time") or 0.0),
                uid=int(uids.real) if uids is not None else None,
                zombie=info.get("status") == psutil.STATUS_ZOMBIE,
            )
        except (TypeError, ValueError):
            continue
        by_pid[row.pid] = row
        children.setdefault(row.ppid, []).append(row.pid)
    return ProcessTable(
        by_pid=by_pid,
        children={ppid: tuple(kids) for ppid, kids in children.items()},
        scanned_at=time.time(),
    )


def read_environ(pid: int) -> dict[str, str] | None:
    try:
        return dict(psutil.Process(pid).environ())
    except (psutil.Error, OSError):
        return None


def create_time_of(pid: int) -> float | None:
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return None


def is_same_process(pid: int, create_time: float) -> bool:
    """True while `pid` is still the process that started at `create_time`."""
    current = create_time_of(pid)
    return current is not None and abs(current - create_time) <= CREATE_TIME_TOLERANCE


def signal_process(pid: int, create_time: float, sig: signal.Signals) -> bool:
    """Send `sig` to `pid` only if it is still the observed process; report whether sent."""
    if pid <= 1 or pid == os.getpid():
        return False
    if not is_same_process(pid, create_time):
        return False
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    return True


def signal_group(pid: int, create_time: float, sig: signal.Signals) -> bool:
    """Send `sig` to the process group `pid` leads; report whether sent.

    Whether the group is ours is the caller's decision (the orphans controller's proof
    is in `controllers.orphans`); this re-checks, right before the signal, that `pid` is
    still the observed process and still leads its own group (pgid == pid), and never signals
    the caller's own group.
    """
    if pid <= 1 or pid == os.getpid() or pid == os.getpgrp():
        return False
    if not is_same_process(pid, create_time):
        return False
    try:
        if os.getpgid(pid) != pid:
            return False
        os.killpg(pid, sig)
    except ProcessLookupError:
        return False
    return True


def _send(pid: int, create_time: float, sig: signal.Signals, *, group: bool) -> bool:
    """The group when asked and still led by `pid`, else the process alone."""
    if group and signal_group(pid, create_time, sig):
        return True
    return signal_process(pid, create_time, sig)


def terminate(
    pid: int, create_time: float, *, grace: float, poll: float = 0.02, group: bool = False
) -> bool:
    """SIGTERM, wait up to `grace` seconds, then SIGKILL; True when the process is gone.

    Every signal is preceded by the identity re-check in `signal_process` (and, with
    `group`, `signal_group`: the whole group `pid` leads is signalled).
    """
    return not terminate_all([(pid, create_time)], grace=grace, poll=poll, group=group)


def terminate_all(
    processes: Sequence[tuple[int, float]],
    *,
    grace: float,
    poll: float = 0.02,
    group: bool = False,
) -> list[int]:
    """`terminate` for several (pid, create time) at once: one grace for all, not one
    each. Returns the pids still running at the end (SIGKILL included)."""
    watched: list[tuple[psutil.Process, float]] = []
    stuck: list[int] = []  # the observed process, but not ours to signal (pid 1, ourselves)
    for pid, created in processes:
        if _send(pid, created, signal.SIGTERM, group=group):
            proc = _watch(pid, created)
            if proc is not None:
                watched.append((proc, created))
        elif is_same_process(pid, created):
            stuck.append(pid)
    alive = _wait_exited([p for p, _ in watched], timeout=grace, poll=poll)
    created_at = {p.pid: created for p, created in watched}
    for proc in alive:
        _send(proc.pid, created_at[proc.pid], signal.SIGKILL, group=group)
    alive = _wait_exited(alive, timeout=1.0, poll=poll)
    return stuck + [p.pid for p in alive]


def _watch(pid: int, create_time: float) -> psutil.Process | None:
    """A handle on `pid` while it is still the observed process, for `psutil.wait_procs`
    (which tells a recycled pid from the process by its create time too)."""
    try:
        proc = psutil.Process(pid)
        same = abs(proc.create_time() - create_time) <= CREATE_TIME_TOLERANCE
    except psutil.Error:
        return None
    return proc if same else None


def _wait_exited(
    procs: list[psutil.Process], *, timeout: float, poll: float
) -> list[psutil.Process]:
    """Those of `procs` still running after up to `timeout` seconds.

    `psutil.wait_procs` waits efficiently (a pidfd on Linux), but for a process that is
    not our child it waits until the pid disappears, that is, until the parent reaps it;
    tmux can miss that (tmux#311, `reconciler.engine.exits`) and leave the agent a zombie
    for good. A zombie has exited, so it is waited for `poll` seconds at a time and
    zombies are dropped from what is still running after each slice, as is a pid that
    now names another process (`is_running` compares create times).
    """

    def still_running() -> list[psutil.Process]:
        nonlocal procs
        _gone, alive = psutil.wait_procs(procs, timeout=poll)
        procs = [p for p in alive if p.is_running() and not _is_zombie(p)]
        return procs

    if not procs:
        return []
    return retrying.poll(
        still_running,
        until=lambda alive: not alive,
        deadline=time.monotonic() + timeout,
        interval=0.0,  # each slice already waited `poll` seconds
    )


def _is_zombie(proc: psutil.Process) -> bool:
    try:
        return bool(proc.status() == psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return True

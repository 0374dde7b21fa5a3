"""`team-agent run` daemons on this machine, and the workspace lock each one holds open.

A `run` daemon carries no marker of ours in its environment (it is started by a person or a
service manager), so its proof of ownership is the workspace lock it holds: every
reconciler keeps `<workspace>/.team/reconciler.lock` open (and flocked) while it runs, and
Linux shows that open file in `/proc/PID/fd`, with " (deleted)" appended once the file
(its workspace) was removed. The command line (`team-agent ... run`, `python -m reconciler
... run`) only narrows the search; the lock is the evidence.

Only our user's python / `team-agent` processes outside our agent panes are looked at:
their command line is read (one small file each), and the open files of the `run` ones.
Without `/proc` (macOS) nothing is found.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from typing import Final

import psutil

from reconciler.api.status import STATE_DIR
from reconciler.observe.procs import ProcessTable
from reconciler.store.lock import LOCK_FILE

ENV_SOCKET: Final = "TEAM_AGENT_TMUX_SOCKET"
DELETED_SUFFIX: Final = " (deleted)"
LOCK_SUFFIX: Final = f"/{STATE_DIR}/{LOCK_FILE}"


@dataclass(frozen=True)
class Daemon:
    """A `team-agent run` process, proven ours by the workspace lock it holds open."""

    pid: int
    create_time: float
    uid: int | None
    workspace: str
    lock_path: str
    lock_deleted: bool  # the lock file it holds was unlinked (its workspace was deleted)


@dataclass
class ReadCounter:
    """Per-process files read by one observation (reported in `ScanStats`)."""

    environ: int = 0
    cmdline: int = 0
    fds: int = 0


def find_daemons(
    table: ProcessTable,
    *,
    uid: int,
    skip: frozenset[int],
    socket_name: str | None,
    count: ReadCounter,
) -> tuple[Daemon, ...]:
    """`team-agent run` processes serving this tmux server, with the lock they hold."""
    me = os.getpid()
    found: list[Daemon] = []
    for info in sorted(table.by_pid.values(), key=lambda i: i.pid):
        if info.uid != uid or info.zombie or info.pid == me or info.pid in skip:
            continue
        if not (info.name.startswith("python") or info.name == "team-agent"):
            continue
        count.cmdline += 1
        argv = _cmdline(info.pid)
        if argv is None or not is_run_daemon(argv):
            continue
        served = _socket_arg(argv)
        if served is None:
            count.environ += 1
            served = (table.environ(info.pid) or {}).get(ENV_SOCKET) or None
        if served != socket_name:
            continue
        count.fds += 1
        held = _held_lock(info.pid)
        if held is None:
            continue
        path, deleted = held
        found.append(
            Daemon(
                pid=info.pid,
                create_time=info.create_time,
                uid=info.uid,
                workspace=path[: -len(LOCK_SUFFIX)],
                lock_path=path,
                lock_deleted=deleted,
            )
        )
    return tuple(found)


def is_run_daemon(argv: list[str]) -> bool:
    """`team-agent [...] run` or `python -m reconciler [...] run`."""
    program = [os.path.basename(a) for a in argv[:2]]
    module = any(a == "-m" and b == "reconciler" for a, b in itertools.pairwise(argv))
    return "run" in argv[1:] and ("team-agent" in program or module)


def _socket_arg(argv: list[str]) -> str | None:
    for i, arg in enumerate(argv):
        if arg == "--tmux-socket" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--tmux-socket="):
            return arg.split("=", 1)[1]
    return None


def _cmdline(pid: int) -> list[str] | None:
    try:
        return list(psutil.Process(pid).cmdline())
    except (psutil.Error, OSError):
        return None


def _held_lock(pid: int) -> tuple[str, bool] | None:
    """The workspace lock file `pid` holds open (Linux /proc), and whether it was deleted."""
    folder = f"/proc/{pid}/fd"
    try:
        names = os.listdir(folder)
    except OSError:
        return None
    for name in names:
        try:
            target = os.readlink(f"{folder}/{name}")
        except OSError:
            continue
        deleted = target.endswith(DELETED_SUFFIX)
        path = target[: -len(DELETED_SUFFIX)] if deleted else target
        if path.endswith(LOCK_SUFFIX):
            return path, deleted
    return None

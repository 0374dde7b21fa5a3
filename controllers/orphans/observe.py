"""Orphan observation: the I/O the orphans controller needs, done before anything is planned.

The orphans controller is pure (it plans from `PassInputs` like every controller), but
deciding what is an orphan needs facts a tmux snapshot does not hold: which processes
carry our identity in their environment, which `team-agent run` daemons hold a lock of a
deleted workspace, which workspaces still exist and whether their lock holder is alive.
The engine gathers them here, in its observe step, from the pass's one snapshot and its
one process-table scan (`World.processes`); nothing here scans the process table again
or calls tmux.

Cost is bounded by reading per-process files only for *candidates*:

* environments (`/proc/PID/environ`) only of our user's processes that are outside every
  live pane and either were parented to the tmux server without being a live pane's
  process (an agent that outlived its pane stays the server's child), or were re-parented
  to init or a known subreaper, or are a pid an earlier pass recorded (an agent's pid in
  `status.agents`, a process orphan in `status.orphans`): at most `MAX_ENVIRON_READS`;
* command lines only of our user's python/`team-agent` processes outside our agent panes,
  and open file descriptors only of those that are `team-agent ... run`
  (`controllers.orphans.daemons`);
* one `stat`, one lock-file read and (for a foreign workspace that exists but has no live
  reconciler) one `status.json` read per workspace the markers name.

`ScanStats` counts each kind of read and times the whole step, so a benchmark can show
what detection costs per pass (bench/orphans.py).

Scope: a pass looks after its own tmux server. Processes count only when they carry this
team's identity or ran in a pane of this server (`TMUX` names its socket); daemons only
when they serve this server (`--tmux-socket` or `TEAM_AGENT_TMUX_SOCKET`, none meaning the
default server). Another server's leftovers are that server's teams' business.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import psutil

from controllers.leader.identity import ENV_LEADER_UUID
from controllers.orphans.daemons import LOCK_SUFFIX, Daemon, ReadCounter, find_daemons
from reconciler.api.launch import ENV_AGENT_ID, ENV_PANE_PID, ENV_TEAM_ID, ENV_WORKSPACE
from reconciler.api.status import STATE_DIR, TeamStatus
from reconciler.observe.procs import ProcessInfo, ProcessTable, is_same_process
from reconciler.observe.world import World
from reconciler.store.lock import LOCK_FILE, LockHolder, read_holder
from reconciler.store.statusfile import StatusCorrupt, StatusStore

# Processes that adopt orphans besides pid 1 (PR_SET_CHILD_SUBREAPER is not visible in
# /proc, so they are known by name); a pid-namespace init (ppid 0) counts as well.
REAPER_NAMES: Final = frozenset(
    {"systemd", "init", "tini", "dumb-init", "catatonit", "s6-svscan", "runsvdir", "launchd"}
)
KERNEL_THREADS: Final = "kthreadd"  # parent of kernel threads (ppid 0 but no reaper)
MAX_ENVIRON_READS: Final = 256
ENV_TMUX: Final = "TMUX"  # set by tmux in every pane: "SOCKET_PATH,SERVER_PID,SESSION"
ENV_TMUX_PANE: Final = "TMUX_PANE"  # set by tmux in every pane: its pane id


@dataclass(frozen=True)
class WorkspaceFacts:
    """One workspace named by a marker: does it exist, is its reconciler alive, its team."""

    path: str
    exists: bool
    holder: LockHolder | None = None  # what its lock file records
    holder_alive: bool = False
    team: str | None = None  # from its status.json; None when unknown (not read, absent)
    agents: Mapping[str, str | None] = field(default_factory=dict)  # declared -> its paneId

    @property
    def live(self) -> bool:
        """A live team's workspace: it exists and its lock holder is alive."""
        return self.exists and self.holder_alive

    @property
    def stale_lock(self) -> bool:
        return self.exists and self.holder is not None and not self.holder_alive

    @property
    def lock_path(self) -> str:
        return self.path + LOCK_SUFFIX


@dataclass(frozen=True)
class MarkedProcess:
    """A process outside every live pane whose environment carries an agent's identity."""

    pid: int
    create_time: float
    uid: int | None
    team: str
    agent: str
    workspace: str
    pane_pid: int | None  # TEAM_AGENT_PANE_PID: the pane process it is, or descends from
    tmux_socket: str | None  # from TMUX: the server it ran under
    tmux_server_pid: int | None
    tmux_pane: str | None  # TMUX_PANE: the pane it ran in (inherited by descendants)
    leads_group: bool  # its process group id is its pid

    @property
    def group_ours(self) -> bool:
        """We created its process group: it is the pane's first process (see launch.py)."""
        return self.leads_group and self.pane_pid == self.pid


@dataclass(frozen=True)
class ScanStats:
    """What the observation read, for benchmarks and the `orphans` verb."""

    candidates: int = 0
    environ_reads: int = 0
    cmdline_reads: int = 0
    fd_reads: int = 0
    workspaces: int = 0
    seconds: float = 0.0
    truncated: bool = False  # more candidates than MAX_ENVIRON_READS


@dataclass(frozen=True)
class OrphanFacts:
    """Everything the orphans controller knows beyond the snapshot."""

    uid: int
    socket_path: str
    workspaces: Mapping[str, WorkspaceFacts] = field(default_factory=dict)
    processes: tuple[MarkedProcess, ...] = ()
    daemons: tuple[Daemon, ...] = ()
    stats: ScanStats = field(default_factory=ScanStats)


def tmux_socket_path(socket_name: str | None) -> str:
    """The socket path tmux uses for `-L NAME` (as tmux puts it into `TMUX`)."""
    base = os.environ.get("TMUX_TMPDIR") or "/tmp"
    folder = os.path.realpath(os.path.join(base, f"tmux-{os.getuid()}"))
    return os.path.join(folder, socket_name or "default")


def observe_orphans(
    world: World,
    *,
    team_id: str,
    workspace: str,
    socket_name: str | None,
    previous: TeamStatus,
) -> OrphanFacts:
    """Gather the facts orphan detection needs (see the module docstring)."""
    started = time.perf_counter()
    uid = os.getuid()
    socket_path = tmux_socket_path(socket_name)
    table = world.processes
    count = ReadCounter()

    live_panes = [p for p in world.panes if not p.dead and p.pane_pid]
    inside = _under(table, (p.pane_pid for p in live_panes if p.pane_pid))
    inside_agents = _under(table, (p.pane_pid for p in live_panes if p.pane_pid and p.agent))
    candidates = _candidates(world, previous, uid=uid, inside=inside)
    truncated = len(candidates) > MAX_ENVIRON_READS
    processes: list[MarkedProcess] = []
    for info in candidates[:MAX_ENVIRON_READS]:
        count.environ += 1
        found = _marked(info, table.environ(info.pid))
        if found is None:
            continue
        ours = found.team == team_id and found.workspace == workspace
        if ours or found.tmux_socket == socket_path:
            processes.append(found)

    daemons = find_daemons(table, uid=uid, skip=inside_agents, socket_name=socket_name, count=count)

    named = {workspace}
    named.update(p.workspace for p in world.panes if p.workspace)
    named.update(p.session_workspace for p in world.panes if p.session_workspace)
    named.update(p.workspace for p in processes)
    named.update(d.workspace for d in daemons)
    workspaces = {path: _workspace(path, own=path == workspace) for path in sorted(named)}

    stats = ScanStats(
        candidates=len(candidates),
        environ_reads=count.environ,
        cmdline_reads=count.cmdline,
        fd_reads=count.fds,
        workspaces=len(workspaces),
        seconds=time.perf_counter() - started,
        truncated=truncated,
    )
    return OrphanFacts(
        uid=uid,
        socket_path=socket_path,
        workspaces=workspaces,
        processes=tuple(processes),
        daemons=daemons,
        stats=stats,
    )


def _under(table: ProcessTable, roots: Iterable[int]) -> frozenset[int]:
    """The roots and every process below them."""
    found: set[int] = set()
    for root in roots:
        found.add(root)
        found.update(p.pid for p in table.descendants(root))
    return frozenset(found)


def _candidates(
    world: World, previous: TeamStatus, *, uid: int, inside: frozenset[int]
) -> list[ProcessInfo]:
    """Our user's processes outside live panes that may have outlived one, likeliest first."""
    table = world.processes
    me = os.getpid()
    servers = {p.server_pid for p in world.panes}
    # A zombie parent counts too: a multi-threaded CLI's main thread exits first and its
    # children keep it as their parent until the last thread is gone (Claude Code 2.1.197,
    # killed while a tool runs: its tool still shows the dead claude as parent).
    reapers = {1} | {
        info.pid
        for info in table.by_pid.values()
        if (info.ppid == 0 and info.name != KERNEL_THREADS)
        or info.name in REAPER_NAMES
        or info.zombie
    }
    recorded = {a.pid for a in previous.agents.values() if a.pid}
    recorded |= {o.pid for o in previous.orphans if o.pid and o.kind == "process"}

    def rank(info: ProcessInfo) -> int | None:
        if info.uid != uid or info.zombie or info.pid in inside or info.pid in (me, 1):
            return None
        if info.pid in recorded:
            return 0
        if info.ppid in servers:
            return 1
        if info.ppid in reapers:
            return 2
        return None

    ranked = [
        (r, info.pid, info) for info in table.by_pid.values() if (r := rank(info)) is not None
    ]
    return [info for _, _, info in sorted(ranked, key=lambda item: (item[0], item[1]))]


def _marked(info: ProcessInfo, env: Mapping[str, str] | None) -> MarkedProcess | None:
    """The process's agent identity, when its environment carries all of it.

    A leader (or anything it started) is never an agent, whatever else it carries: its
    environment holds the leader's UUID, and nothing of ours acts on the leader.
    """
    if not env or env.get(ENV_LEADER_UUID):
        return None
    team, agent, workspace = env.get(ENV_TEAM_ID), env.get(ENV_AGENT_ID), env.get(ENV_WORKSPACE)
    if not (team and agent and workspace):
        return None
    socket, server = _tmux_env(env.get(ENV_TMUX, ""))
    try:
        leads = os.getpgid(info.pid) == info.pid
    except OSError:
        return None  # gone since the scan
    return MarkedProcess(
        pid=info.pid,
        create_time=info.create_time,
        uid=info.uid,
        team=team,
        agent=agent,
        workspace=workspace,
        pane_pid=_int(env.get(ENV_PANE_PID, "")),
        tmux_socket=socket,
        tmux_server_pid=server,
        tmux_pane=env.get(ENV_TMUX_PANE) or None,
        leads_group=leads,
    )


def _tmux_env(value: str) -> tuple[str | None, int | None]:
    parts = value.split(",")
    if len(parts) < 2 or not parts[0]:
        return None, None
    return parts[0], _int(parts[1])


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _workspace(path: str, *, own: bool) -> WorkspaceFacts:
    """Existence, lock holder and (for a foreign, idle workspace) the team its status names."""
    folder = Path(path)
    if not folder.is_dir():
        return WorkspaceFacts(path=path, exists=False)
    holder = read_holder(folder / STATE_DIR / LOCK_FILE)
    alive = holder is not None and _holder_alive(holder)
    if own or alive:
        return WorkspaceFacts(path=path, exists=True, holder=holder, holder_alive=alive)
    try:
        status = StatusStore(folder / STATE_DIR).read()
    except StatusCorrupt:
        status = None
    return WorkspaceFacts(
        path=path,
        exists=True,
        holder=holder,
        holder_alive=alive,
        team=status.team if status is not None and status.team else None,
        agents={name: a.paneId for name, a in status.agents.items()} if status else {},
    )


def _holder_alive(holder: LockHolder) -> bool:
    if holder.createTime is None:
        return psutil.pid_exists(holder.pid)
    return is_same_process(holder.pid, holder.createTime)

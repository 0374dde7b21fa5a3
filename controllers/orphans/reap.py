"""How an orphan is reaped: the effects of `ReapOrphan`, with every safety re-check at the edge.

The orphans controller decided *what* is an orphan from the snapshot; the world may have
moved since. So right before acting this module checks again, and refuses (raising
`NotReaped`, which the executor turns into a failed outcome) rather than guess:

* a process: same user, and pid plus create time re-checked before *every* signal
  (`procs.terminate`); a pid that now names another process is never signalled. Its
  process group is signalled only when the action says we created it (the pane's first
  process, see `reconciler.api.launch.ENV_PANE_PID`) and it still leads that group.
* panes, windows, sessions: one `list-panes -a` re-reads the server pid and every pane's
  markers; each pane to remove must still carry the markers it was found with and no
  leader marker, and run the process we started in it (a pane a person respawned with
  their own command is not ours: `Pane.taken_over`); a window or session must hold
  exactly the panes that were planned (a pane a person added since makes it not ours).
  The panes' processes are terminated (re-checked as above, all within one grace) before
  tmux removes them.
* a lock record: cleared only by taking the workspace's `flock` (timeout 0) and releasing
  it, which is what any reconciler does; a held lock is not stale and is left alone. The
  lock file is never unlinked (see `reconciler.lock`).
"""

from __future__ import annotations

import os
from pathlib import Path

import psutil

from controllers.orphans.actions import OwnedPane, ReapOrphan
from reconciler.api.actions import ProcessRef
from reconciler.api.errors import LockHeld, TeamAgentError
from reconciler.observe.procs import create_time_of, is_same_process, terminate, terminate_all
from reconciler.observe.tmux import ServerNotRunning, Tmux, TmuxCommandError
from reconciler.observe.world import LIST_PANES, Pane, parse_panes
from reconciler.store.lock import LOCK_FILE, WorkspaceLock


class NotReaped(TeamAgentError):
    """The orphan could not be reaped safely as planned; nothing (more) was done to it."""


def reap_orphan(action: ReapOrphan, tmux: Tmux) -> str:
    """Reap one orphan; return what was done, or raise `NotReaped`."""
    if action.kind in ("process", "daemon"):
        if action.process is None:
            raise NotReaped(f"{action.resource}: no process identity in the plan")
        return _reap_process(action.process, group=action.group, grace=action.grace_sec)
    if action.kind == "lock":
        return _reap_lock(action)
    return _reap_tmux(action, tmux)


def _reap_process(ref: ProcessRef, *, group: bool, grace: float) -> str:
    current = create_time_of(ref.pid)
    if current is None:
        return f"pid {ref.pid} had already exited"
    if not is_same_process(ref.pid, ref.create_time):
        raise NotReaped(
            f"pid {ref.pid} now names another process (create time changed); not signalled"
        )
    try:
        uid = psutil.Process(ref.pid).uids().real
    except psutil.Error:
        return f"pid {ref.pid} had already exited"
    if uid != os.getuid():
        raise NotReaped(f"pid {ref.pid} belongs to another user; not signalled")
    if not terminate(ref.pid, ref.create_time, grace=grace, group=group):
        raise NotReaped(f"pid {ref.pid} is still running after SIGKILL")
    what = "its process group" if group else "it"
    return f"pid {ref.pid}: SIGTERM to {what}, gone"


def _reap_lock(action: ReapOrphan) -> str:
    path = Path(action.lock or "")
    if path.name != LOCK_FILE or not path.is_file():
        return f"{path} is gone"
    lock = WorkspaceLock(path.parent, timeout=0.0)
    try:
        lock.acquire()
    except LockHeld as err:
        raise NotReaped(f"{path} is held by a live process: not stale") from err
    lock.release()  # releasing clears the holder record
    return f"cleared the dead holder's record in {path}"


def _reap_tmux(action: ReapOrphan, tmux: Tmux) -> str:
    panes = _recheck_panes(tmux, action)
    planned = {p.pane for p in action.panes}
    if not planned & {p.pane_id for p in panes}:
        return f"{action.kind} {action.name} was already gone"
    if action.kind == "session":
        present = {p.pane_id for p in panes if p.session_id == action.session}
        if present != planned:
            raise NotReaped(f"session {action.name} changed since the snapshot; left alone")
    elif action.kind == "window":
        present = {p.pane_id for p in panes if p.window_id == action.window}
        if present != planned:
            raise NotReaped(f"window {action.name} changed since the snapshot; left alone")
    by_pane: dict[str, Pane] = {p.pane_id: p for p in panes}
    for owned in action.panes:
        _check_marked(owned, by_pane.get(owned.pane))
    # All at once, within one grace: a session's panes need not wait for one another.
    terminate_all(
        [(o.process.pid, o.process.create_time) for o in action.panes if o.process is not None],
        grace=action.grace_sec,
    )
    try:
        if action.kind == "session" and action.session:
            tmux.run("kill-session", "-t", action.session)
        elif action.kind == "window" and action.window:
            tmux.run("kill-window", "-t", action.window)
        else:
            for owned in action.panes:
                tmux.run("kill-pane", "-t", owned.pane)
    except TmuxCommandError as err:
        if not err.target_gone:
            raise
    count = len(action.panes)
    return f"killed {action.kind} {action.name} ({count} pane{'s' if count != 1 else ''})"


def _recheck_panes(tmux: Tmux, action: ReapOrphan) -> tuple[Pane, ...]:
    """Every pane of the server with its markers, re-read now in one tmux call (the
    snapshot's own format and parsing)."""
    try:
        panes = parse_panes(tmux.run(*LIST_PANES))
    except ServerNotRunning as err:
        raise NotReaped(f"{action.resource}: the tmux server is gone") from err
    if action.server_pid is not None and any(p.server_pid != action.server_pid for p in panes):
        raise NotReaped(f"{action.resource}: the tmux server was replaced since the snapshot")
    return panes


def _check_marked(owned: OwnedPane, pane: Pane | None) -> None:
    if pane is None:
        raise NotReaped(f"pane {owned.pane} is gone")
    if pane.leader_uuid:
        raise NotReaped(f"pane {owned.pane} carries a leader marker; never killed")
    if pane.taken_over:
        raise NotReaped(
            f"pane {owned.pane} runs pid {pane.pane_pid}, which team-agent did not start"
        )
    if (pane.team, pane.agent, pane.workspace) != (owned.team, owned.agent, owned.workspace):
        raise NotReaped(f"pane {owned.pane} no longer carries the markers it was found with")

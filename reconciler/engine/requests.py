"""Requests to a running `team-agent run`: how `down` and `orphans --reap` work while it runs.

`run` holds the workspace lock for as long as it runs (single writer), so a verb that
needs the lock would wait `--lock-timeout` and exit 3, and `run` is the normal way to
operate a team. So when the lock's holder is a `run` that says it answers the verb's kind
of request (`LockHolder.accepts`, written into the lock file), the verb asks the loop to do
the work instead: the loop performs it between passes, under the lock it already holds,
and answers with what it did, which the verb prints as if it had acted itself.

Why requests, and not "signal `run` to stop, then take the lock":

* `orphans --reap` must leave `run` running; only the loop can reap while it holds the
  lock, and it reports exactly what it reaped.
* nothing is signalled. A request is a file in our own 0700 state folder; a lock record
  left behind with a recycled pid can never make a verb signal a stranger.
* the single-writer rule stays whole: the status and events are written by the lock
  holder, and no pass can run between a stop and the verb taking the lock.

What `down` means under `run`, as `docker compose down` ends a `compose up`: the loop
stops the team exactly as `down` does on its own (`controllers.team.down`), answers, and then
`run` exits 0, so nothing recreates the team. (The systemd unit's `Restart=on-failure`
and the launchd agent's `KeepAlive` leave a clean exit stopped.) `orphans --reap` is
reaped by the loop, which then goes on with a pass.

The protocol, files under `.team/requests/` (0700 folder, 0600 files, each written to a
temp name and renamed into place, so a reader never sees half a file):

1. The verb writes `<id>.request` (its kind, the verb's pid and process create time) and
   touches `.team/wake`, which wakes the loop as `send` does.
2. The loop lists `*.request` before each pass. A request whose requester is no longer the
   same live process is removed unperformed: nobody waits for it, and a `down` someone
   pressed Ctrl-C on must not happen later. Otherwise the loop claims it by renaming it to
   `<id>.claimed`, performs it, writes `<id>.answer` and removes the claim.
3. The verb polls for `<id>.answer` until its bound (`--lock-timeout`), reads it and
   removes it. At the bound it withdraws by unlinking `<id>.request`. The rename in (2)
   and the unlink are both single operations on the same name, so exactly one of them
   wins: a withdrawn request is never performed, and a claimed one cannot be withdrawn
   (the verb then says `run` took it and has not finished).

Leftovers (a verb killed while waiting, a `run` killed while performing) are removed by
the loop once older than `STALE_SEC`.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import msgspec
import psutil

from reconciler.api.retrying import poll
from reconciler.api.status import OrphanStatus
from reconciler.engine.wake import touch_wake
from reconciler.observe.procs import is_same_process
from reconciler.store.statusfile import write_atomically

RequestKind = Literal["down", "reap-orphans"]
DOWN: Final[RequestKind] = "down"
REAP_ORPHANS: Final[RequestKind] = "reap-orphans"
RUN_ACCEPTS: Final[tuple[RequestKind, ...]] = (DOWN, REAP_ORPHANS)

REQUESTS_DIR: Final = "requests"
POLL_INTERVAL_SEC: Final = 0.02
STALE_SEC: Final = 600.0
_DIR_MODE: Final = 0o700


class _Model(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A request file's shape: msgspec, as the `OrphanStatus` an answer carries."""


class Request(_Model, kw_only=True, frozen=True):
    """One verb's request; `pid` and `createTime` name the waiting verb exactly."""

    id: str
    kind: RequestKind
    pid: int
    createTime: float


class ReapLine(_Model, kw_only=True, frozen=True):
    """One reap the loop applied: the same fields `orphans --reap -o json` prints."""

    resource: str
    ok: bool
    message: str


class Answer(_Model, kw_only=True, frozen=True):
    """What the loop did for a request (`by`: its pid), in the verb's own terms.

    `error` says why it could not be done at all (tmux unusable, no valid spec); then the
    other fields are empty. `runExits` is True when `run` ends after answering (`down`,
    done or not).
    """

    id: str
    kind: RequestKind
    by: int
    error: str | None = None
    stopped: list[str] = []
    failed: list[str] = []
    orphans: list[OrphanStatus] = []
    reaped: list[ReapLine] = []
    runExits: bool = False


def requests_dir(state_dir: Path) -> Path:
    return state_dir / REQUESTS_DIR


def _path(state_dir: Path, request_id: str, suffix: str) -> Path:
    return requests_dir(state_dir) / f"{request_id}.{suffix}"


# --- the verb's side -------------------------------------------------------------------


def submit(state_dir: Path, kind: RequestKind) -> Request:
    """Write a request for the loop and wake it. Raises `StateUnwritable` (or `OSError`)."""
    me = psutil.Process()
    request = Request(id=uuid.uuid4().hex[:16], kind=kind, pid=me.pid, createTime=me.create_time())
    requests_dir(state_dir).mkdir(mode=_DIR_MODE, exist_ok=True)
    write_atomically(_path(state_dir, request.id, "request"), msgspec.json.encode(request))
    with contextlib.suppress(OSError):  # the loop also lists requests at its next resync
        touch_wake(state_dir)
    return request


def await_answer(
    state_dir: Path,
    request: Request,
    *,
    deadline: float,
    alive: Callable[[], bool] = lambda: True,
) -> Answer | None:
    """The loop's answer, read and removed; None when none came by `deadline` (monotonic)
    or the loop is no longer `alive`."""
    path = _path(state_dir, request.id, "answer")
    answer = poll(
        lambda: _read_answer(path),
        until=lambda found: found is not None or not alive(),
        deadline=deadline,
        interval=POLL_INTERVAL_SEC,
    )
    if answer is not None:
        with contextlib.suppress(OSError):
            path.unlink()
    return answer


def withdraw(state_dir: Path, request: Request) -> bool:
    """Take the request back; False when the loop had already claimed it."""
    try:
        _path(state_dir, request.id, "request").unlink()
    except FileNotFoundError:
        return False
    return True


def _read_answer(path: Path) -> Answer | None:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        return msgspec.json.decode(raw, type=Answer)
    except msgspec.DecodeError:
        return None


# --- the loop's side -------------------------------------------------------------------


@dataclass(frozen=True)
class Dropped:
    """A request file the loop removed without performing it, and why (for its log)."""

    name: str
    why: str


def claim_pending(state_dir: Path) -> tuple[list[Request], list[Dropped]]:
    """Claim every pending request whose requester still waits, oldest first.

    Costs one `scandir` when there is nothing to do (a missing folder costs the same).
    Requests that cannot be parsed, or whose requester is gone, are removed unperformed.
    """
    folder = requests_dir(state_dir)
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return [], []
    now = time.time()
    pending: list[tuple[float, Path]] = []
    dropped: list[Dropped] = []
    for entry in entries:
        path = Path(entry.path)
        try:
            mtime = entry.stat().st_mtime
        except FileNotFoundError:
            continue
        if path.suffix == ".request":
            pending.append((mtime, path))
        elif path.suffix in (".answer", ".claimed") and now - mtime > STALE_SEC:
            with contextlib.suppress(OSError):
                path.unlink()
    claimed: list[Request] = []
    for _, path in sorted(pending):
        request, why = _parse_request(path)
        if request is None:
            with contextlib.suppress(OSError):
                path.unlink()
            dropped.append(Dropped(path.name, why))
            continue
        try:
            path.rename(path.with_suffix(".claimed"))
        except FileNotFoundError:
            continue  # withdrawn by the verb just now
        claimed.append(request)
    return claimed, dropped


def _parse_request(path: Path) -> tuple[Request | None, str]:
    try:
        request = msgspec.json.decode(path.read_bytes(), type=Request)
    except (OSError, msgspec.DecodeError):
        return None, "not a request this version understands"
    if path.stem != request.id:
        return None, "its name and id differ"
    if not is_same_process(request.pid, request.createTime):
        return None, f"its requester (pid {request.pid}) no longer waits"
    return request, ""


def answer(state_dir: Path, reply: Answer) -> None:
    """Write the answer and drop the claim. Raises `StateUnwritable`."""
    write_atomically(_path(state_dir, reply.id, "answer"), msgspec.json.encode(reply))
    with contextlib.suppress(OSError):
        _path(state_dir, reply.id, "claimed").unlink()

"""The two leader files under `.team/`: where to look (the hint) and who owns (the claim).

`leader.json` (the *hint*) is written by `team-agent leader` (and by `claim-leader` /
`takeover`): the tmux server socket the leader was started on, its pane id, the server's
and the pane's pids. The leader usually lives on the person's default tmux server, not on
the workers' (`runtime.tmux_socket`), so the reconciler needs to know which server to
observe. That is all the hint is for. It is never identity: a pane id is recycled when a
tmux server restarts (`%0` again), so every pass re-validates server pid + pane id + pane
pid and trusts only the UUID it finds in the pane.

`leader-owner.json` (the *owner record*) is written only by `claim-leader --confirm` and
`takeover --confirm`: which UUID owns the team, which pane claimed it, and an `epoch` that
grows by one with every claim and never goes back (the next epoch is computed from the
record *and* the status, so even a deleted record cannot lower it). Its pane breaks a tie
between panes carrying the same UUID; its UUID, after a takeover, replaces the expected
one as the UUID the leader controller looks for (`owner_uuid`). Each record also keeps the
derived UUID of its time (`expectedUuid`), so a claim of the derived UUID stops pinning it
once that changes (identity drift is reported, not owned).
Writers serialise on `leader.lock` (`flock`), so two concurrent claims produce two epochs,
never one twice.

Both files are written atomically (status.json's discipline) and read without a lock.
An unreadable or malformed file reads as absent: a hint is only a hint, and a lost owner
record means "no claim", which the epoch in the status survives.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Final, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reconciler.api.pydantic_time import Timestamp
from reconciler.observe.world import Pane
from reconciler.store.statusfile import write_atomically

HINT_FILE: Final = "leader.json"
OWNER_FILE: Final = "leader-owner.json"
LOCK_FILE: Final = "leader.lock"

ClaimVerb = Literal["claim-leader", "takeover"]


class PaneRef(BaseModel):
    """A pane as it was when recorded: valid only while all three ids still match."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    socket: str  # absolute tmux socket path (`tmux -S`)
    serverPid: int
    paneId: str
    panePid: int | None = None

    def names(self, pane: Pane) -> bool:
        """True when `pane` is the recorded pane: same server pid, pane id and pane pid.

        A new server reuses `%0`, `%1`, ...; a respawned pane keeps its id but gets a new
        pid. Either way the record no longer names it.
        """
        return (
            pane.server_pid == self.serverPid
            and pane.pane_id == self.paneId
            and self.panePid is not None
            and pane.pane_pid == self.panePid
        )


class LeaderHint(PaneRef):
    """`.team/leader.json`: where `team-agent leader` last started (or claimed) the leader."""

    uuid: str
    provider: str
    command: str = ""  # the program the leader runs (argv[0]'s name), for WrongCommand
    startedAt: Timestamp


class OwnerRecord(PaneRef):
    """`.team/leader-owner.json`: the UUID that owns the team and the pane that claimed it."""

    uuid: str
    epoch: int = Field(ge=1)
    at: Timestamp
    by: ClaimVerb
    expectedUuid: str | None = None  # the team's derived UUID when the record was written

    @property
    def pins_uuid(self) -> bool:
        """Whether the record chose its UUID over the derived one.

        A takeover does, and so does a claim that moves a taken-over UUID to another pane.
        A claim of the derived UUID does not: when the derived UUID changes later (the team
        renamed, the workspace moved), the team expects the new one, and the claimed pane
        carrying the old one is identity drift (`LeaderUUIDMismatch`), not the owner.
        Records written before `expectedUuid` existed keep their UUID, as they always did.
        """
        return self.expectedUuid is None or self.uuid != self.expectedUuid


_Record = TypeVar("_Record", LeaderHint, OwnerRecord)


def _read(path: Path, model: type[_Record]) -> _Record | None:
    try:
        return model.model_validate_json(path.read_bytes())
    except (OSError, ValidationError):
        return None


def read_hint(state_dir: Path) -> LeaderHint | None:
    return _read(state_dir / HINT_FILE, LeaderHint)


def read_owner(state_dir: Path) -> OwnerRecord | None:
    return _read(state_dir / OWNER_FILE, OwnerRecord)


def write_hint(state_dir: Path, hint: LeaderHint) -> None:
    write_atomically(state_dir / HINT_FILE, hint.model_dump_json(indent=2).encode() + b"\n")


def write_owner(state_dir: Path, record: OwnerRecord) -> None:
    write_atomically(state_dir / OWNER_FILE, record.model_dump_json(indent=2).encode() + b"\n")


def owner_uuid(owner: OwnerRecord | None, expected: str) -> str:
    """The UUID that owns the team: the record's when it pins one, else the derived one."""
    return owner.uuid if owner is not None and owner.pins_uuid else expected


def next_epoch(current: OwnerRecord | None, status_epoch: int) -> int:
    """One more than any epoch seen, in the record or in the status."""
    return max(current.epoch if current is not None else 0, status_epoch) + 1


@contextlib.contextmanager
def owner_lock(state_dir: Path) -> Iterator[None]:
    """Hold `leader.lock` while reading and rewriting the owner record.

    Separate from `reconciler.lock` on purpose: `team-agent run` holds that one for as long
    as it runs, and a claim must not wait for the loop to end.
    """
    fd = os.open(state_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the flock

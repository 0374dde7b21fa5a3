"""The orphans controller's one action: reap an orphan, re-checked at the moment of acting."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from reconciler.api.actions import ProcessRef
from reconciler.api.ids import PaneId, WindowId


@dataclass(frozen=True)
class OwnedPane:
    """A pane to remove, with the markers it must still carry when the executor acts."""

    pane: PaneId
    team: str
    agent: str
    workspace: str
    process: ProcessRef | None  # its live process, terminated before the pane is killed


@dataclass(frozen=True)
class ReapOrphan:
    """Remove one orphan (`controllers.orphans.controller` decided it is ours and no live team's).

    `kind` says what it is: a tmux `session`, `window` or `pane` (the `panes` it holds,
    each re-checked for our markers right before acting, on the tmux server whose pid is
    `server_pid`), a `process` or `daemon` (`process`: pid plus create time, re-checked
    before every signal; `group` only when we created its process group), or a stale
    `lock` record (`lock`: the lock file's path; cleared only while we hold its flock).
    """

    verb: ClassVar[str] = "Reaped"

    kind: str
    name: str  # what it is called in `resource`: a pid, `%3`, `@2`, a session name, a path
    cause: str
    marker: str
    grace_sec: float
    process: ProcessRef | None = None
    group: bool = False
    panes: tuple[OwnedPane, ...] = ()
    window: WindowId | None = None
    session: str | None = None  # the session id (`$N`) of a `session` orphan
    server_pid: int | None = None
    lock: str | None = None
    requires: tuple[str, ...] = ()

    @property
    def resource(self) -> str:
        return f"orphan/{self.kind}/{self.name}"

    def render(self) -> str:
        return f"reap    {self.resource} ({self.cause})"


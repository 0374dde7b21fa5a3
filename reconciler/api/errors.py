"""The error taxonomy of the reconciler.

Errors are few and typed so the engine can decide what to do with each without string
matching: a `SpecError` stops a pass before anything is touched (the last good generation
stays in force), a `TransientError` is retried with backoff, and `TmuxUnavailable` means
the world could not be observed at all (which is never the same as "no agents").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class TeamAgentError(Exception):
    """Base of every error this project raises on purpose."""


@dataclass(frozen=True)
class SpecIssue:
    """One problem in a spec file, located to the character."""

    file: Path
    line: int  # 1-based
    column: int  # 1-based
    message: str

    def render(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class SpecError(TeamAgentError):
    """The spec cannot be used: YAML syntax, unknown key, wrong type, bad id, ..."""

    def __init__(self, issues: list[SpecIssue]) -> None:
        if not issues:
            raise ValueError("SpecError needs at least one issue")
        self.issues = issues
        super().__init__("\n".join(issue.render() for issue in issues))

    @property
    def first(self) -> SpecIssue:
        return self.issues[0]


class SpecNotFound(TeamAgentError):
    """No spec file at the given path or in the default search locations."""


class TransientError(TeamAgentError):
    """Worth retrying: tmux was busy, a pane vanished between observe and apply, ..."""


class TmuxUnavailable(TeamAgentError):
    """The tmux server cannot be reached or tmux is not installed."""


class LockHeld(TeamAgentError):
    """Another reconciler holds the workspace lock."""

    def __init__(self, path: Path, holder_pid: int | None, *, who: str | None = None) -> None:
        self.path = path
        self.holder_pid = holder_pid
        if who is None:
            who = f"pid {holder_pid}" if holder_pid else "another process"
        super().__init__(f"{path} is held by {who}")


class StateUnwritable(TeamAgentError):
    """The state folder (status, events, lock) cannot be written: permissions, disk full."""


class InputUnreadable(TeamAgentError):
    """A controller's input cannot be read; `problem` names the file, `fix` what to do."""

    def __init__(self, problem: str, fix: str) -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem}; fix: {fix}")

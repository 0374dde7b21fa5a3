"""Where the message verbs act, and what they share: the workspace (`-f`, else
`$TEAM_AGENT_WORKSPACE` in an agent's pane, else the cwd), its members, its store.

Run from an agent's pane, the verbs find their team without `-f`: the reconciler gives
every agent `TEAM_AGENT_WORKSPACE` and `TEAM_AGENT_ID`, and the spec is looked for in that
workspace (as `./team.spec.yaml` would be). Kept apart from `send` (which checks its
caller against the leader's records) so `inbox`, `approvals` and `results` import only
what reading the store needs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reconciler.api.clock import parse_time
from reconciler.api.durations import parse_duration
from reconciler.api.errors import SpecNotFound, StateUnwritable
from reconciler.api.exitcodes import EXIT_SPEC_INVALID, EXIT_UNUSABLE
from reconciler.api.launch import ENV_WORKSPACE
from reconciler.api.status import STATE_DIR
from reconciler.cli.util import (
    Target,
    fail,
    target,
)
from reconciler.engine.wake import touch_wake
from reconciler.specfile.locate import find_spec
from reconciler.specfile.summary import read_summary
from reconciler.store.messages import LEADER, MessageStore, StoreError
from reconciler.store.statusfile import ensure_state_dir

if TYPE_CHECKING:
    from reconciler.specfile.load import LoadedSpec

LIST_OUTPUT = click.Choice(["table", "json"])
ONE_OUTPUT = click.Choice(["text", "json"])


@dataclass(frozen=True)
class Place:
    """The workspace a message verb acts on, and its spec when one was found."""

    workspace: Path
    target: Target | None  # None: $TEAM_AGENT_WORKSPACE holds no spec of its own

    @property
    def state_dir(self) -> Path:
        return self.workspace / STATE_DIR

    def require_spec(self) -> tuple[Target, LoadedSpec]:
        if self.target is None:
            fail(
                f"no team.spec.yaml in ${ENV_WORKSPACE} ({self.workspace}): pass -f SPEC",
                EXIT_SPEC_INVALID,
            )
        return self.target, self.target.require_spec()


def place(ctx: click.Context) -> Place:
    """`-f`, else the workspace in $TEAM_AGENT_WORKSPACE (an agent's pane), else the cwd."""
    env_workspace = os.environ.get(ENV_WORKSPACE)
    if ctx.obj["spec_file"] is not None or not env_workspace:
        t = target(ctx)
        return Place(t.workspace, t)
    workspace = Path(env_workspace).resolve()
    try:
        path = find_spec(None, workspace).absolute()
    except SpecNotFound:
        return Place(workspace, None)
    t = Target(path, ctx.obj["socket"], summary=read_summary(path))
    if t.summary is None and t.loaded is None:
        return Place(workspace, t)  # its error is reported where the spec is required
    if t.workspace != workspace:
        return Place(workspace, None)  # another team's spec (its workspace is elsewhere)
    return Place(workspace, t)


def members(t: Target | None) -> list[str] | None:
    """Who may send and receive: the declared workers and `leader` (None: unknown)."""
    declared = t.members if t is not None else None
    return None if declared is None else [*declared, LEADER]


def check_member(name: str, t: Target | None, what: str) -> None:
    known = members(t)
    if known is not None and name not in known:
        fail(f"unknown {what} {name!r} (expected one of: {', '.join(known)})", EXIT_SPEC_INVALID)


def open_store(state_dir: Path) -> MessageStore:
    try:
        return MessageStore.open(state_dir)
    except StoreError as err:
        fail(str(err), EXIT_UNUSABLE)


def state_dir_of(p: Place) -> Path:
    try:
        return ensure_state_dir(p.workspace)
    except StateUnwritable as err:
        fail(str(err), EXIT_UNUSABLE)


def wake(state_dir: Path) -> None:
    """Ask a running reconciler for a pass now; the periodic resync covers a failure."""
    try:
        touch_wake(state_dir)
    except OSError as err:
        click.echo(f"team-agent: warning: cannot wake the reconciler: {err}", err=True)


def since_arg(text: str | None, now: float) -> float | None:
    """`--since`: an RFC 3339 time, or a duration back from now (`10m`)."""
    if text is None:
        return None
    try:
        return parse_time(text).timestamp()
    except ValueError:
        return now - parse_duration(text)

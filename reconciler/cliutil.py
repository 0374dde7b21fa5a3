"""What every verb shares: finding the spec, exit codes, the lock, output.

Exit codes are part of the contract (DESIGN.md, CLI): 0 Ready, 1 not Ready (or a wait
timed out), 2 invalid spec or usage, 3 another reconciler holds the lock, 4 tmux or the
environment unusable.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import click
from rich.console import Console

from reconciler.durations import parse_duration
from reconciler.engine import (
    EXIT_LOCKED,
    EXIT_NOT_READY,
    EXIT_SPEC_INVALID,
    EXIT_UNUSABLE,
    Engine,
    PassResult,
)
from reconciler.errors import LockHeld, SpecError, SpecNotFound, StateUnwritable, TmuxUnavailable
from reconciler.lock import WorkspaceLock
from reconciler.specfile import LoadedSpec, find_spec, load_spec
from reconciler.status import StatusCorrupt, StatusStore, TeamStatus, ensure_state_dir
from reconciler.tmux import Tmux
from reconciler.world import Pane, observe

OUTPUT = click.Choice(["table", "json", "yaml"])


@dataclass
class Target:
    """Which spec and workspace a command is about, resolved once per invocation."""

    spec_path: Path
    loaded: LoadedSpec | None
    error: SpecError | None
    socket_override: str | None

    @property
    def workspace(self) -> Path:
        if self.loaded is not None:
            return self.loaded.workspace
        return self.spec_path.parent.resolve()

    @property
    def socket(self) -> str | None:
        if self.socket_override:
            return self.socket_override
        return self.loaded.spec.runtime.tmux_socket if self.loaded else None

    def require_spec(self) -> LoadedSpec:
        if self.loaded is None:
            assert self.error is not None
            fail(str(self.error), EXIT_SPEC_INVALID)
        return self.loaded

    def engine(self) -> Engine:
        return Engine(
            spec_path=self.spec_path,
            workspace=self.workspace,
            tmux_socket=self.socket_override,
            last_good=self.loaded,  # its first pass need not parse the same text again
        )


def fail(message: str, code: int) -> NoReturn:
    click.echo(f"team-agent: {message}", err=True)
    sys.exit(code)


def console() -> Console:
    return Console(highlight=False, soft_wrap=not sys.stdout.isatty())


def target(ctx: click.Context) -> Target:
    """Find and load the spec; a missing spec is a usage error (exit 2)."""
    try:
        path = find_spec(ctx.obj["spec_file"], Path.cwd())
    except SpecNotFound as err:
        fail(str(err), EXIT_SPEC_INVALID)
    try:
        return Target(path, load_spec(path), None, ctx.obj["socket"])
    except SpecError as err:
        return Target(path, None, err, ctx.obj["socket"])


def run_pass(engine: Engine) -> PassResult:
    try:
        return engine.reconcile()
    except StateUnwritable as err:
        fail(str(err), EXIT_UNUSABLE)


class Locked:
    """Hold the workspace lock, or exit 3 naming the holder."""

    def __init__(self, t: Target, timeout: str) -> None:
        try:
            state = ensure_state_dir(t.workspace)
        except StateUnwritable as err:
            fail(str(err), EXIT_UNUSABLE)
        self.lock = WorkspaceLock(state, timeout=parse_duration(timeout))

    def __enter__(self) -> WorkspaceLock:
        try:
            self.lock.acquire()
        except LockHeld as err:
            fail(f"another reconciler holds the lock: {err}", EXIT_LOCKED)
        except StateUnwritable as err:
            fail(str(err), EXIT_UNUSABLE)
        return self.lock

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


def read_status(t: Target) -> TeamStatus | None:
    try:
        return StatusStore(t.workspace / ".team").read()
    except StatusCorrupt as err:
        fail(str(err), EXIT_UNUSABLE)


def agent_pane(t: Target, agent: str) -> tuple[Tmux, Pane]:
    loaded = t.require_spec()
    tmux = Tmux(socket_name=t.socket)
    try:
        world = observe(tmux)
    except TmuxUnavailable as err:
        fail(str(err), EXIT_UNUSABLE)
    panes = [
        p
        for p in world.owned_panes(loaded.spec.team_id, str(loaded.workspace))
        if p.agent == agent and p.session_name == loaded.spec.session_name
    ]
    if not panes:
        fail(f"agent {agent!r} has no pane (is the team up?)", EXIT_NOT_READY)
    return tmux, panes[0]

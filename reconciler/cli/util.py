"""What every verb shares: finding the spec, exit codes, the lock, output.

Exit codes are part of the contract (DESIGN.md, CLI): 0 Ready, 1 not Ready (or a wait
timed out), 2 invalid spec or usage, 3 another reconciler holds the lock, 4 tmux or the
environment unusable.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click
import psutil

from reconciler.api.durations import parse_duration
from reconciler.api.errors import (
    LockHeld,
    SpecError,
    SpecNotFound,
    StateUnwritable,
)
from reconciler.api.exitcodes import EXIT_LOCKED, EXIT_SPEC_INVALID, EXIT_UNUSABLE
from reconciler.api.status import STATE_DIR, TeamStatus
from reconciler.cli.output import Output
from reconciler.observe.procs import is_same_process
from reconciler.specfile.locate import find_spec
from reconciler.specfile.summary import SpecSummary, read_summary, summarize, write_summary
from reconciler.store.freshness import DEFAULT_RESYNC_SEC, Observation, ReconcilerHolder, assess
from reconciler.store.lock import LOCK_FILE, LockHolder, WorkspaceLock, read_holder
from reconciler.store.statusfile import StatusCorrupt, StatusStore, ensure_state_dir

if TYPE_CHECKING:  # the engine is imported by the verbs that run one (see Target.engine)
    from reconciler.engine.engine import Engine, PassResult
    from reconciler.specfile.load import LoadedSpec

OUTPUT = click.Choice(["table", "json", "yaml"])


class Target:
    """Which spec and workspace a command is about, resolved once per invocation.

    The spec is parsed (ruamel and the pydantic models, about 60 ms) only when a verb needs
    more than its summary: the workspace, team id, members, resync interval and socket
    come from `reconciler.specfile.summary` while the spec's text is the one summarised,
    so `status` or `inbox` from an agent's turn reads two small files instead. A verb
    that parses writes the summary for the next one.
    """

    def __init__(
        self,
        spec_path: Path,
        socket_override: str | None,
        *,
        summary: SpecSummary | None = None,
        loaded: LoadedSpec | None = None,
        error: SpecError | None = None,
    ) -> None:
        self.spec_path = spec_path
        self.socket_override = socket_override
        self.summary = summarize(loaded) if summary is None and loaded is not None else summary
        self._loaded = loaded
        self._error = error
        self._tried = loaded is not None or error is not None

    def _load(self) -> None:
        if self._tried:
            return
        self._tried = True
        from reconciler.specfile.load import load_spec  # only when the summary is not enough

        try:
            self._loaded = load_spec(self.spec_path)
        except SpecError as err:
            self._error = err
            return
        self.summary = summarize(self._loaded)
        write_summary(self.summary)

    @property
    def loaded(self) -> LoadedSpec | None:
        self._load()
        return self._loaded

    @property
    def error(self) -> SpecError | None:
        self._load()
        return self._error

    def _summary(self) -> SpecSummary | None:
        """The summary, from a load when there is none yet (None: the spec does not load)."""
        if self.summary is None:
            self._load()
        return self.summary

    def require_summary(self) -> SpecSummary:
        """The summary, or exit 2 naming what is wrong with the spec."""
        found = self._summary()
        return found if found is not None else summarize(self.require_spec())

    @property
    def workspace(self) -> Path:
        found = self._summary()
        return Path(found.workspace) if found is not None else self.spec_path.parent.resolve()

    @property
    def socket(self) -> str | None:
        if self.socket_override:
            return self.socket_override
        found = self._summary()
        return found.tmux_socket if found is not None else None

    @property
    def members(self) -> list[str] | None:
        """The declared agents (None: the spec cannot be loaded)."""
        found = self._summary()
        return list(found.members) if found is not None else None

    @property
    def resync_interval(self) -> float:
        """`runtime.resync_interval_sec` (the default when the spec cannot be loaded)."""
        found = self._summary()
        return found.resync_interval_sec if found is not None else DEFAULT_RESYNC_SEC

    def require_spec(self) -> LoadedSpec:
        if self.loaded is None:
            assert self.error is not None
            fail(str(self.error), EXIT_SPEC_INVALID)
        return self.loaded

    def engine(self) -> Engine:
        """An engine for this spec. Imported here, not at the top: the engine pulls in every
        controller and provider (about half of a `reconcile --once`'s start-up), which
        `status`, `wait` and the other verbs that only read must not pay for."""
        from reconciler.engine.engine import Engine

        return Engine(
            spec_path=self.spec_path,
            workspace=self.workspace,
            tmux_socket=self.socket_override,
            last_good=self.loaded,  # its first pass need not parse the same text again
        )


def fail(message: str, code: int) -> NoReturn:
    click.echo(f"team-agent: {message}", err=True)
    sys.exit(code)


def console() -> Output:
    """Where the verb prints (rich only once a table is drawn)."""
    return Output()


def invocation() -> str:
    """How to run this team-agent again, for the hints we print ("next: …").

    After `./scripts/demo` the program is `.venv/bin/team-agent`, which is not on PATH, so
    a hint saying `team-agent` would not work: name the program by its path unless PATH
    finds this very program under its plain name.
    """
    program = Path(sys.argv[0])
    if program.name != "team-agent":  # `python -m reconciler` (argv[0] is __main__.py)
        return f"{shlex.quote(sys.executable)} -m reconciler"
    found = shutil.which("team-agent")
    with contextlib.suppress(OSError):
        if found is not None and os.path.samefile(found, program):
            return "team-agent"
    return shlex.quote(shown_path(program))


def shown_path(path: Path) -> str:
    """`path` relative to the current folder when it is under it (shorter hints), else absolute."""
    absolute = path.absolute()
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


def running_reconciler(workspace: Path) -> LockHolder | None:
    """The live process that holds the workspace lock (`run`, `reconcile`, `down`), if any.

    The lock file records its holder and the holder clears the record when it releases;
    one killed with SIGKILL leaves it behind, so the pid and its start time are checked
    against the live process. Reading the record never takes the lock, which a running
    `reconcile` could then fail to get.
    """
    holder = read_holder(workspace / STATE_DIR / LOCK_FILE)
    if holder is None:
        return None
    if holder.createTime is None:
        return holder if psutil.pid_exists(holder.pid) else None
    return holder if is_same_process(holder.pid, holder.createTime) else None


def reconciler_holder(workspace: Path) -> ReconcilerHolder | None:
    """`running_reconciler` as the `observation` printed beside a status names it."""
    holder = running_reconciler(workspace)
    if holder is None:
        return None
    return ReconcilerHolder(pid=holder.pid, acquiredAt=holder.acquiredAt)


def observation_of(t: Target, status: TeamStatus, now: datetime) -> Observation:
    """How current `status` (read from the file) is at `now`; reads the lock's record only."""
    return assess(
        status,
        now=now,
        resync_sec=t.resync_interval,
        reconciler=reconciler_holder(t.workspace),
    )


def target(ctx: click.Context) -> Target:
    """Find the spec (loaded when first needed); a missing spec is a usage error (exit 2)."""
    try:
        path = find_spec(ctx.obj["spec_file"], Path.cwd())
    except SpecNotFound as err:
        fail(str(err), EXIT_SPEC_INVALID)
    path = path.absolute()
    return Target(path, ctx.obj["socket"], summary=read_summary(path))


def run_pass(engine: Engine) -> PassResult:
    try:
        return engine.reconcile()
    except StateUnwritable as err:
        fail(str(err), EXIT_UNUSABLE)


class Locked:
    """Hold the workspace lock, or exit 3 naming the holder."""

    def __init__(
        self, t: Target, timeout: str, *, verb: str, accepts: tuple[str, ...] = ()
    ) -> None:
        try:
            state = ensure_state_dir(t.workspace)
        except StateUnwritable as err:
            fail(str(err), EXIT_UNUSABLE)
        self.lock = WorkspaceLock(
            state, timeout=parse_duration(timeout), verb=verb, accepts=accepts
        )

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

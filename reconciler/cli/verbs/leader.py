"""Verbs that set the leader up: `identity` (which UUID the team expects) and `leader`
(start the leader conversation in this pane, or in a new tmux session).

`leader` never takes the workspace lock (`team-agent run` holds it for as long as it
runs): it marks the caller's own pane, records the hint (`.team/leader.json`) and execs
the leader; the reconciler observes the result next pass. Moving ownership between panes
is in `reconciler.cli.verbs.ownership`.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import NoReturn

import click
import psutil

from controllers.leader.caller import CallerRef, caller_ref
from controllers.leader.identity import (
    ENV_LEADER_UUID_OVERRIDE,
    ENV_MACHINE_FINGERPRINT,
    Identity,
    short_uuid,
)
from controllers.leader.launch import (
    LEADER_PROVIDERS,
    LeaderLaunch,
    LeaderUsageError,
    leader_launch,
)
from controllers.leader.records import (
    LeaderHint,
    owner_uuid,
    read_hint,
    read_owner,
    write_hint,
)
from reconciler.api import markers
from reconciler.api.clock import format_time
from reconciler.api.errors import StateUnwritable, TmuxUnavailable
from reconciler.api.exitcodes import EXIT_NOT_READY, EXIT_SPEC_INVALID, EXIT_UNUSABLE
from reconciler.api.retrying import poll
from reconciler.cli.util import Target, fail, target
from reconciler.cli.verbs.identity import identity_of
from reconciler.launcher.interpreter import module_argv
from reconciler.observe.tmux import ServerNotRunning, Tmux, TmuxCommandError, format_literal
from reconciler.specfile.load import LoadedSpec
from reconciler.store.statusfile import ensure_state_dir

HINT_WAIT_SEC = 15.0


def state_of(t: Target) -> Path:
    """The workspace's `.team/` folder, created if needed (or exit 4)."""
    try:
        return ensure_state_dir(t.workspace)
    except StateUnwritable as err:
        fail(str(err), EXIT_UNUSABLE)


@click.command(
    context_settings={"ignore_unknown_options": True},
    epilog=(
        "Inside tmux the leader replaces this command in the current pane; outside tmux "
        "a new tmux session runs it (attached when the terminal is interactive)."
    ),
)
@click.argument("provider", type=click.Choice(LEADER_PROVIDERS))
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.option("-d", "--detach", is_flag=True, help="Outside tmux: do not attach.")
@click.option(
    "--socket",
    "socket_name",
    envvar="TEAM_AGENT_LEADER_TMUX_SOCKET",
    default=None,
    help="Outside tmux: tmux -L NAME for the new session (default: your default server).",
)
@click.option("--session", "session_name", default=None, help="Outside tmux: session name.")
@click.pass_context
def leader(
    ctx: click.Context,
    provider: str,
    args: tuple[str, ...],
    detach: bool,
    socket_name: str | None,
    session_name: str | None,
) -> None:
    """Start the leader conversation: team-agent leader PROVIDER [-- ARGS...].

    The leader gets TEAM_AGENT_LEADER_SESSION_UUID (the team's leader UUID, see
    `identity`), TEAM_AGENT_LEADER_PROVIDER, TEAM_AGENT_MACHINE_FINGERPRINT,
    TEAM_AGENT_WORKSPACE and TEAM_AGENT_TEAM_ID, works in the workspace, and its pane is
    marked with the UUID (tmux pane option @team_agent_leader_uuid). Where it started is
    recorded in .team/leader.json so the reconciler observes that tmux server.
    """
    t = target(ctx)
    loaded = t.require_spec()
    ident = identity_of(loaded.spec.team_id, loaded.workspace)
    state = state_of(t)
    try:
        launch = leader_launch(
            provider,
            args,
            spec_leader=loaded.spec.leader,
            identity=ident,
            inherited=os.environ,
            python=sys.executable,
        )
    except LeaderUsageError as err:
        fail(str(err), EXIT_SPEC_INVALID)
    ref = caller_ref(os.environ)
    if ref is None:
        _start_session(
            t,
            loaded,
            provider=provider,
            args=args,
            socket_name=socket_name,
            session_name=session_name,
            detach=detach,
            state=state,
        )
        return
    _exec_here(ref, loaded, ident=ident, launch=launch, provider=provider, state=state)


def _exec_here(
    ref: CallerRef,
    loaded: LoadedSpec,
    *,
    ident: Identity,
    launch: LeaderLaunch,
    provider: str,
    state: Path,
) -> NoReturn:
    """Mark the caller's pane, record the hint, and become the leader (exec)."""
    if shutil.which(launch.argv[0], path=launch.env.get("PATH")) is None:
        fail(f"{launch.argv[0]!r} is not installed (not found on PATH)", EXIT_UNUSABLE)
    server_pid, pane_pid = _mark_pane(ref, ident)
    hint = LeaderHint(
        socket=ref.socket,
        serverPid=server_pid,
        paneId=ref.pane_id,
        panePid=pane_pid,
        uuid=ident.uuid,
        provider=provider,
        command=launch.program,
        startedAt=format_time(datetime.now(timezone.utc)),
    )
    try:
        write_hint(state, hint)
    except StateUnwritable as err:
        fail(str(err), EXIT_UNUSABLE)
    owner = read_owner(state)
    if owner is not None and owner_uuid(owner, ident.uuid) != ident.uuid:
        click.echo(
            f"warning: ownership was taken over by UUID {short_uuid(owner.uuid)} (epoch "
            f"{owner.epoch}); this leader is not bound until `team-agent takeover --confirm` "
            "is run from it",
            err=True,
        )
    os.chdir(loaded.workspace)
    try:
        os.execvpe(launch.argv[0], list(launch.argv), dict(launch.env))
    except OSError as err:
        fail(f"cannot run {launch.argv[0]!r}: {err.strerror}", EXIT_UNUSABLE)


def _mark_pane(ref: CallerRef, ident: Identity) -> tuple[int, int | None]:
    """Mark the caller's pane with the leader UUID and this process (pid and create time,
    which the exec keeps); return the tmux server's pid and the pane's, or exit 4."""
    tmux = Tmux(socket_path=ref.socket)
    try:
        line = tmux.run("display-message", "-p", "-t", ref.pane_id, "#{pid}\x1f#{pane_pid}")[0]
        server_text, pane_pid_text = [*line.split("\x1f"), ""][:2]
        server_pid = int(server_text)
        if ref.server_pid is not None and server_pid != ref.server_pid:
            fail(
                f"$TMUX names server pid {ref.server_pid}, {ref.socket} is {server_pid}",
                EXIT_UNUSABLE,
            )
        me = psutil.Process()
        tmux.run_sequence(
            [
                ["set-option", "-p", "-t", ref.pane_id, markers.LEADER_UUID, ident.uuid],
                [
                    *("set-option", "-p", "-t", ref.pane_id, markers.LEADER_PID),
                    f"{me.pid}:{me.create_time()!r}",
                ],
            ]
        )
    except (ServerNotRunning, TmuxCommandError, TmuxUnavailable, ValueError, IndexError) as err:
        fail(f"cannot mark pane {ref.pane_id} on {ref.socket}: {err}", EXIT_UNUSABLE)
    return server_pid, int(pane_pid_text) if pane_pid_text.isdigit() else None


def _start_session(
    t: Target,
    loaded: LoadedSpec,
    *,
    provider: str,
    args: tuple[str, ...],
    socket_name: str | None,
    session_name: str | None,
    detach: bool,
    state: Path,
) -> None:
    """Outside tmux: a new session whose pane runs `team-agent leader` (inside tmux)."""
    tmux = Tmux(socket_name=socket_name)
    session = session_name or f"leader-{loaded.spec.team.name}"
    # Not `-m`: the pane starts in the workspace, which may hold its own `reconciler/`.
    inner = module_argv(sys.executable, "reconciler", "-f", str(t.spec_path.resolve()))
    inner += ["leader", provider, "--", *args]
    env_flags: list[str] = []
    for name in (ENV_LEADER_UUID_OVERRIDE, ENV_MACHINE_FINGERPRINT, "USER"):
        if os.environ.get(name):
            env_flags += ["-e", f"{name}={os.environ[name]}"]
    try:
        line = tmux.run(
            "new-session",
            "-d",
            "-s",
            session,
            "-c",
            format_literal(str(loaded.workspace)),
            *env_flags,
            "-P",
            "-F",
            "#{pid}\x1f#{pane_id}",
            "--",
            *inner,
        )[0]
    except TmuxCommandError as err:
        fail(f"cannot create tmux session {session!r}: {err.stderr} (see --session)", 1)
    except TmuxUnavailable as err:
        fail(str(err), EXIT_UNUSABLE)
    server_pid, pane_id = [*line.split("\x1f"), ""][:2]
    where = " ".join(tmux.base_argv())
    _await_hint(state, server_pid, pane_id, where=where, session=session)
    click.echo(f"leader started in tmux session {session} (pane {pane_id}): {where}")
    if not detach and sys.stdin.isatty() and sys.stdout.isatty():
        argv = [*tmux.base_argv(), "attach-session", "-t", f"={session}"]
        os.execvp(argv[0], argv)


def _await_hint(state: Path, server_pid: str, pane_id: str, *, where: str, session: str) -> None:
    """Wait until the leader started in `pane_id` has written its hint (it marks itself)."""

    def marks_it(hint: LeaderHint | None) -> bool:
        return hint is not None and (str(hint.serverPid), hint.paneId) == (server_pid, pane_id)

    hint = poll(
        lambda: read_hint(state),
        until=marks_it,
        deadline=time.monotonic() + HINT_WAIT_SEC,
        interval=0.05,
    )
    if not marks_it(hint):
        fail(
            f"the leader did not mark pane {pane_id} within {HINT_WAIT_SEC:g}s; "
            f"look at it with `{where} attach -t ={session}`",
            EXIT_NOT_READY,
        )

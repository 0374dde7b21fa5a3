"""How the agents controller's actions are carried out against tmux and processes.

The plan decided what and why (`controllers.agents.actions`); this module knows only how,
and adds the safety of the moment of acting, because the world may have moved since the
snapshot:

* before touching a pane it re-reads that pane's markers and the server pid in one tmux
  call and refuses when they are not ours or the server was replaced (pane ids restart at
  `%0` with a new server, so an old id may name someone else's pane);
* before a signal, `procs.terminate` re-checks pid and create time;
* a pane is killed only while it runs the process we started in it (or nothing): the
  condition is evaluated by tmux in the same command (`if-shell -F`), so a person who
  respawns the pane with their own command a moment before never loses it.

A window is created and marked in one tmux invocation (a `;` sequence at an explicit,
free window index), so a crash of ours between "create" and "mark" cannot leave an
unmarked agent window behind, and `remain-on-exit` is set before the agent can exit.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
from collections.abc import Sequence
from pathlib import Path

from typing_extensions import assert_never

from controllers.agents.actions import (
    AgentAction,
    CreateAgent,
    NudgeServer,
    RecreateAgent,
    ReleasePane,
    RenameSession,
    RestartAgent,
    SendKeys,
    SessionStart,
    StopAgent,
)
from reconciler.api import markers
from reconciler.api.actions import Outcome, ProcessRef
from reconciler.api.errors import TeamAgentError, TransientError
from reconciler.api.launch import ENV_CONFIG_HASH, LaunchConfig
from reconciler.api.retrying import retry_call
from reconciler.apply.executor import ApplyContext
from reconciler.apply.pane_check import Owner, PaneNotOurs, PaneNow, recheck_pane
from reconciler.launcher.interpreter import module_argv
from reconciler.observe.procs import signal_process, terminate
from reconciler.observe.tmux import ServerNotRunning, TmuxCommandError, format_literal
from reconciler.observe.world import FIELD_SEPARATOR

CREATED_FORMAT = "#{window_index}\x1f#{window_id}\x1f#{pane_id}"
SESSION_SIZE = ("-x", "200", "-y", "50")


def apply_agent_action(action: AgentAction, ctx: ApplyContext) -> Outcome:
    """Carry out one agents-controller action (exhaustive: mypy checks every type is here)."""
    match action:
        case CreateAgent():
            return _create(action, ctx)
        case RestartAgent() | RecreateAgent():
            return _restart(action, ctx)
        case StopAgent():
            return _stop(action, ctx)
        case ReleasePane():
            return _release(action, ctx)
        case RenameSession():
            return _rename_session(action, ctx)
        case NudgeServer():
            return _nudge(action, ctx)
        case SendKeys():
            return _send_keys(action, ctx)
        case _:
            assert_never(action)


def _launch_argv(
    ctx: ApplyContext,
    agent: str,
    launch: LaunchConfig,
    config_hash: str,
    session: SessionStart | None = None,
) -> list[str]:
    """Write the 0600 launch file the pane's first program reads, and return that program.

    The agent's argv is the launch configuration's, or the session's (a pre-assigned id or
    a resume) when the plan gave one; the config hash is the launch configuration's either way.
    """
    folder = ctx.state_dir / "launch"
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / f"{agent}-{secrets.token_hex(6)}.json"
    env = dict(launch.env)
    env[ENV_CONFIG_HASH] = config_hash
    agent_argv = session.argv if session is not None else launch.argv
    launch_data: dict[str, object] = {"argv": list(agent_argv), "cwd": launch.cwd, "env": env}
    if session is not None and session.prepare:
        # Run by the pane right before the agent (reconciler.launcher.exec_agent): see SessionStart.
        launch_data["prepare"] = {"argv": list(session.prepare), "file": session.prepare_file}
    payload = json.dumps(launch_data)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(payload)
    # Not `-m`: the pane starts in the workspace, which may hold its own `controllers/`.
    return module_argv(ctx.python, "reconciler.launcher.exec_agent", str(path))


def _discard_launch_file(argv: Sequence[str]) -> None:
    Path(argv[-1]).unlink(missing_ok=True)


def _launched_pid_command(target: str) -> list[str]:
    """Record, as tmux sees it, the pid of the process just started in `target`.

    `-F` makes tmux expand `#{pane_pid}` itself, in the invocation that spawned the
    process, so the marker is right from the first instant and costs no extra call.
    """
    return ["set-option", "-p", "-F", "-t", target, markers.PANE_PID, "#{pane_pid}"]


# True (1) while the target pane runs the process we started in it, or is dead, or was made
# before `markers.PANE_PID` existed; tmux evaluates it at the moment it kills.
STILL_OURS = (
    "#{||:#{pane_dead},#{||:#{==:#{" + markers.PANE_PID + "},},"
    "#{==:#{pane_pid},#{" + markers.PANE_PID + "}}}}"
)


def _mark_commands(target: str, ctx: ApplyContext, agent: str, config_hash: str) -> list[list[str]]:
    return [
        ["set-option", "-w", "-t", target, "remain-on-exit", "on"],
        # A window hook: tmux looks pane events up in pane and window options only.
        ["set-hook", "-w", "-t", target, "pane-died", f"wait-for -S {ctx.wake_channel}"],
        ["set-option", "-w", "-t", target, markers.WINDOW, agent],
        ["set-option", "-p", "-t", target, markers.TEAM, ctx.team_id],
        ["set-option", "-p", "-t", target, markers.AGENT, agent],
        ["set-option", "-p", "-t", target, markers.WORKSPACE, ctx.workspace],
        ["set-option", "-p", "-t", target, markers.CONFIG_HASH, config_hash],
        _launched_pid_command(target),
    ]


def _create(action: CreateAgent, ctx: ApplyContext) -> Outcome:
    argv = _launch_argv(
        ctx, action.agent, action.launch, action.config_hash, action.provider_session
    )
    try:
        # Only a transient failure (a racing client took the window index) is tried again.
        lines = retry_call(
            lambda e: isinstance(e, TransientError),
            _create_once,
            action,
            ctx,
            argv,
            attempts=3,
            pause=0.05,
        )
    except (TeamAgentError, OSError):
        _discard_launch_file(argv)
        raise
    index, window_id, pane_id = [*lines[0].split("\x1f"), "", "", ""][:3]
    if index.isdigit():
        ctx.saw_index(action.session, int(index))
    return Outcome(action=action, ok=True, pane_id=pane_id, window_id=window_id)


def _create_once(action: CreateAgent, ctx: ApplyContext, argv: list[str]) -> list[str]:
    # `=name:` is an exact-match target (no prefix matching of session names); tmux 3.3
    # resolves session options only through such a window-style target.
    session_target = f"={action.session}:"
    if action.new_session:
        target = session_target
        commands = [
            [
                "new-session",
                "-d",
                "-s",
                action.session,
                *SESSION_SIZE,
                "-n",
                action.agent,
                "-c",
                format_literal(ctx.workspace),
                "-P",
                "-F",
                CREATED_FORMAT,
                "--",
                *argv,
            ],
            ["set-option", "-t", session_target, markers.SESSION_WORKSPACE, ctx.workspace],
            # Nobody attaches to our sessions: a person's `destroy-unattached on` (session)
            # or `exit-unattached on` (server) in ~/.tmux.conf would end the team as soon
            # as this invocation returns, so both are switched off before it does.
            ["set-option", "-t", session_target, "destroy-unattached", "off"],
            ["set-option", "-s", "exit-unattached", "off"],
            *_mark_commands(target, ctx, action.agent, action.config_hash),
        ]
    else:
        index = ctx.allocate_index(action.session)
        target = f"{session_target}{index}"
        commands = [
            [
                "new-window",
                "-d",
                "-t",
                target,
                "-n",
                action.agent,
                "-c",
                format_literal(ctx.workspace),
                "-P",
                "-F",
                CREATED_FORMAT,
                "--",
                *argv,
            ],
            *_mark_commands(target, ctx, action.agent, action.config_hash),
        ]
    try:
        return ctx.tmux.run_sequence(commands)
    except TmuxCommandError as err:
        if "in use" in err.stderr:
            raise TransientError(err.stderr) from err
        raise


def _check_ours(
    ctx: ApplyContext,
    pane_id: str,
    agent: str,
    process: ProcessRef | None = None,
    *,
    screen: bool = False,
    team: str | None = None,
) -> PaneNow:
    """Re-read the pane's markers, its process and the server pid right before acting on
    the pane (and its screen when the action types into it). `team`: the team id the pane
    must carry when it is not this team's (a former incarnation being stopped)."""
    return recheck_pane(
        ctx.tmux,
        pane_id,
        server_pid=ctx.world.server_pid,
        owner=Owner(team or ctx.team_id, agent, ctx.workspace),
        process=process,
        screen=screen,
    )


def _respawn(
    pane_id: str,
    ctx: ApplyContext,
    *,
    agent: str,
    launch: LaunchConfig,
    config_hash: str,
    kill: bool,
    session: SessionStart | None = None,
) -> None:
    argv = _launch_argv(ctx, agent, launch, config_hash, session)
    flags = ["-k"] if kill else []
    try:
        ctx.tmux.run_sequence(
            [
                [
                    "respawn-pane",
                    *flags,
                    "-t",
                    pane_id,
                    "-c",
                    format_literal(ctx.workspace),
                    "--",
                    *argv,
                ],
                ["set-option", "-p", "-t", pane_id, markers.CONFIG_HASH, config_hash],
                _launched_pid_command(pane_id),
            ]
        )
    except (TeamAgentError, OSError):
        _discard_launch_file(argv)
        raise


def _terminate_agent(process: ProcessRef, grace: float) -> None:
    """Stop an agent's process and the process group it leads.

    tmux starts each pane's process as the leader of its own group, and the agent CLIs
    run children there: Gemini's launcher ignores SIGTERM while its worker child outlives
    the pane (measured on 0.61.0), so signalling the pid alone would leave the child
    running. The group is signalled only while `process` still leads it (pid, create
    time and pgid re-checked right before each signal, `reconciler.observe.procs`).
    """
    terminate(process.pid, process.create_time, grace=grace, group=True)


def _restart(action: RestartAgent | RecreateAgent, ctx: ApplyContext) -> Outcome:
    """Start the agent again in its own pane; a recreate first stops the running process."""
    _check_ours(ctx, action.pane, action.agent)
    recreate = isinstance(action, RecreateAgent)
    if isinstance(action, RecreateAgent) and action.process is not None:
        _terminate_agent(action.process, action.grace_sec)
        # The grace period is long enough for a person to respawn the pane meanwhile.
        _check_ours(ctx, action.pane, action.agent)
    _respawn(
        action.pane,
        ctx,
        agent=action.agent,
        launch=action.launch,
        config_hash=action.config_hash,
        kill=recreate,
        session=action.provider_session,
    )
    return Outcome(action=action, ok=True, pane_id=action.pane)


LEFT_ALONE = "team-agent: not ours"


def _stop(action: StopAgent, ctx: ApplyContext) -> Outcome:
    _check_ours(ctx, action.pane, action.agent, team=action.team)
    if action.process is not None:
        _terminate_agent(action.process, action.grace_sec)
    kill = f"kill-pane -t {action.pane}"
    if action.kill_window:
        # Decided inside tmux, atomically: a pane split into the window since the
        # snapshot keeps the window alive and only our pane goes.
        kill = (
            f"if-shell -F -t {action.pane} '#{{==:#{{window_panes}},1}}' "
            f"'kill-window -t {action.window}' '{kill}'"
        )
    try:
        lines = ctx.tmux.run(
            "if-shell",
            "-F",
            "-t",
            action.pane,
            STILL_OURS,
            kill,
            f"display-message -p '{LEFT_ALONE}'",
        )
    except TmuxCommandError as err:
        if not err.target_gone:
            raise
        lines = []
    if LEFT_ALONE in lines:
        raise PaneNotOurs(f"pane {action.pane} runs a process team-agent did not start; kept")
    return Outcome(action=action, ok=True, pane_id=action.pane, window_id=action.window)


def _release(action: ReleasePane, ctx: ApplyContext) -> Outcome:
    """Unmark a pane a person took over; its process is checked, never signalled."""
    recheck_pane(
        ctx.tmux,
        action.pane,
        server_pid=ctx.world.server_pid,
        owner=Owner(ctx.team_id, action.agent, ctx.workspace),
        process=action.process,
        foreign=True,
    )
    commands = [
        ["set-option", "-p", "-u", "-t", action.pane, marker] for marker in markers.PANE_MARKERS
    ]
    if action.window is not None:
        commands += [
            ["set-option", "-w", "-u", "-t", action.window, markers.WINDOW],
            ["set-hook", "-w", "-u", "-t", action.window, "pane-died"],
            ["set-option", "-w", "-u", "-t", action.window, "remain-on-exit"],
        ]
    ctx.tmux.run_sequence(commands)
    return Outcome(action=action, ok=True, pane_id=action.pane, window_id=action.window)


class SessionNotOurs(TeamAgentError):
    """The session to rename is gone, was renamed, lost our marker, or the server was
    replaced since the snapshot: hands off."""


_SESSION_FORMAT = FIELD_SEPARATOR.join(
    ["#{pid}", "#{session_name}", "#{" + markers.SESSION_WORKSPACE + "}"]
)


def _rename_session(action: RenameSession, ctx: ApplyContext) -> Outcome:
    """Rename the team's session by id, after re-reading that it is still the one planned.

    A rename kills nothing, so the short gap between the check and the rename is
    harmless; the name is an argv element, never part of a tmux command string.
    """
    try:
        lines = ctx.tmux.run("display-message", "-p", "-t", f"{action.session}:", _SESSION_FORMAT)
    except ServerNotRunning as err:
        raise SessionNotOurs(f"session {action.old}: the tmux server is gone") from err
    except TmuxCommandError as err:
        if err.target_gone:
            raise SessionNotOurs(f"session {action.old} is gone") from err
        raise
    server, name, workspace = [*(lines[0] if lines else "").split(FIELD_SEPARATOR), "", ""][:3]
    if action.server_pid is not None and server != str(action.server_pid):
        raise SessionNotOurs(f"session {action.old}: the tmux server was replaced")
    if (name, workspace) != (action.old, action.workspace):
        raise SessionNotOurs(
            f"session {action.session} is no longer {action.old} of {action.workspace}"
        )
    ctx.tmux.run("rename-session", "-t", action.session, action.new)
    # Windows created later in this pass go after the ones the session already holds.
    for pane in ctx.world.session_panes(action.old):
        ctx.saw_index(action.new, pane.window_index)
    return Outcome(action=action, ok=True)


def _nudge(action: NudgeServer, ctx: ApplyContext) -> Outcome:
    sent = signal_process(action.server.pid, action.server.create_time, signal.SIGCHLD)
    message = "" if sent else "tmux server changed since the snapshot; not signalled"
    return Outcome(action=action, ok=sent, message=message, pane_id=action.pane)


class DialogGone(TeamAgentError):
    """The dialog a SendKeys was planned for is no longer on screen: nothing was typed."""


def _send_keys(action: SendKeys, ctx: ApplyContext) -> Outcome:
    """Type a dialog's answer, only if the pane still is what the plan saw (see SendKeys)."""
    text = _check_ours(ctx, action.pane, action.agent, action.process, screen=True).screen.joined
    if re.search(action.expect, text, re.MULTILINE) is None or action.shows not in text:
        raise DialogGone(f"pane {action.pane} no longer shows the {action.dialog} dialog")
    ctx.tmux.run("send-keys", "-t", action.pane, *action.keys)
    return Outcome(action=action, ok=True, pane_id=action.pane)

"""Agents whose process exited: restart now, after the backoff, never, or wait for tmux.

The order of the checks is the decision: an exit tmux has not collected yet (no exit
code) is waited for; a missing executable is reported rather than restarted into exit
127 again; a changed configuration starts at once (a new start skips the backoff); then
`restart_policy` and the crash-loop backoff of `controllers.agents.backoff` apply.
"""

from __future__ import annotations

from dataclasses import dataclass

from controllers.agents.actions import NudgeServer, RestartAgent
from controllers.agents.backoff import RestartDecision, next_restart, wants_restart
from controllers.agents.status import (
    RESTART_REQUESTED,
    StartContext,
    StatusBuilder,
    applied_restart,
    held,
    restart_requested,
    session_start,
)
from controllers.team.desired import DesiredAgent
from reconciler.api import conditions as C
from reconciler.api.actions import Action, ProcessRef
from reconciler.api.clock import format_epoch, format_time, parse_time
from reconciler.api.status import AgentStatus, AgentStatusUpdate
from reconciler.observe.world import Pane, World

NUDGE_RETRY_SEC = 0.2


def plan_exited(
    desired: DesiredAgent,
    pane: Pane,
    b: StatusBuilder,
    *,
    world: World,
    config_hash: str,
    starts: StartContext,
) -> tuple[list[Action], AgentStatus, float | None]:
    """An agent whose process exited: restart now, later (backoff) or never (policy)."""
    assert desired.launch is not None
    server = _uncollected_exit(pane, world)
    if server is not None:
        return _nudge(desired, pane, b, server)
    # A live, non-zombie process behind a dead pane closed its terminal and lives on: for
    # the team it has exited (code unknown); the process itself is an orphan to report.
    exited = _Exit.of(desired, pane, now_ts=b.now.timestamp())
    executable = desired.launch.executable
    if not starts.installed.get(executable, False):
        # Restarting would only exit 127 again: report it, as for an agent never started.
        b.set(C.READY, C.FALSE, C.PROVIDER_NOT_INSTALLED, f"{executable!r} was not found on PATH")
        b.set(C.CRASH_LOOP_BACK_OFF, C.FALSE, C.PROVIDER_NOT_INSTALLED)
        return [], b.build(exited.fields), None
    if pane.config_hash != config_hash:
        return _start_new_config(desired, pane, b, exited, config_hash=config_hash, starts=starts)
    policy = desired.agent.restart_policy
    if not wants_restart(policy, exited.code):
        reason = C.COMPLETED if exited.code == 0 else C.EXITED
        b.set(C.READY, C.FALSE, reason, f"exited with code {exited.code}; restart_policy {policy}")
        b.set(C.CRASH_LOOP_BACK_OFF, C.FALSE, reason)
        return [], b.build(exited.fields), None
    prev = b.previous
    started = parse_time(prev.startedAt).timestamp() if prev.startedAt else None
    decision = next_restart(exited_at=exited.at, started_at=started, backoff_sec=prev.backoffSec)
    if b.now.timestamp() + 1e-6 < decision.restart_at:
        return _back_off(b, exited, decision)
    return _restart(desired, pane, b, exited, decision, config_hash=config_hash, starts=starts)


@dataclass(frozen=True)
class _Exit:
    """The exit as observed: its code (None: unknown), when, and the status fields it sets."""

    code: int | None
    at: float
    fields: AgentStatusUpdate

    @classmethod
    def of(cls, desired: DesiredAgent, pane: Pane, *, now_ts: float) -> _Exit:
        at = pane.dead_time if pane.dead_time is not None else now_ts
        fields: AgentStatusUpdate = {
            "paneId": pane.pane_id,
            "windowId": pane.window_id,
            "pid": None,
            "pidCreateTime": None,
            "lastExitCode": pane.dead_status,
            "lastExitAt": format_epoch(at),
            "provider": desired.agent.provider,
        }
        return cls(code=pane.dead_status, at=at, fields=fields)


def _uncollected_exit(pane: Pane, world: World) -> ProcessRef | None:
    """The tmux server, when the agent exited but tmux has not collected it (tmux/tmux#311)."""
    process = world.processes.get(pane.pane_pid) if pane.pane_pid is not None else None
    server = world.processes.get(pane.server_pid)
    if pane.dead_status is None and process is not None and process.zombie and server:
        return ProcessRef(server.pid, server.create_time)
    return None


def _nudge(
    desired: DesiredAgent, pane: Pane, b: StatusBuilder, server: ProcessRef
) -> tuple[list[Action], AgentStatus, float | None]:
    """No exit code yet: nudge the server and look again shortly rather than decide without it."""
    b.set(C.READY, C.FALSE, C.EXITED, "exited; waiting for tmux to record the exit code")
    nudge = NudgeServer(agent=desired.id, pane=pane.pane_id, server=server)
    return [nudge], b.build(pid=None, pidCreateTime=None), NUDGE_RETRY_SEC


def _start_new_config(
    desired: DesiredAgent,
    pane: Pane,
    b: StatusBuilder,
    exited: _Exit,
    *,
    config_hash: str,
    starts: StartContext,
) -> tuple[list[Action], AgentStatus, float | None]:
    """A new configuration is a new start (a new pod, in Kubernetes terms): no backoff
    and no restart policy stand between the person's fix and the agent."""
    assert desired.launch is not None
    start = session_start(desired, b, starts.view, starts.team)
    if start.hold:
        return [], held(b, exited.fields), None
    cause = RESTART_REQUESTED if restart_requested(desired, b.previous) else "config changed"
    b.set(C.READY, C.FALSE, C.STARTING, f"{cause}: starting it")
    b.set(C.CRASH_LOOP_BACK_OFF, C.FALSE, C.STARTING)
    restart = RestartAgent(
        agent=desired.id,
        pane=pane.pane_id,
        launch=desired.launch,
        config_hash=config_hash,
        cause=cause,
        provider_session=start.start,
    )
    status = b.build(
        exited.fields,
        start.fields,
        applied_restart(desired),
        configHash=config_hash,
        backoffSec=0.0,
        backoffUntil=None,
        startedAt=format_time(b.now),
    )
    return [restart], status, None


def _back_off(
    b: StatusBuilder, exited: _Exit, decision: RestartDecision
) -> tuple[list[Action], AgentStatus, float | None]:
    """Crash-looping: not before the backoff's end, when the plan is asked for again."""
    b.set(C.READY, C.FALSE, C.EXITED, f"exited with code {exited.code}")
    b.set(
        C.CRASH_LOOP_BACK_OFF,
        C.TRUE,
        C.BACK_OFF,
        f"back-off {decision.restart_at - exited.at:g}s restarting failed agent "
        f"(exit code {exited.code}, {b.previous.restartCount} restarts)",
    )
    until = format_epoch(decision.restart_at)
    wait = decision.restart_at - b.now.timestamp()
    return [], b.build(exited.fields, backoffUntil=until), wait


def _restart(
    desired: DesiredAgent,
    pane: Pane,
    b: StatusBuilder,
    exited: _Exit,
    decision: RestartDecision,
    *,
    config_hash: str,
    starts: StartContext,
) -> tuple[list[Action], AgentStatus, float | None]:
    """The policy wants a restart and the backoff is over: restart it in its pane."""
    assert desired.launch is not None
    start = session_start(desired, b, starts.view, starts.team)
    if start.hold:
        return [], held(b, exited.fields), None
    restart = RestartAgent(
        agent=desired.id,
        pane=pane.pane_id,
        launch=desired.launch,
        config_hash=config_hash,
        cause=f"exited with code {exited.code}",
        provider_session=start.start,
    )
    b.set(C.READY, C.FALSE, C.STARTING, f"restarting after exit code {exited.code}")
    b.set(C.CRASH_LOOP_BACK_OFF, C.FALSE, C.STARTING)
    status = b.build(
        exited.fields,
        start.fields,
        applied_restart(desired),
        configHash=config_hash,
        restartCount=b.previous.restartCount + 1,
        backoffSec=decision.next_backoff_sec,
        backoffUntil=None,
        startedAt=format_time(b.now),
    )
    return [restart], status, None

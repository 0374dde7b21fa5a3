"""Agents whose process exited: restart now, after the backoff, never, or wait for tmux.

The order of the checks is the decision: an exit tmux has not collected yet (no exit
code) is waited for; a missing executable is reported rather than restarted into exit
127 again; a changed configuration starts at once (a new start skips the backoff); then
`restart_policy` and the crash-loop backoff of `controllers.agents.backoff` apply.
"""

from __future__ import annotations

from controllers.agents.backoff import next_restart, wants_restart
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
from reconciler.api.actions import (
    Action,
    NudgeServer,
    ProcessRef,
    RestartAgent,
)
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
    prev = b.previous
    process = world.processes.get(pane.pane_pid) if pane.pane_pid is not None else None
    server = world.processes.get(pane.server_pid)
    if pane.dead_status is None and process is not None and process.zombie and server:
        # The agent exited but tmux has not collected it (tmux/tmux#311): no exit code yet.
        # Nudge the server and look again shortly rather than decide without the code.
        b.set(C.READY, C.FALSE, C.EXITED, "exited; waiting for tmux to record the exit code")
        nudge = NudgeServer(
            agent=desired.id, pane=pane.pane_id, server=ProcessRef(server.pid, server.create_time)
        )
        return [nudge], b.build(pid=None, pidCreateTime=None), NUDGE_RETRY_SEC
    # A live, non-zombie process behind a dead pane closed its terminal and lives on: for
    # the team it has exited (code unknown); the process itself is an orphan to report.
    now_ts = b.now.timestamp()
    exited_at = pane.dead_time if pane.dead_time is not None else now_ts
    code = pane.dead_status
    exit_fields: AgentStatusUpdate = {
        "paneId": pane.pane_id,
        "windowId": pane.window_id,
        "pid": None,
        "pidCreateTime": None,
        "lastExitCode": code,
        "lastExitAt": format_epoch(exited_at),
        "provider": desired.agent.provider,
    }
    executable = desired.launch.executable
    if not starts.installed.get(executable, False):
        # Restarting would only exit 127 again: report it, as for an agent never started.
        b.set(C.READY, C.FALSE, C.PROVIDER_NOT_INSTALLED, f"{executable!r} was not found on PATH")
        b.set(C.CRASH_LOOP_BACK_OFF, C.FALSE, C.PROVIDER_NOT_INSTALLED)
        return [], b.build(exit_fields), None
    if pane.config_hash != config_hash:
        # A new configuration is a new start (a new pod, in Kubernetes terms): no backoff
        # and no restart policy stand between the person's fix and the agent.
        start = session_start(desired, b, starts.view, starts.team)
        if start.hold:
            return [], held(b, exit_fields), None
        cause = RESTART_REQUESTED if restart_requested(desired, prev) else "config changed"
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
        return (
            [restart],
            b.build(
                exit_fields,
                start.fields,
                applied_restart(desired),
                configHash=config_hash,
                backoffSec=0.0,
                backoffUntil=None,
                startedAt=format_time(b.now),
            ),
            None,
        )

    policy = desired.agent.restart_policy
    if not wants_restart(policy, code):
        reason = C.COMPLETED if code == 0 else C.EXITED
        b.set(C.READY, C.FALSE, reason, f"exited with code {code}; restart_policy {policy}")
        b.set(C.CRASH_LOOP_BACK_OFF, C.FALSE, reason)
        return [], b.build(exit_fields), None

    started = parse_time(prev.startedAt).timestamp() if prev.startedAt else None
    decision = next_restart(exited_at=exited_at, started_at=started, backoff_sec=prev.backoffSec)
    if now_ts + 1e-6 < decision.restart_at:
        wait = decision.restart_at - now_ts
        until = format_epoch(decision.restart_at)
        b.set(C.READY, C.FALSE, C.EXITED, f"exited with code {code}")
        b.set(
            C.CRASH_LOOP_BACK_OFF,
            C.TRUE,
            C.BACK_OFF,
            f"back-off {decision.restart_at - exited_at:g}s restarting failed agent "
            f"(exit code {code}, {prev.restartCount} restarts)",
        )
        return [], b.build(exit_fields, backoffUntil=until), wait

    start = session_start(desired, b, starts.view, starts.team)
    if start.hold:
        return [], held(b, exit_fields), None
    restart = RestartAgent(
        agent=desired.id,
        pane=pane.pane_id,
        launch=desired.launch,
        config_hash=config_hash,
        cause=f"exited with code {code}",
        provider_session=start.start,
    )
    b.set(C.READY, C.FALSE, C.STARTING, f"restarting after exit code {code}")
    b.set(C.CRASH_LOOP_BACK_OFF, C.FALSE, C.STARTING)
    return (
        [restart],
        b.build(
            exit_fields,
            start.fields,
            applied_restart(desired),
            configHash=config_hash,
            restartCount=prev.restartCount + 1,
            backoffSec=decision.next_backoff_sec,
            backoffUntil=None,
            startedAt=format_time(b.now),
        ),
        None,
    )

"""In-memory builders for plan tests: panes, worlds, specs and statuses without tmux.

Every default describes *our* team: team id "demo", workspace "/ws", session "team-demo",
so a test only spells out what makes its case different. Time is fixed (`NOW`) and the
process table is built from literal rows, so plans are deterministic and need no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import msgspec

from controllers.team.desired import DesiredTeam, desired_team
from reconciler.api import conditions as C
from reconciler.api.clock import format_time
from reconciler.api.conditions import Condition
from reconciler.api.ids import PaneId, WindowId
from reconciler.api.spec import Spec
from reconciler.api.status import AgentStatus, TeamStatus
from reconciler.observe.procs import ProcessInfo, ProcessTable
from reconciler.observe.screens import Screen, as_screen
from reconciler.observe.world import Pane, World
from reconciler.store.records import MessageRecord, MessageState

NOW = datetime(2026, 11, 25, 9, 0, 0, tzinfo=timezone.utc)
WORKSPACE = Path("/ws")
PYTHON = "/usr/bin/python3"
TEAM = "demo"
SESSION = "team-demo"
SERVER_PID = 100
GENERATION = 1

# When a default agent process started: two minutes before NOW, past the default 60 s
# readiness timeout, so a test about waiting for readiness passes its own start time.
STARTED = NOW - timedelta(seconds=120)


def ago(seconds: float) -> datetime:
    """`NOW` minus `seconds`."""
    return NOW - timedelta(seconds=seconds)


def ts(moment: datetime) -> float:
    """Epoch seconds of an aware datetime (what tmux and psutil report)."""
    return moment.timestamp()


# --- spec and desired state -------------------------------------------------------------


def spec(*agents: Mapping[str, Any], **sections: Any) -> Spec:
    """A validated `Spec` for team "demo" with `agents` (dicts as in YAML) and extra sections."""
    data: dict[str, Any] = {"version": 1, "team": {"name": TEAM}, "agents": list(agents)}
    data.update(sections)
    return Spec.model_validate(data)


def desired(*agents: Mapping[str, Any], **sections: Any) -> DesiredTeam:
    """`desired_team` of `spec(...)` in workspace /ws, with python /usr/bin/python3."""
    return desired_team(spec(*agents, **sections), WORKSPACE, python=PYTHON)


def shell(agent_id: str, *command: str, **fields: Any) -> dict[str, Any]:
    """A `shell` agent (no readiness pattern by default: Ready as soon as it runs)."""
    argv = list(command) if command else ["sleep", "1000"]
    return {"id": agent_id, "provider": "shell", "command": argv} | fields


def fake(agent_id: str, **fields: Any) -> dict[str, Any]:
    """A `fake` agent (readiness pattern `^fake> ` by default)."""
    return {"id": agent_id, "provider": "fake"} | fields


def hash_of(team: DesiredTeam, agent_id: str) -> str:
    """The config hash the spec wants for `agent_id`."""
    found = team.agent(agent_id)
    assert found is not None and found.config_hash is not None, agent_id
    return found.config_hash


def installed(team: DesiredTeam, *missing: str) -> dict[str, bool]:
    """Every agent executable found on PATH except those named in `missing`."""
    return {
        d.launch.executable: d.launch.executable not in missing
        for d in team.agents
        if d.launch is not None
    }


# --- world ------------------------------------------------------------------------------


def pane(
    agent: str = "impl",
    pane_id: str = "%1",
    *,
    window_id: str | None = None,
    window_index: int | None = None,
    window_name: str | None = None,
    window_panes: int = 1,
    session_name: str = SESSION,
    session_id: str = "$0",
    server_pid: int = SERVER_PID,
    pid: int | None = None,
    dead: bool = False,
    dead_status: int | None = None,
    dead_time: datetime | None = NOW,
    current_command: str = "python3",
    current_path: str = str(WORKSPACE),
    in_mode: bool = False,
    activity: float | None = None,
    team: str = TEAM,
    workspace: str = str(WORKSPACE),
    config_hash: str = "",
    marked: bool = True,
    window_agent: str | None = None,
    session_workspace: str = str(WORKSPACE),
    leader_uuid: str = "",
    launched_pid: str | None = None,
) -> Pane:
    """One pane; by default one of our agent panes, alone in its window, alive.

    The window id, index and pid follow the pane number (`%3` -> `@3`, index 3, pid 1003)
    unless given. `marked=False` clears every pane marker (a person's own pane). A dead
    pane died at `NOW` unless `dead_time` says otherwise (None: tmux has not recorded it).
    `launched_pid` is the pid we started there (`markers.PANE_PID`): the pane's own pid
    unless given ("" for a pane made before that marker, another pid for a pane a person
    respawned with their own command).
    """
    number = int(pane_id.lstrip("%"))
    pane_pid = pid if pid is not None else 1000 + number
    launched = launched_pid if launched_pid is not None else str(pane_pid)
    return Pane(
        server_pid=server_pid,
        session_id=session_id,
        session_name=session_name,
        window_id=WindowId(window_id if window_id is not None else f"@{number}"),
        window_index=window_index if window_index is not None else number,
        window_name=window_name if window_name is not None else agent,
        window_panes=window_panes,
        pane_id=PaneId(pane_id),
        pane_pid=pane_pid,
        dead=dead,
        dead_status=dead_status if dead else None,
        dead_time=ts(dead_time) if dead and dead_time is not None else None,
        current_command=current_command,
        current_path=current_path,
        in_mode=in_mode,
        activity=activity,
        team=team if marked else "",
        agent=agent if marked else "",
        workspace=workspace if marked else "",
        config_hash=config_hash if marked else "",
        window_agent=(window_agent if window_agent is not None else agent) if marked else "",
        session_workspace=session_workspace,
        leader_uuid=leader_uuid,
        launched_pid=launched if marked else "",
    )


def agent_pane(team: DesiredTeam, agent: str, pane_id: str = "%1", **fields: Any) -> Pane:
    """Our pane for `agent`, marked with the config hash the spec wants (up to date)."""
    fields.setdefault("config_hash", hash_of(team, agent))
    return pane(agent, pane_id, **fields)


# (pid, ppid, name, create_time in epoch seconds[, zombie])
ProcessRow = tuple[int, int, str, float] | tuple[int, int, str, float, bool]


def process_table(rows: Iterable[ProcessRow]) -> ProcessTable:
    """A process table from (pid, ppid, name, create_time[, zombie]) rows."""
    by_pid: dict[int, ProcessInfo] = {}
    children: dict[int, list[int]] = {}
    for row in rows:
        pid, ppid, name, create_time = row[:4]
        zombie = bool(row[4]) if len(row) > 4 else False
        by_pid[pid] = ProcessInfo(
            pid=pid, ppid=ppid, name=name, create_time=create_time, uid=1000, zombie=zombie
        )
        children.setdefault(ppid, []).append(pid)
    return ProcessTable(
        by_pid=by_pid,
        children={ppid: tuple(kids) for ppid, kids in children.items()},
        scanned_at=ts(NOW),
    )


def world(
    *panes: Pane,
    processes: Sequence[ProcessRow] | None = None,
    captures: Mapping[str, str | Screen] | None = None,
    started: datetime = STARTED,
) -> World:
    """A snapshot holding `panes`.

    Without `processes`, every live pane's pid gets one row started at `started`, so the
    agents look like processes that have been running for a while.
    """
    rows: list[ProcessRow]
    if processes is None:
        rows = [
            (p.pane_pid, SERVER_PID, p.current_command, ts(started))
            for p in panes
            if not p.dead and p.pane_pid is not None
        ]
    else:
        rows = list(processes)
    return World(
        server_running=bool(panes),
        panes=tuple(panes),
        processes=process_table(rows),
        observed_at=ts(NOW),
        captures={PaneId(k): as_screen(v) for k, v in (captures or {}).items()},
    )


# --- status -----------------------------------------------------------------------------


def cond(
    cond_type: str,
    status: C.ConditionStatus,
    reason: str,
    message: str = "",
    *,
    at: datetime = STARTED,
    generation: int = GENERATION,
) -> Condition:
    return C.condition(cond_type, status, reason, message, now=at, generation=generation)


def running_status(
    team: DesiredTeam,
    agent: str,
    pane_id: str = "%1",
    *,
    pid: int | None = None,
    started: datetime = STARTED,
    since: datetime = STARTED,
    **fields: Any,
) -> AgentStatus:
    """What a converged pass reports for `agent` running in `pane_id` (Ready since `since`)."""
    number = int(pane_id.lstrip("%"))
    found = team.agent(agent)
    assert found is not None
    data: dict[str, Any] = {
        "conditions": [
            cond(C.CRASH_LOOP_BACK_OFF, C.FALSE, C.RUNNING, at=since),
            cond(C.READY, C.TRUE, C.RUNNING, at=since),
        ],
        "paneId": pane_id,
        "windowId": f"@{number}",
        "pid": pid if pid is not None else 1000 + number,
        "pidCreateTime": ts(started),
        "configHash": hash_of(team, agent),
        "startedAt": format_time(started),
        "provider": found.agent.provider,
    }
    data.update(fields)
    return msgspec.convert(msgspec.to_builtins(data), AgentStatus)


def team_status(agents: Mapping[str, AgentStatus] | None = None, **fields: Any) -> TeamStatus:
    """The previous status of team "demo" (empty when no agents are given)."""
    return TeamStatus(
        team=TEAM,
        generation=GENERATION,
        observedGeneration=GENERATION,
        specHash="sha256:0",
        agents=dict(agents or {}),
        **fields,
    )


# --- messages ---------------------------------------------------------------------------


def message_record(
    seq: int,
    recipient: str,
    *,
    created: float,
    state: MessageState = "queued",
    **fields: Any,
) -> MessageRecord:
    """A message as the store holds it: `msg-SEQ` from the leader, queued, no attempt yet."""
    data: dict[str, Any] = {
        "id": f"msg-{seq}",
        "seq": seq,
        "sender": "leader",
        "recipient": recipient,
        "task": None,
        "kind": "message",
        "body": f"body {seq}",
        "state": state,
        "attempts": 0,
        "entered": False,
        "pane": None,
        "created_at": created,
        "updated_at": created,
        "not_before": None,
        "delivered_at": None,
        "last_error": None,
    }
    data.update(fields)
    return MessageRecord(**data)


# Claude Code's tool permission menu as `capture-pane -p -J` shows it (the shape in
# controllers/providers/inputs.py; low certainty, see docs/messages.md).
CLAUDE_RULE = "\u2500" * 60
CLAUDE_PERMISSION_MENU = (
    "\u25cf Bash(rm -rf build)\n\n"
    f"{CLAUDE_RULE}\n"
    " Bash command\n\n"
    "   rm -rf build\n"
    "   Remove the build directory\n\n"
    " Do you want to proceed?\n"
    " \u276f 1. Yes\n"
    "   2. Yes, and don't ask again for rm commands in /ws\n"
    "   3. No, and tell Claude what to do differently (esc)\n"
)

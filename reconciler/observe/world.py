"""The observed world: one tmux query and one process scan, frozen into a snapshot.

Each pass observes everything afresh (level-triggered), then every controller plans from
the same snapshot without further I/O, the way docker compose's `observed_state` lets its
reconciler decide "without making any further API calls".

The tmux side is one `list-panes -a -F` call. Its format is built once from `PANE_FIELDS`
(the libtmux `neo` pattern): each field is a tmux format variable or one of our ownership
markers, records end with a record separator so a newline inside a foreign window's name
cannot split a row. A missing server is an observation (no panes), never an error; an
unusable tmux raises `TmuxUnavailable` so that it is never mistaken for "no agents".

Pane contents are not part of the snapshot except for the panes a controller names in
`capture` (agents still waiting for their readiness pattern): those are read in one more
tmux invocation, batched, so the cost of a pass stays constant in the number of agents.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from reconciler.api import markers
from reconciler.api.ids import PaneId, WindowId
from reconciler.observe.procs import ProcessTable, Scanner, scan
from reconciler.observe.screens import Screen, capture_commands, parse_captures
from reconciler.observe.tmux import ServerNotRunning, Tmux, TmuxCommandError

FIELD_SEPARATOR = "\x1f"
RECORD_SEPARATOR = "\x1e"

# (attribute, tmux format) in output order; one list-panes call fills all of them.
PANE_FIELDS: tuple[tuple[str, str], ...] = (
    ("server_pid", "#{pid}"),
    ("session_id", "#{session_id}"),
    ("session_name", "#{session_name}"),
    ("window_id", "#{window_id}"),
    ("window_index", "#{window_index}"),
    ("window_name", "#{window_name}"),
    ("window_panes", "#{window_panes}"),
    ("pane_id", "#{pane_id}"),
    ("pane_pid", "#{pane_pid}"),
    ("pane_dead", "#{pane_dead}"),
    ("pane_dead_status", "#{pane_dead_status}"),
    ("pane_dead_signal", "#{pane_dead_signal}"),
    ("pane_dead_time", "#{pane_dead_time}"),
    ("pane_current_command", "#{pane_current_command}"),
    ("pane_current_path", "#{pane_current_path}"),
    ("pane_in_mode", "#{pane_in_mode}"),
    ("window_activity", "#{window_activity}"),
    ("team", "#{" + markers.TEAM + "}"),
    ("agent", "#{" + markers.AGENT + "}"),
    ("workspace", "#{" + markers.WORKSPACE + "}"),
    ("config_hash", "#{" + markers.CONFIG_HASH + "}"),
    ("window_agent", "#{" + markers.WINDOW + "}"),
    ("session_workspace", "#{" + markers.SESSION_WORKSPACE + "}"),
    ("leader_uuid", "#{" + markers.LEADER_UUID + "}"),
    ("leader_pid", "#{" + markers.LEADER_PID + "}"),
    ("launched_pid", "#{" + markers.PANE_PID + "}"),
)

LIST_PANES_FORMAT = FIELD_SEPARATOR.join(fmt for _, fmt in PANE_FIELDS) + RECORD_SEPARATOR


@dataclass(frozen=True)
class Pane:
    """One tmux pane as seen in the snapshot, with its ownership markers ("" when unset)."""

    server_pid: int
    session_id: str
    session_name: str
    window_id: WindowId
    window_index: int
    window_name: str
    window_panes: int
    pane_id: PaneId
    pane_pid: int | None
    dead: bool
    dead_status: int | None  # exit code; 128 + N when killed by signal N (shell convention)
    dead_time: float | None
    current_command: str
    current_path: str
    in_mode: bool
    activity: float | None  # epoch seconds of the window's last output (one pane per agent)
    team: str
    agent: str
    workspace: str
    config_hash: str
    window_agent: str
    session_workspace: str
    leader_uuid: str
    leader_pid: str = ""  # "PID:CREATE_TIME" the leader UUID option vouches for
    launched_pid: str = ""  # the pid we started in it (`markers.PANE_PID`); "" if older

    def marked_by(self, team_id: str, workspace: str) -> bool:
        """Carries this team's agent markers (team id and workspace), and no leader marker.

        A pane carrying a leader marker is never an agent pane, whatever else it carries:
        nothing that acts on agent panes (stop, restart, down, orphans) may reach the leader.
        """
        return (
            bool(self.agent)
            and not self.leader_uuid
            and self.team == team_id
            and self.workspace == workspace
        )

    def owned_by(self, team_id: str, workspace: str) -> bool:
        """An agent pane of this team and workspace: marked, and running what we started.

        Markers are pane options, which a person's `respawn-pane -k` keeps: a pane taken
        over that way (`taken_over`) is marked but not ours, so nothing that acts on agent
        panes (restart, recreate, stop, `down`, messages, `logs`) reaches the person's
        process. The agents controller releases it (`ReleasePane`).
        """
        return self.marked_by(team_id, workspace) and not self.taken_over

    @property
    def taken_over(self) -> bool:
        """Alive and running a process other than the one team-agent started in it.

        The pid we started is written by tmux in the invocation that starts it
        (`markers.PANE_PID`), so a launch never looks taken over, even before the pane's
        first program has exec'd the agent. A pane made before that marker existed has
        none and is trusted on its markers alone, as before, until its next (re)start.
        A dead pane runs nothing: it is never taken over, whoever's process last ran there.
        """
        return not self.dead and bool(self.launched_pid) and str(self.pane_pid) != self.launched_pid

    def of_workspace(self, workspace: str) -> bool:
        """An agent pane of this workspace, whatever its team id, never a leader pane, never
        one a person took over (`taken_over`: only ever released, by this team id).

        A workspace holds one team (one spec, one `.team`), so an agent pane marked with
        this workspace and another team id is that team before a rename changed its id.
        """
        return (
            bool(self.agent)
            and bool(self.team)
            and not self.leader_uuid
            and self.workspace == workspace
            and not self.taken_over
        )

    @property
    def pane_number(self) -> int:
        return int(self.pane_id.lstrip("%") or 0)


def _int_or_none(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _float_or_none(text: str) -> float | None:
    value = _int_or_none(text)
    return float(value) if value is not None else None


def _exit_code(status: str, signal_number: str) -> int | None:
    code = _int_or_none(status)
    if code is not None:
        return code
    sig = _int_or_none(signal_number)
    return 128 + sig if sig is not None else None


def parse_pane(record: str) -> Pane | None:
    """Turn one `list-panes` record into a `Pane`; None for a malformed record."""
    values = record.split(FIELD_SEPARATOR)
    if len(values) != len(PANE_FIELDS):
        return None
    raw = dict(zip((name for name, _ in PANE_FIELDS), values, strict=True))
    if not raw["pane_id"].startswith("%"):
        return None
    dead = raw["pane_dead"] == "1"
    dead_time = _int_or_none(raw["pane_dead_time"]) if dead else None
    return Pane(
        server_pid=_int_or_none(raw["server_pid"]) or 0,
        session_id=raw["session_id"],
        session_name=raw["session_name"],
        window_id=WindowId(raw["window_id"]),
        window_index=_int_or_none(raw["window_index"]) or 0,
        window_name=raw["window_name"],
        window_panes=_int_or_none(raw["window_panes"]) or 1,
        pane_id=PaneId(raw["pane_id"]),
        pane_pid=_int_or_none(raw["pane_pid"]),
        dead=dead,
        dead_status=_exit_code(raw["pane_dead_status"], raw["pane_dead_signal"]) if dead else None,
        dead_time=float(dead_time) if dead_time is not None else None,
        current_command=raw["pane_current_command"],
        current_path=raw["pane_current_path"],
        in_mode=raw["pane_in_mode"] == "1",
        activity=_float_or_none(raw["window_activity"]),
        team=raw["team"],
        agent=raw["agent"],
        workspace=raw["workspace"],
        config_hash=raw["config_hash"],
        window_agent=raw["window_agent"],
        session_workspace=raw["session_workspace"],
        leader_uuid=raw["leader_uuid"],
        leader_pid=raw["leader_pid"],
        launched_pid=raw["launched_pid"],
    )


def parse_panes(lines: Iterable[str]) -> tuple[Pane, ...]:
    text = "\n".join(lines)
    panes: list[Pane] = []
    for record in text.split(RECORD_SEPARATOR):
        record = record.lstrip("\n")
        if not record:
            continue
        pane = parse_pane(record)
        if pane is not None:
            panes.append(pane)
    return tuple(panes)


@dataclass(frozen=True)
class World:
    """Everything a pass knows about the world, observed at `observed_at`."""

    server_running: bool
    panes: tuple[Pane, ...]
    processes: ProcessTable
    observed_at: float
    captures: Mapping[PaneId, Screen] = field(default_factory=dict)

    @property
    def server_pid(self) -> int | None:
        return self.panes[0].server_pid if self.panes else None

    def session_exists(self, session_name: str) -> bool:
        return any(p.session_name == session_name for p in self.panes)

    def session_panes(self, session_name: str) -> tuple[Pane, ...]:
        return tuple(p for p in self.panes if p.session_name == session_name)

    def owned_panes(self, team_id: str, workspace: str) -> tuple[Pane, ...]:
        return tuple(p for p in self.panes if p.owned_by(team_id, workspace))

    def taken_over_panes(self, team_id: str, workspace: str) -> tuple[Pane, ...]:
        """This team's marked panes that a person respawned with their own command."""
        return tuple(p for p in self.panes if p.marked_by(team_id, workspace) and p.taken_over)

    def pane(self, pane_id: str) -> Pane | None:
        return next((p for p in self.panes if p.pane_id == pane_id), None)


NO_SESSIONS = "no current target"  # tmux's answer to `list-panes -a` with no session


def list_panes(tmux: Tmux) -> tuple[bool, tuple[Pane, ...]]:
    """The one `list-panes -a` call: (server running, panes).

    A server whose last session just went answers "no current target" (`-a` still
    resolves a target) until it exits, and longer while a client such as `run`'s
    `tmux wait-for` keeps it up (seen right after a `down`): it has no panes, which is an
    observation, not an error.
    """
    try:
        lines = tmux.run("list-panes", "-a", "-F", LIST_PANES_FORMAT)
    except ServerNotRunning:
        return False, ()
    except TmuxCommandError as err:
        if NO_SESSIONS not in err.stderr:
            raise
        return True, ()
    return True, parse_panes(lines)


def capture_panes(tmux: Tmux, pane_ids: Sequence[PaneId]) -> dict[PaneId, Screen]:
    """The screens (text and cursor) of several panes in one tmux invocation.

    A pane that vanished since the snapshot fails the whole sequence, so on error the
    panes are captured one by one (rare: only when the world changed).
    """
    if not pane_ids:
        return {}
    commands = [command for pane_id in pane_ids for command in capture_commands(pane_id)]
    try:
        lines = tmux.run_sequence(commands)
    except (TmuxCommandError, ServerNotRunning):
        return _capture_each(tmux, pane_ids)
    return parse_captures("\n".join(lines), list(pane_ids))


def _capture_each(tmux: Tmux, pane_ids: Sequence[PaneId]) -> dict[PaneId, Screen]:
    result: dict[PaneId, Screen] = {}
    for pane_id in pane_ids:
        try:
            lines = tmux.run_sequence(capture_commands(pane_id))
        except (TmuxCommandError, ServerNotRunning):
            continue  # a pane gone since the snapshot has no text
        result.update(parse_captures("\n".join(lines), [pane_id]))
    return result


def observe(tmux: Tmux, *, scanner: Scanner = scan) -> World:
    """One snapshot: one tmux call and one process scan (`scanner`, normally `procs.scan`)."""
    running, panes = list_panes(tmux)
    return World(
        server_running=running,
        panes=panes,
        processes=scanner(),
        observed_at=time.time(),
    )


def with_captures(world: World, tmux: Tmux, pane_ids: Sequence[PaneId]) -> World:
    """The same snapshot plus the text of the named panes (one more tmux call at most)."""
    wanted = [p for p in pane_ids if world.pane(p) is not None]
    if not wanted:
        return world
    return World(
        server_running=world.server_running,
        panes=world.panes,
        processes=world.processes,
        observed_at=world.observed_at,
        captures=capture_panes(tmux, wanted),
    )

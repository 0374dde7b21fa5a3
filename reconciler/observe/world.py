"""The observed world: one tmux query and one process scan, frozen into a snapshot.

Each pass observes everything afresh (level-triggered), then every controller plans from
the same snapshot without further I/O, the way docker compose's `observed_state` lets its
reconciler decide "without making any further API calls".

The tmux side is one `list-panes -a -F` call. Its format is built from the fields of
`Pane` (the libtmux `neo` pattern): each field names the tmux format variables (or our
ownership markers) it is read from and how, and the same declaration parses the output
(the executor's re-checks read the same format). Records end with a record separator, so
a newline inside a foreign window's name cannot split a row. A missing server is an
observation (no panes), never an error; an unusable tmux raises `TmuxUnavailable` so
that it is never mistaken for "no agents".

Pane contents are not part of the snapshot except for the panes a controller names in
`capture` (agents still waiting for their readiness pattern): those are read in one more
tmux invocation, batched, so the cost of a pass stays constant in the number of agents.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from reconciler.api import markers
from reconciler.api.ids import PaneId, WindowId
from reconciler.observe.procs import ProcessTable, Scanner, scan
from reconciler.observe.screens import Screen, capture_commands, parse_captures
from reconciler.observe.tmux import ServerNotRunning, Tmux, TmuxCommandError

FIELD_SEPARATOR = "\x1f"
RECORD_SEPARATOR = "\x1e"


@dataclass(frozen=True)
class TmuxSource:
    """Where a `Pane` attribute comes from: the tmux format variables it reads, and how.

    `parse` gets the variables' values, in order, as tmux printed them ("" when unset).
    """

    variables: tuple[str, ...]
    parse: Callable[..., object]


SOURCE = "tmux"  # the key of a `Pane` field's metadata holding its `TmuxSource`


def _int_or_none(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _float_or_none(text: str) -> float | None:
    value = _int_or_none(text)
    return float(value) if value is not None else None


def _flag(text: str) -> bool:
    return text == "1"


def _exit_code(dead: str, status: str, signal_number: str) -> int | None:
    if not _flag(dead):
        return None
    code = _int_or_none(status)
    if code is not None:
        return code
    sig = _int_or_none(signal_number)
    return 128 + sig if sig is not None else None


def _dead_time(dead: str, time_text: str) -> float | None:
    return _float_or_none(time_text) if _flag(dead) else None


def _tmux(*variables: str, parse: Callable[..., object] = str) -> dict[str, TmuxSource]:
    """A `Pane` field's metadata: read from these tmux variables (a marker is one too)."""
    return {SOURCE: TmuxSource(variables, parse)}


@dataclass(frozen=True)
class Pane:
    """One tmux pane as seen in the snapshot, with its ownership markers ("" when unset).

    Each field declares the tmux format variables it is read from (`_tmux`): the
    `list-panes -F` format and the parsing of its output both derive from these fields
    (`PANE_VARIABLES`, `parse_pane`), as libtmux's `neo` does, so there is one list.
    """

    server_pid: int = field(metadata=_tmux("pid", parse=lambda v: _int_or_none(v) or 0))
    session_id: str = field(metadata=_tmux("session_id"))
    session_name: str = field(metadata=_tmux("session_name"))
    window_id: WindowId = field(metadata=_tmux("window_id", parse=WindowId))
    window_index: int = field(metadata=_tmux("window_index", parse=lambda v: _int_or_none(v) or 0))
    window_name: str = field(metadata=_tmux("window_name"))
    window_panes: int = field(metadata=_tmux("window_panes", parse=lambda v: _int_or_none(v) or 1))
    pane_id: PaneId = field(metadata=_tmux("pane_id", parse=PaneId))
    pane_pid: int | None = field(metadata=_tmux("pane_pid", parse=_int_or_none))
    dead: bool = field(metadata=_tmux("pane_dead", parse=_flag))
    # The exit code; 128 + N when killed by signal N (shell convention).
    dead_status: int | None = field(
        metadata=_tmux("pane_dead", "pane_dead_status", "pane_dead_signal", parse=_exit_code)
    )
    dead_time: float | None = field(metadata=_tmux("pane_dead", "pane_dead_time", parse=_dead_time))
    current_command: str = field(metadata=_tmux("pane_current_command"))
    current_path: str = field(metadata=_tmux("pane_current_path"))
    in_mode: bool = field(metadata=_tmux("pane_in_mode", parse=_flag))
    # Epoch seconds of the window's last output (one pane per agent).
    activity: float | None = field(metadata=_tmux("window_activity", parse=_float_or_none))
    team: str = field(metadata=_tmux(markers.TEAM))
    agent: str = field(metadata=_tmux(markers.AGENT))
    workspace: str = field(metadata=_tmux(markers.WORKSPACE))
    config_hash: str = field(metadata=_tmux(markers.CONFIG_HASH))
    window_agent: str = field(metadata=_tmux(markers.WINDOW))
    session_workspace: str = field(metadata=_tmux(markers.SESSION_WORKSPACE))
    leader_uuid: str = field(metadata=_tmux(markers.LEADER_UUID))
    # "PID:CREATE_TIME" the leader UUID option vouches for.
    leader_pid: str = field(default="", metadata=_tmux(markers.LEADER_PID))
    # The pid we started in it (`markers.PANE_PID`); "" if older.
    launched_pid: str = field(default="", metadata=_tmux(markers.PANE_PID))

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


def _sources() -> tuple[tuple[str, TmuxSource], ...]:
    return tuple((f.name, f.metadata[SOURCE]) for f in fields(Pane))


_PANE_SOURCES = _sources()

# The tmux variables of `Pane`, each once, in the order of the fields that first read them:
# the columns of the one `list-panes -a -F` call.
PANE_VARIABLES: tuple[str, ...] = tuple(
    dict.fromkeys(v for _, source in _PANE_SOURCES for v in source.variables)
)
LIST_PANES_FORMAT = FIELD_SEPARATOR.join("#{" + v + "}" for v in PANE_VARIABLES) + RECORD_SEPARATOR
LIST_PANES: tuple[str, ...] = ("list-panes", "-a", "-F", LIST_PANES_FORMAT)


def parse_pane(record: str) -> Pane | None:
    """Turn one `LIST_PANES_FORMAT` record into a `Pane`; None for a malformed record."""
    values = record.split(FIELD_SEPARATOR)
    if len(values) != len(PANE_VARIABLES):
        return None
    raw = dict(zip(PANE_VARIABLES, values, strict=True))
    if not raw["pane_id"].startswith("%"):
        return None
    parsed: dict[str, Any] = {  # Any: each value is its field's type, by its `parse`
        name: source.parse(*(raw[v] for v in source.variables)) for name, source in _PANE_SOURCES
    }
    return Pane(**parsed)


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
        lines = tmux.run(*LIST_PANES)
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

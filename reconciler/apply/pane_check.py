"""The re-check right before acting on a pane: is it still the one the plan saw?

The snapshot may be a few hundred milliseconds old when the executor acts, and pane ids
restart at `%0` with a new tmux server, so an id alone may name someone else's pane by
now. Every effect on a pane (respawn, kill, a dialog's answer, a message) first reads,
in one tmux call, the pane as the snapshot reads it (the same format and `Pane` parsing:
server pid, the pane's process, its mode, its ownership markers) and, when the action
types into it, its screen, and refuses unless they are still what the plan was made for.
One function for all of them, so the rule is the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.api.actions import ProcessRef
from reconciler.api.errors import TeamAgentError
from reconciler.observe.procs import is_same_process
from reconciler.observe.screens import Screen, capture_commands, parse_capture
from reconciler.observe.tmux import ServerNotRunning, Tmux, TmuxCommandError
from reconciler.observe.world import LIST_PANES_FORMAT, RECORD_SEPARATOR, parse_pane


class PaneNotOurs(TeamAgentError):
    """The pane no longer carries our markers, runs another process, or the server was
    replaced (or the pane is gone): hands off."""


@dataclass(frozen=True)
class Owner:
    """The markers an agent's pane carries: team id, agent id, workspace."""

    team: str
    agent: str
    workspace: str


@dataclass(frozen=True)
class PaneNow:
    """The pane as read right before acting."""

    in_mode: bool
    screen: Screen  # empty unless the screen was asked for


def recheck_pane(
    tmux: Tmux,
    pane: str,
    *,
    server_pid: int | None,
    owner: Owner | None,
    process: ProcessRef | None = None,
    screen: bool = False,
    foreign: bool = False,
) -> PaneNow:
    """Read the pane (one tmux call) and raise `PaneNotOurs` unless it is still ours.

    `server_pid`: the server the snapshot saw (None: not checked, e.g. another server).
    `owner`: the markers the pane must carry (None: not checked, e.g. the leader's pane).
    With `owner`, a live pane must also run the process we started in it
    (`markers.PANE_PID`; `Pane.taken_over`), unless `foreign`: the one action meant for
    a pane a person took over only unmarks it.
    `process`: the process it must run, pid and create time (None: not checked).
    """
    commands = [["display-message", "-p", "-t", pane, LIST_PANES_FORMAT]]
    if screen:
        commands.extend(capture_commands(pane))
    try:
        lines = tmux.run_sequence(commands)
    except ServerNotRunning as err:
        raise PaneNotOurs(f"pane {pane}: the tmux server is gone") from err
    except TmuxCommandError as err:
        if err.target_gone:
            raise PaneNotOurs(f"pane {pane} is gone") from err
        raise
    head, _, text = "\n".join(lines).partition(RECORD_SEPARATOR)
    found = parse_pane(head.strip("\n"))
    if found is None:  # tmux 3.3 prints an empty pane for a target gone, and exits 0
        raise PaneNotOurs(f"pane {pane} is gone (tmux printed no such pane)")
    if server_pid is not None and found.server_pid != server_pid:
        raise PaneNotOurs(f"pane {pane}: the tmux server was replaced since the snapshot")
    if owner is not None and (found.team, found.agent, found.workspace) != (
        owner.team,
        owner.agent,
        owner.workspace,
    ):
        raise PaneNotOurs(f"pane {pane} does not carry agent {owner.agent}'s markers")
    if owner is not None and not foreign and found.taken_over:
        raise PaneNotOurs(f"pane {pane} runs pid {found.pane_pid}, which team-agent did not start")
    if process is not None and (
        found.pane_pid != process.pid or not is_same_process(process.pid, process.create_time)
    ):
        raise PaneNotOurs(f"pane {pane} runs another process since the snapshot")
    return PaneNow(
        in_mode=found.in_mode,
        screen=parse_capture(text.lstrip("\n"))[0] if screen else Screen(""),
    )

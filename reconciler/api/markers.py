"""Ownership markers: the tmux user options that say "team-agent made this".

Markers are the only evidence of ownership the reconciler accepts before it restarts,
stops or kills anything. They live as tmux *pane* options (`set-option -p`), not window
options, on purpose: tmux resolves `#{@name}` in a pane's format through pane, then window,
options, so a window-level marker would make a pane the person split into our window look
like ours. The pane also records the pid of the process we started in it (`PANE_PID`):
the other markers say "this pane is ours", that one says "and so is what runs in it". The
window carries only `@team_agent_window` (which agent it was made for), so
`down` can tell a window that holds nothing but our pane (kill the window) from one the
person added panes to (kill only our pane).

Every marker is read in the single `list-panes -a -F` call of a snapshot.
"""

from __future__ import annotations

import hashlib
from typing import Final

TEAM: Final = "@team_agent_team"
AGENT: Final = "@team_agent_agent"
WORKSPACE: Final = "@team_agent_workspace"
CONFIG_HASH: Final = "@team_agent_hash"
WINDOW: Final = "@team_agent_window"
SESSION_WORKSPACE: Final = "@team_agent_session_workspace"
LEADER_UUID: Final = "@team_agent_leader_uuid"
# "PID:CREATE_TIME" of the process `team-agent leader` exec'd into the leader: the UUID
# option counts as evidence only while that very process lives in the pane, so a marker
# left behind when the leader exits never vouches for whatever runs there next.
LEADER_PID: Final = "@team_agent_leader_pid"
# The pid of the process team-agent started in an agent pane, written by tmux itself
# (`set-option -F ... '#{pane_pid}'`) in the same invocation that creates or respawns the
# pane, so no other command can run in between. Pane options survive a person's
# `respawn-pane -k`, the pid does not: a live pane whose `pane_pid` differs runs a process
# we did not start (`Pane.taken_over`), and is never taken for the agent or signalled.
PANE_PID: Final = "@team_agent_pid"

PANE_MARKERS: Final = (TEAM, AGENT, WORKSPACE, CONFIG_HASH, PANE_PID)


def wake_channel(team_id: str, workspace: str) -> str:
    """The `tmux wait-for` channel the `pane-died` hook signals to wake `team-agent run`.

    Derived from team and workspace so two teams on one server never wake each other, and
    made of `[a-z0-9-]` only, so the hook command holds no user-controlled text.
    """
    digest = hashlib.sha256(f"{team_id}\0{workspace}".encode()).hexdigest()[:16]
    return f"team-agent-{digest}"

"""Open work per agent, and the two ways a team stops moving: stuck and idle.

Pure functions of one pass's inputs (the store snapshot, the pane snapshot, `now`):

* an agent has *open work* while a message to it waits or is being delivered, or a task
  it was given has no result from it yet;
* it is *stuck* when it has had open work and its pane has not changed for
  `runtime.stuck_timeout_sec` since whichever came last, the work or the last change:
  work that arrived a second ago is not stuck just because the pane was quiet before;
* the team is *idle* when every worker is Ready, nothing waits for delivery, no pane
  changed for `runtime.idle_timeout_sec`, and tasks are still open: the leader forgot.

A pane's last change is tmux's `window_activity` (one pane per agent window), read in
the one `list-panes` call: no capture, no extra tmux call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from controllers.team.desired import DesiredTeam
from reconciler.api import conditions as C
from reconciler.api.clock import format_epoch
from reconciler.api.spec import LEADER
from reconciler.api.status import AgentStatus
from reconciler.observe.world import Pane

if TYPE_CHECKING:  # the store module imports sqlite3; a pass without messages never does
    from reconciler.store.records import OpenTask, StoreSnapshot


@dataclass(frozen=True)
class OpenWork:
    """One agent's open work: since when, and what (for the alert's text)."""

    since: float  # epoch seconds of the oldest open item
    queued: int  # messages waiting or being delivered
    tasks: tuple[str, ...]  # task ids without a result from this agent


def open_work(snapshot: StoreSnapshot) -> dict[str, OpenWork]:
    """Open work by recipient (the leader included: messages wait for it too)."""
    since: dict[str, float] = {}
    queued: dict[str, int] = {}
    tasks: dict[str, list[str]] = {}
    for message in snapshot.pending:
        who = message.recipient
        since[who] = min(since.get(who, message.created_at), message.created_at)
        queued[who] = queued.get(who, 0) + 1
    for task in snapshot.open_tasks:
        since[task.agent] = min(since.get(task.agent, task.since), task.since)
        tasks.setdefault(task.agent, []).append(task.task)
    return {
        who: OpenWork(since=at, queued=queued.get(who, 0), tasks=tuple(tasks.get(who, ())))
        for who, at in since.items()
    }


def quiet_since(pane: Pane, work: OpenWork) -> float:
    """When the agent last moved: its pane's last change, or the work's arrival if later."""
    return max(pane.activity or 0.0, work.since)


def is_stuck(pane: Pane, work: OpenWork, *, now: float, timeout: float) -> bool:
    return now - quiet_since(pane, work) >= timeout


def stuck_message(agent: str, work: OpenWork, *, pane: Pane) -> str:
    """Stable while the episode lasts (the status is rewritten each pass, not reworded)."""
    since = format_epoch(quiet_since(pane, work))
    parts = []
    if work.queued:
        parts.append(f"{work.queued} message(s) not delivered")
    if work.tasks:
        parts.append("no result for task(s) " + ", ".join(work.tasks))
    return f"agent {agent}: pane unchanged since {since} with " + "; ".join(parts)


@dataclass(frozen=True)
class IdleTeam:
    """Every worker idle while tasks are open: the reminder's key and text."""

    key: str
    body: str


def idle_team(
    team: DesiredTeam,
    panes: Mapping[str, Pane],
    agents: Mapping[str, AgentStatus],
    snapshot: StoreSnapshot,
    *,
    now: float,
    timeout: float,
) -> IdleTeam | None:
    """The idle reminder due now, or None. Its key names the quiet episode, so one each."""
    workers = [d.id for d in team.agents if not d.agent.paused]
    if not workers or not snapshot.open_tasks:
        return None
    if any(m.recipient != LEADER for m in snapshot.pending):
        return None
    latest = 0.0
    for agent in workers:
        pane = panes.get(agent)
        status = agents.get(agent)
        if pane is None or status is None or not C.is_true(status.conditions, C.READY):
            return None
        latest = max(latest, pane.activity or 0.0)
    latest = max([latest, *(t.since for t in snapshot.open_tasks)])
    if now - latest < timeout:
        return None
    return IdleTeam(key=f"idle/{int(latest)}", body=_idle_body(snapshot.open_tasks, now - latest))


def _idle_body(tasks: Sequence[OpenTask], quiet: float) -> str:
    listed = ", ".join(f"{t.task} ({t.agent})" for t in tasks[:10])
    more = f" and {len(tasks) - 10} more" if len(tasks) > 10 else ""
    return (
        f"all workers have been idle for {int(quiet)}s with open tasks: {listed}{more}. "
        "Follow up, or close them with `team-agent report`."
    )

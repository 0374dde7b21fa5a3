"""The orphans controller: find what a dead or changed team left behind; reap it when asked.

Who acts on what (no two controllers ever act on one pane):

* The **agents controller** owns every agent pane that carries *this* workspace's
  marker (`Pane.of_workspace`): this team's (team id and workspace, `Pane.owned_by`) and
  this team's before a rename changed its id (a workspace holds one team). It keeps one
  pane per declared agent in the team's session, the one the status points to, and stops
  duplicates, panes left in another session, agents removed from the spec and the
  renamed team's former panes, on every pass and whatever `orphans.policy` says: the
  spec is explicit about those, so they are convergence, not orphans.
* **This controller** owns everything else that carries our markers and that no live team
  governs (`controllers.orphans.rules`): (a) duplicate panes of an idle team (same team,
  agent and workspace markers; the pane that team's status points to is kept); (b)
  processes whose environment carries this team's `TEAM_AGENT_TEAM_ID` and
  `TEAM_AGENT_WORKSPACE` but whose pane is gone or dead (an agent CLI that caught SIGHUP
  and outlived its pane); (c) sessions, windows and panes of other workspaces, and
  processes that outlived their pane, marked with a workspace that no longer exists,
  with a team their workspace no longer holds (this workspace's former team id, for
  processes only), or with an agent their team no longer declares; (d) `team-agent run`
  daemons holding the lock of a deleted workspace, and lock records whose holder is dead.
  It never plans an action on a pane the agents controller owns.

Detection runs every pass, from the pass's snapshot plus the `OrphanFacts` the engine
observed before planning (`controllers.orphans.observe`); this module does no I/O. Every orphan
is reported in `status.orphans` and in `OrphansFound` (with the count); it is reaped only
with `orphans.policy: reap` or `team-agent orphans --reap`.

Safety rules that no option turns off (`allowed`, applied last to every orphan whatever
rule found it): same user only; nothing without our markers; never the leader (a pane
carrying a leader marker; a process carrying the leader's UUID is never even observed as
marked, see `controllers.orphans.observe`); never anything of a live team (a workspace that
exists and whose lock holder is alive) other than this team's own leftovers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from controllers.orphans.observe import OrphanFacts
from controllers.orphans.rules import (
    Orphan,
    daemon_orphans,
    lock_orphans,
    marked,
    pane_orphans,
    process_orphans,
)
from controllers.team.desired import DesiredTeam
from reconciler.api import conditions as C
from reconciler.api.actions import Plan
from reconciler.api.conditions import Condition
from reconciler.api.events import WARNING, Note
from reconciler.api.status import OrphanKind, OrphanStatus, TeamStatus
from reconciler.observe.world import World

KIND_ORDER: tuple[OrphanKind, ...] = ("session", "window", "pane", "process", "daemon", "lock")
NOTE_REASON = "OrphanFound"


@dataclass(frozen=True)
class OrphansResult:
    """What the orphans controller found, wants done and reports."""

    plan: Plan
    orphans: tuple[Orphan, ...]
    condition: Condition
    notes: tuple[Note, ...]


def plan_orphans(
    team: DesiredTeam,
    world: World,
    facts: OrphanFacts,
    previous: TeamStatus,
    *,
    reap: bool,
    now: datetime,
    generation: int,
) -> OrphansResult:
    """Every orphan in the snapshot and facts, sorted; reap actions only when `reap`.

    A note (event) is emitted once per orphan, on the pass that first finds it.
    """
    found = [
        *pane_orphans(team, world, facts),
        *process_orphans(team, world, facts),
        *daemon_orphans(team, facts),
        *lock_orphans(facts),
    ]
    orphans = tuple(
        sorted(
            (o for o in found if allowed(o, team, world, facts)),
            key=lambda o: (KIND_ORDER.index(o.status.kind), o.action.name),
        )
    )
    seen = {_key(status) for status in previous.orphans}
    notes = tuple(
        Note(WARNING, NOTE_REASON, o.action.resource, o.status.reason)
        for o in orphans
        if _key(o.status) not in seen
    )
    return OrphansResult(
        plan=Plan(actions=tuple(o.action for o in orphans) if reap else ()),
        orphans=orphans,
        condition=orphans_condition(orphans, reap=reap, now=now, generation=generation),
        notes=notes,
    )


def orphans_condition(
    orphans: Sequence[Orphan], *, reap: bool, now: datetime, generation: int
) -> Condition:
    """`OrphansFound`: the count and the kinds in the message, and what happens next."""
    if not orphans:
        return C.condition(C.ORPHANS_FOUND, C.FALSE, C.NO_ORPHANS, now=now, generation=generation)
    kinds = Counter(o.status.kind for o in orphans)
    parts = ", ".join(f"{kinds[k]} {k}" for k in KIND_ORDER if kinds[k])
    noun = "orphan" if len(orphans) == 1 else "orphans"
    tail = "reaping" if reap else "`team-agent orphans --reap` removes them"
    message = f"{len(orphans)} {noun} found ({parts}); {tail}"
    reason = C.ORPHANS_REAPING if reap else C.ORPHANS_REPORTED
    return C.condition(C.ORPHANS_FOUND, C.TRUE, reason, message, now=now, generation=generation)


def allowed(orphan: Orphan, team: DesiredTeam, world: World, facts: OrphanFacts) -> bool:
    """The safety floor: rules no option turns off, checked on every orphan.

    The detection rules already respect them; this is the check that a future rule
    cannot go around: it carries a marker; same user (the process, or the tmux server
    of the panes); every pane still marked, with no leader marker and not the live
    team's (the agents controller's); nothing of a live workspace other than ours.
    """
    if not orphan.status.marker:
        return False
    action = orphan.action
    ws = facts.workspaces.get(orphan.status.workspace or "")
    if ws is not None and ws.live and ws.path != team.workspace_marker:
        return False
    if action.process is not None:
        info = world.processes.get(action.process.pid)
        if info is None or info.uid != facts.uid:
            return False
    if action.panes:
        server = world.processes.get(world.server_pid or 0)
        if server is None or server.uid != facts.uid:
            return False
        for owned in action.panes:
            pane = world.pane(owned.pane)
            if pane is None or not marked(pane):
                return False
            if pane.of_workspace(team.workspace_marker):
                return False
    return True


def _key(status: OrphanStatus) -> tuple[object, ...]:
    return (status.kind, status.pid, status.pidCreateTime, status.paneId, status.marker)

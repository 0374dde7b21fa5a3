"""Open work, stuck agents and an idle team, from a store snapshot and the pane snapshot.

Pure functions (`controllers.messages.work`): records are built directly, panes with the builders,
time is `NOW` in epoch seconds.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import msgspec

from controllers.messages.work import (
    OpenWork,
    idle_team,
    is_stuck,
    open_work,
    quiet_since,
    stuck_message,
)
from reconciler.api import conditions as C
from reconciler.api.clock import format_time
from reconciler.api.status import AgentStatus
from reconciler.store.records import MessageRecord, OpenTask, StoreSnapshot
from tests.unit.builders import (
    NOW,
    agent_pane,
    cond,
    desired,
    fake,
    message_record,
    running_status,
    ts,
)

T = ts(NOW)


def record(seq: int, recipient: str, *, created: float = T - 10, **fields: Any) -> MessageRecord:
    return message_record(seq, recipient, created=created, **fields)


def task(name: str, agent: str, since: float, seq: int = 1) -> OpenTask:
    return OpenTask(task=name, agent=agent, message_id=f"msg-{seq}", state="delivered", since=since)


def snapshot(
    pending: tuple[MessageRecord, ...] = (), tasks: tuple[OpenTask, ...] = ()
) -> StoreSnapshot:
    return StoreSnapshot(pending=pending, open_tasks=tasks, failed_count=0, delivered_count=0)


def test_open_work_groups_messages_and_tasks_by_recipient() -> None:
    snap = snapshot(
        pending=(
            record(3, "impl", created=T - 50),
            record(4, "impl", created=T - 70, state="delivering"),
            record(5, "leader", created=T - 5),
        ),
        tasks=(
            task("T1", "impl", T - 60),
            task("T2", "docs", T - 200),
            task("T3", "docs", T - 100),
        ),
    )
    work = open_work(snap)
    assert work == {
        "impl": OpenWork(since=T - 70, queued=2, tasks=("T1",)),
        "leader": OpenWork(since=T - 5, queued=1, tasks=()),
        "docs": OpenWork(since=T - 200, queued=0, tasks=("T2", "T3")),
    }
    assert open_work(StoreSnapshot.EMPTY) == {}


def test_stuck_counts_from_the_later_of_the_last_change_and_the_work() -> None:
    team = desired(fake("impl"))
    work = OpenWork(since=T - 700, queued=1, tasks=())
    quiet = agent_pane(team, "impl", activity=T - 900)
    assert quiet_since(quiet, work) == T - 700
    assert is_stuck(quiet, work, now=T, timeout=600)
    # The pane changed after the work arrived: counted from the change.
    moved = agent_pane(team, "impl", activity=T - 100)
    assert quiet_since(moved, work) == T - 100
    assert not is_stuck(moved, work, now=T, timeout=600)
    # Work that arrived a second ago is not stuck because the pane was quiet before.
    fresh = OpenWork(since=T - 1, queued=1, tasks=())
    assert not is_stuck(quiet, fresh, now=T, timeout=600)
    # tmux did not report the activity: the work's age alone.
    unknown = agent_pane(team, "impl", activity=None)
    assert is_stuck(unknown, work, now=T, timeout=600)
    assert not is_stuck(unknown, work, now=T, timeout=701)
    # Exactly at the timeout counts.
    assert is_stuck(quiet, work, now=T, timeout=700)


def test_the_stuck_message_says_what_is_open() -> None:
    team = desired(fake("impl"))
    pane = agent_pane(team, "impl", activity=T - 650.7)
    work = OpenWork(since=T - 900, queued=2, tasks=("T1", "T2"))
    since = format_time(datetime.fromtimestamp(T - 650.7, timezone.utc))
    assert stuck_message("impl", work, pane=pane) == (
        f"agent impl: pane unchanged since {since} with 2 message(s) not delivered; "
        "no result for task(s) T1, T2"
    )


# --- idle team ------------------------------------------------------------------------------


def ready_statuses(team: Any, *agents: str) -> dict[str, AgentStatus]:
    return {agent: running_status(team, agent, f"%{i}") for i, agent in enumerate(agents, start=1)}


def test_an_idle_team_with_open_tasks_gets_one_reminder_per_quiet_episode() -> None:
    team = desired(fake("impl"), fake("docs"))
    panes = {
        "impl": agent_pane(team, "impl", "%1", activity=T - 400),
        "docs": agent_pane(team, "docs", "%2", activity=T - 350.5),
    }
    agents = ready_statuses(team, "impl", "docs")
    snap = snapshot(tasks=(task("T1", "impl", T - 1000), task("T2", "docs", T - 900, seq=2)))

    idle = idle_team(team, panes, agents, snap, now=T, timeout=300)
    assert idle is not None
    # The key names the episode by its last change, so later passes find the same key.
    assert idle.key == f"idle/{int(T - 350.5)}"
    assert idle.body.startswith(
        "all workers have been idle for 350s with open tasks: T1 (impl), T2 (docs)."
    )
    assert idle_team(team, panes, agents, snap, now=T + 120, timeout=300) == idle.__class__(
        key=idle.key, body=idle.body.replace("350s", "470s")
    )
    # A pane moves: a new episode, a new key once it is quiet again.
    panes["docs"] = agent_pane(team, "docs", "%2", activity=T + 10)
    assert idle_team(team, panes, agents, snap, now=T + 20, timeout=300) is None
    later = idle_team(team, panes, agents, snap, now=T + 400, timeout=300)
    assert later is not None and later.key == f"idle/{int(T + 10)}"


def test_not_idle_while_something_is_going_on() -> None:
    team = desired(fake("impl"), fake("docs"))
    panes = {
        "impl": agent_pane(team, "impl", "%1", activity=T - 400),
        "docs": agent_pane(team, "docs", "%2", activity=T - 400),
    }
    agents = ready_statuses(team, "impl", "docs")
    tasks = (task("T1", "impl", T - 1000),)

    def check(**changes: Any) -> Any:
        args: dict[str, Any] = {"panes": panes, "agents": agents, "snap": snapshot(tasks=tasks)}
        args.update(changes)
        return idle_team(team, args["panes"], args["agents"], args["snap"], now=T, timeout=300)

    assert check() is not None
    # No open task: nothing to remind of.
    assert check(snap=snapshot()) is None
    # A message still on its way to a worker.
    assert check(snap=snapshot(pending=(record(9, "docs"),), tasks=tasks)) is None
    # Messages waiting for the leader do not make the workers busy.
    assert check(snap=snapshot(pending=(record(9, "leader"),), tasks=tasks)) is not None
    # A task sent recently: quiet since the task, not since the panes.
    assert check(snap=snapshot(tasks=(task("T1", "impl", T - 100),))) is None
    # A worker not Ready (starting, awaiting approval) or without a pane.
    busy = dict(agents)
    busy["docs"] = msgspec.structs.replace(
        busy["docs"], conditions=[cond(C.READY, C.FALSE, C.AWAITING_APPROVAL)]
    )
    assert check(agents=busy) is None
    assert check(agents={"impl": agents["impl"]}) is None
    assert check(panes={"impl": panes["impl"]}) is None
    # A pane that changed within the timeout.
    assert check(panes={**panes, "impl": agent_pane(team, "impl", "%1", activity=T - 10)}) is None


def test_paused_workers_do_not_count_and_no_workers_is_never_idle() -> None:
    team = desired(fake("impl"), fake("docs", paused=True))
    panes = {"impl": agent_pane(team, "impl", "%1", activity=T - 400)}
    agents = ready_statuses(team, "impl")
    snap = snapshot(tasks=(task("T1", "impl", T - 1000),))
    assert idle_team(team, panes, agents, snap, now=T, timeout=300) is not None
    everyone_paused = desired(fake("impl", paused=True))
    assert idle_team(everyone_paused, panes, agents, snap, now=T, timeout=300) is None


def test_the_reminder_lists_at_most_ten_tasks() -> None:
    team = desired(fake("impl"))
    panes = {"impl": agent_pane(team, "impl", "%1", activity=T - 400)}
    tasks = tuple(task(f"T{i}", "impl", T - 1000, seq=i) for i in range(12))
    idle = idle_team(
        team, panes, ready_statuses(team, "impl"), snapshot(tasks=tasks), now=T, timeout=300
    )
    assert idle is not None
    assert "T9 (impl) and 2 more." in idle.body
    assert "T10" not in idle.body

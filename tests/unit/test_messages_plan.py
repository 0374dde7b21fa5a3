"""Golden plans of the messages controller: store snapshot + world + previous status.

Each case builds a `PassInputs` in memory (`tests.unit.builders`, records from
`reconciler.store.records` built directly), runs `MessagesController.reconcile` and
compares `plan.render()` with literal text, then the report. No tmux, no SQLite, no clock.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from controllers.agents.controller import AgentsController
from controllers.base import ControllerResult, Facts, PassInputs, Report
from controllers.messages.actions import DeliverMessage, DeliveryTarget, FailMessage, RaiseAlert
from controllers.messages.controller import MessagesController
from controllers.messages.deliver import MAX_ATTEMPTS
from controllers.messages.plan import WAIT_POLL_SEC
from reconciler.api import conditions as C
from reconciler.api.actions import ProcessRef
from reconciler.api.clock import format_time
from reconciler.api.ids import PaneId
from reconciler.api.status import AgentStatus, LeaderStatus, MessagesStatus, TeamStatus
from reconciler.engine.engine import merge_reports
from reconciler.observe.world import Pane
from reconciler.specfile.load import LoadedSpec
from reconciler.store.records import MessageRecord, OpenTask, StoreSnapshot
from tests.unit.builders import (
    GENERATION,
    NOW,
    STARTED,
    WORKSPACE,
    agent_pane,
    ago,
    cond,
    desired,
    fake,
    installed,
    message_record,
    running_status,
    shell,
    spec,
    team_status,
    ts,
    world,
)

T = ts(NOW)
NO_CHANGES = "no changes: the world matches the spec"
LEADER_PID = 4242
LEADER_SOCKET = "/tmp/tmux-1000/default"


def record(seq: int, recipient: str, *, created: float = T - 5, **fields: Any) -> MessageRecord:
    return message_record(seq, recipient, created=created, **fields)


def snapshot(*pending: MessageRecord, tasks: tuple[OpenTask, ...] = ()) -> StoreSnapshot:
    return StoreSnapshot(
        pending=tuple(sorted(pending, key=lambda m: m.seq)),
        open_tasks=tasks,
        failed_count=1,
        delivered_count=4,
    )


class Scene:
    """A team of fake agents `impl` (%1) and `docs` (%2), both Ready; a bindable leader."""

    def __init__(self, *agents: dict[str, Any], **sections: Any) -> None:
        agents = agents or (fake("impl"), fake("docs"))
        sections.setdefault("leader", {"provider": "claude"})
        self.spec = spec(*agents, **sections)
        self.team = desired(*agents, **sections)
        self.panes: dict[str, Pane] = {}
        self.statuses: dict[str, AgentStatus] = {}
        for number, name in enumerate((a["id"] for a in agents), start=1):
            self.panes[name] = agent_pane(self.team, name, f"%{number}", activity=T - 30)
            self.statuses[name] = running_status(self.team, name, f"%{number}")
        self.leader = LeaderStatus(
            conditions=[cond(C.LEADER_BOUND, C.TRUE, C.BOUND)],
            paneId="%77",
            socket=LEADER_SOCKET,
            panePid=LEADER_PID,
            provider="claude",
        )
        self.leader_process = True
        self.messages_status: MessagesStatus | None = None

    def previous(self) -> TeamStatus:
        return team_status(self.statuses, leader=self.leader, messages=self.messages_status)

    def inputs(self, snap: StoreSnapshot | None, *, now: datetime = NOW) -> PassInputs:
        panes = list(self.panes.values())
        rows: list[Any] = [(p.pane_pid, 100, "python3", ts(STARTED)) for p in panes if not p.dead]
        if self.leader_process:
            rows.append((LEADER_PID, 1, "claude", ts(STARTED)))
        loaded = LoadedSpec(
            path=WORKSPACE / "team.spec.yaml",
            spec=self.spec,
            content_hash="sha256:0",
            workspace=Path(WORKSPACE),
            deprecations=(),
        )
        return PassInputs(
            loaded=loaded,
            team=self.team,
            world=world(*panes, processes=rows),
            previous=self.previous(),
            now=now,
            generation=GENERATION,
            installed={},
            facts=Facts([snap] if snap is not None else []),
        )

    def run(self, snap: StoreSnapshot | None, *, now: datetime = NOW) -> ControllerResult:
        return MessagesController().reconcile(self.inputs(snap, now=now))


def rendered(result: ControllerResult) -> str:
    return result.plan.render()


def test_nothing_to_do_without_a_store() -> None:
    result = Scene().run(None)
    assert result.plan.empty
    assert result.report.messages is None
    assert result.report.agent_conditions is None


def test_one_delivery_per_recipient_per_pass_oldest_first() -> None:
    scene = Scene()
    snap = snapshot(record(3, "impl"), record(1, "docs"), record(2, "impl"), record(4, "docs"))
    result = scene.run(snap)
    assert rendered(result) == (
        "deliver message/msg-1 to docs pane %2 (queued)\n"
        "deliver message/msg-2 to impl pane %1 (queued)"
    )
    first = result.plan.actions[1]
    assert first == DeliverMessage(
        message_id="msg-2",
        target=DeliveryTarget(
            recipient="impl",
            pane=PaneId("%1"),
            process=ProcessRef(pid=1001, create_time=ts(STARTED)),
            provider="fake",
        ),
        text="[team-agent] msg-2 from leader\nbody 2",
        entered=False,
        attempt=0,
    )
    assert result.plan.requeue_after is None
    assert result.report.messages == MessagesStatus(
        queued=4, delivering=0, delivered=4, failed=1, openTasks=0, idleReminder=None
    )


def test_a_retry_is_labelled_with_its_attempts() -> None:
    snap = snapshot(record(1, "impl", state="delivering", attempts=2, task="T1"))
    result = Scene().run(snap)
    assert rendered(result) == "deliver message/msg-1 to impl pane %1 (retry 2)"
    action = result.plan.actions[0]
    assert isinstance(action, DeliverMessage)
    assert action.attempt == 2
    assert action.text == "[team-agent] msg-1 from leader task=T1\nbody 1"
    assert result.report.messages is not None and result.report.messages.delivering == 1


def test_not_before_in_the_future_holds_the_recipients_queue_and_requeues() -> None:
    snap = snapshot(
        record(1, "impl", not_before=T + 7.5),
        record(2, "impl"),  # waits behind msg-1: order is kept
        record(3, "docs", not_before=T + 2.0),
        record(4, "docs"),
    )
    result = Scene().run(snap)
    assert rendered(result) == NO_CHANGES
    assert result.plan.requeue_after == pytest.approx(2.0)
    # Due now (or past): delivered.
    due = snapshot(record(1, "impl", not_before=T), record(3, "docs", not_before=T - 1))
    assert rendered(Scene().run(due)) == (
        "deliver message/msg-1 to impl pane %1 (queued)\n"
        "deliver message/msg-3 to docs pane %2 (queued)"
    )


def not_ready(scene: Scene) -> None:
    scene.statuses["impl"] = msgspec.structs.replace(
        scene.statuses["impl"], conditions=[cond(C.READY, C.FALSE, C.STARTING)]
    )


def awaiting_approval(scene: Scene) -> None:
    scene.statuses["impl"] = msgspec.structs.replace(
        scene.statuses["impl"], conditions=[cond(C.READY, C.FALSE, C.AWAITING_APPROVAL)]
    )


def pane_dead(scene: Scene) -> None:
    scene.panes["impl"] = agent_pane(scene.team, "impl", "%1", dead=True, dead_status=1)


def pid_differs(scene: Scene) -> None:
    scene.panes["impl"] = agent_pane(scene.team, "impl", "%1", pid=5555, activity=T - 30)


def no_pane(scene: Scene) -> None:
    del scene.panes["impl"]


def no_status(scene: Scene) -> None:
    del scene.statuses["impl"]


WAITS = {
    "not-ready": not_ready,
    "awaiting-approval": awaiting_approval,
    "pane-dead": pane_dead,
    "pid-differs": pid_differs,
    "no-pane": no_pane,
    "no-status": no_status,
}


@pytest.mark.parametrize("change", WAITS.values(), ids=WAITS.keys())
def test_a_recipient_that_cannot_take_input_keeps_its_messages(change: Any) -> None:
    scene = Scene()
    change(scene)
    result = scene.run(snapshot(record(1, "impl"), record(2, "docs")))
    assert rendered(result) == "deliver message/msg-2 to docs pane %2 (queued)"


def test_a_paused_recipient_keeps_its_messages() -> None:
    scene = Scene(fake("impl", paused=True), fake("docs"))
    result = scene.run(snapshot(record(1, "impl"), record(2, "docs")))
    assert rendered(result) == "deliver message/msg-2 to docs pane %2 (queued)"


def test_an_undeclared_recipient_or_a_shell_fails_the_message() -> None:
    scene = Scene(fake("impl"), shell("build"))
    result = scene.run(snapshot(record(1, "gone"), record(2, "build"), record(3, "impl")))
    assert rendered(result) == (
        "fail    message/msg-1 (agent gone is not declared in the spec)\n"
        "fail    message/msg-2 (provider shell takes no messages (agent build))\n"
        "deliver message/msg-3 to impl pane %1 (queued)"
    )


def test_a_message_out_of_attempts_fails_unless_enter_was_pressed() -> None:
    spent = record(1, "impl", state="delivering", attempts=MAX_ATTEMPTS, last_error="x")
    result = Scene().run(snapshot(spent))
    assert result.plan.actions == (
        FailMessage("msg-1", cause=f"not delivered after {MAX_ATTEMPTS} attempts"),
    )
    # Enter was pressed: only the executor may confirm or fail it from the screen.
    entered = replace(spent, entered=True)
    result = Scene().run(snapshot(entered))
    assert rendered(result) == (
        "deliver message/msg-1 to impl pane %1 (confirm an interrupted delivery)"
    )


def test_an_interrupted_delivery_is_confirmed_not_resubmitted() -> None:
    snap = snapshot(record(1, "impl", state="delivering", attempts=1, entered=True, pane="%1"))
    (action,) = Scene().run(snap).plan.actions
    assert isinstance(action, DeliverMessage)
    assert action.entered is True
    assert action.attempt == 1
    assert action.cause == "confirm an interrupted delivery"


# --- the leader ----------------------------------------------------------------------------


def test_messages_to_the_bound_leader_go_to_its_pane_on_its_server() -> None:
    result = Scene().run(snapshot(record(1, "leader", sender="impl", kind="result")))
    assert rendered(result) == "deliver message/msg-1 to leader pane %77 (queued)"
    (action,) = result.plan.actions
    assert isinstance(action, DeliverMessage)
    assert action.target == DeliveryTarget(
        recipient="leader",
        pane=PaneId("%77"),
        process=ProcessRef(pid=LEADER_PID, create_time=ts(STARTED)),
        provider="claude",
        socket_path=LEADER_SOCKET,
    )
    assert action.text == "[team-agent] msg-1 from impl\nbody 1"


def test_the_leaders_provider_comes_from_the_spec_when_the_status_lacks_it() -> None:
    scene = Scene(leader={"provider": "codex"})
    scene.leader = msgspec.structs.replace(scene.leader, provider=None)
    (action,) = scene.run(snapshot(record(1, "leader"))).plan.actions
    assert isinstance(action, DeliverMessage)
    assert action.target.provider == "codex"


def unbound(scene: Scene) -> None:
    scene.leader = msgspec.structs.replace(
        scene.leader, conditions=[cond(C.LEADER_BOUND, C.FALSE, C.NOT_BOUND)]
    )


def never_observed(scene: Scene) -> None:
    scene.leader = LeaderStatus()


def no_pane_id(scene: Scene) -> None:
    scene.leader = msgspec.structs.replace(scene.leader, paneId=None)


def no_pane_pid(scene: Scene) -> None:
    scene.leader = msgspec.structs.replace(scene.leader, panePid=None)


def process_gone(scene: Scene) -> None:
    scene.leader_process = False


def leader_on_shell(scene: Scene) -> None:
    scene.leader = msgspec.structs.replace(scene.leader, provider="shell")


LEADER_WAITS = {
    "not-bound": unbound,
    "never-observed": never_observed,
    "no-pane-id": no_pane_id,
    "no-pane-pid": no_pane_pid,
    "process-gone": process_gone,
    "shell": leader_on_shell,
}


@pytest.mark.parametrize("change", LEADER_WAITS.values(), ids=LEADER_WAITS.keys())
def test_messages_to_the_leader_wait_until_it_is_bound(change: Any) -> None:
    scene = Scene()
    change(scene)
    result = scene.run(snapshot(record(1, "leader"), record(2, "impl")))
    assert rendered(result) == "deliver message/msg-2 to impl pane %1 (queued)"
    assert result.report.messages is not None and result.report.messages.queued == 2


# --- stuck and idle ------------------------------------------------------------------------


def stalled(result: ControllerResult, agent: str) -> C.Condition:
    conditions = result.report.agent_conditions
    assert conditions is not None and agent in conditions, conditions
    (found,) = conditions[agent]
    assert found.type == C.STALLED
    return found


def test_a_stuck_agent_is_stalled_and_alerts_the_leader_once() -> None:
    scene = Scene(runtime={"stuck_timeout_sec": 600})
    scene.panes["impl"] = agent_pane(scene.team, "impl", "%1", activity=T - 900)
    not_ready(scene)  # its message cannot go in: it stays queued
    snap = snapshot(record(1, "impl", created=T - 700))

    first = scene.run(snap)
    cond_ = stalled(first, "impl")
    assert (cond_.status, cond_.reason) == (C.TRUE, C.STUCK)
    assert cond_.message == (
        f"agent impl: pane unchanged since {format_time(ago(700))} with 1 message(s) not delivered"
    )
    assert (
        rendered(first) == f"alert   leader alert stuck/impl/{int(T - 700)} (agent impl is stuck)"
    )
    (alert,) = first.plan.actions
    assert isinstance(alert, RaiseAlert)
    assert (alert.recipient, alert.kind, alert.body) == ("leader", "alert", cond_.message)
    # docs has no open work and was never stalled: nothing said about it.
    assert "docs" not in (first.report.agent_conditions or {})

    # The next pass sees Stalled=True in the previous status: no second alert.
    scene.statuses["impl"] = msgspec.structs.replace(
        scene.statuses["impl"], conditions=[*scene.statuses["impl"].conditions, cond_]
    )
    again = scene.run(snap, now=ago(-30))
    assert rendered(again) == NO_CHANGES
    assert stalled(again, "impl").status == C.TRUE

    # The pane moves: Progressing; and once the work is gone, Progressing with no open work.
    scene.panes["impl"] = agent_pane(scene.team, "impl", "%1", activity=T + 20)
    moving = scene.run(snap, now=ago(-30))
    assert (stalled(moving, "impl").status, stalled(moving, "impl").reason) == (
        C.FALSE,
        C.PROGRESSING,
    )
    done = scene.run(snapshot(), now=ago(-30))
    assert stalled(done, "impl").message == "no open work"


def test_an_agent_with_fresh_work_is_progressing() -> None:
    scene = Scene(runtime={"stuck_timeout_sec": 600})
    scene.panes["impl"] = agent_pane(scene.team, "impl", "%1", activity=T - 5000)
    open_task = OpenTask(
        task="T1", agent="impl", message_id="msg-1", state="delivered", since=T - 60
    )
    result = scene.run(snapshot(tasks=(open_task,)))
    found = stalled(result, "impl")
    assert (found.status, found.reason) == (C.FALSE, C.PROGRESSING)
    assert rendered(result) == NO_CHANGES


def test_an_open_task_without_a_result_makes_an_idle_agent_stuck() -> None:
    scene = Scene(runtime={"stuck_timeout_sec": 600, "idle_timeout_sec": 3600})
    scene.panes["impl"] = agent_pane(scene.team, "impl", "%1", activity=T - 650)
    open_task = OpenTask(
        task="T1", agent="impl", message_id="msg-1", state="delivered", since=T - 800
    )
    result = scene.run(snapshot(tasks=(open_task,)))
    assert stalled(result, "impl").message == (
        f"agent impl: pane unchanged since {format_time(ago(650))} with no result for task(s) T1"
    )
    assert (
        rendered(result) == f"alert   leader alert stuck/impl/{int(T - 650)} (agent impl is stuck)"
    )


def test_the_idle_reminder_is_planned_once_per_episode() -> None:
    scene = Scene(runtime={"stuck_timeout_sec": 86400, "idle_timeout_sec": 300})
    for name in ("impl", "docs"):
        scene.panes[name] = replace(scene.panes[name], activity=T - 400)
    tasks = (
        OpenTask(task="T1", agent="impl", message_id="msg-1", state="delivered", since=T - 500),
    )
    snap = snapshot(tasks=tasks)
    key = f"idle/{int(T - 400)}"

    first = scene.run(snap)
    assert rendered(first) == f"alert   leader reminder {key} (team idle)"
    (reminder,) = first.plan.actions
    assert isinstance(reminder, RaiseAlert) and reminder.kind == "reminder"
    assert first.report.messages is not None and first.report.messages.idleReminder == key
    assert first.report.messages.openTasks == 1

    # The status remembers the key: the same episode is not reminded of again.
    scene.messages_status = first.report.messages
    again = scene.run(snap, now=ago(-60))
    assert rendered(again) == NO_CHANGES
    assert again.report.messages is not None and again.report.messages.idleReminder == key

    # A new episode (a pane moved, then went quiet again): a new reminder.
    scene.panes["docs"] = replace(scene.panes["docs"], activity=T + 100)
    later = scene.run(snap, now=ago(-500))
    assert rendered(later) == f"alert   leader reminder idle/{int(T + 100)} (team idle)"


def test_stalled_conditions_carry_the_pass_time_and_generation() -> None:
    scene = Scene(runtime={"stuck_timeout_sec": 60})
    scene.panes["impl"] = agent_pane(scene.team, "impl", "%1", activity=T - 100)
    not_ready(scene)
    found = stalled(scene.run(snapshot(record(1, "impl", created=T - 100))), "impl")
    assert found.observedGeneration == GENERATION
    assert found.lastTransitionTime == cond(C.STALLED, C.TRUE, C.STUCK, at=NOW).lastTransitionTime


def with_ready(reason: str) -> Any:
    def change(scene: Scene) -> None:
        scene.statuses["impl"] = msgspec.structs.replace(
            scene.statuses["impl"], conditions=[cond(C.READY, C.FALSE, reason)]
        )

    return change


POLLS = {
    "starting": (with_ready(C.STARTING), WAIT_POLL_SEC),
    "dialog": (with_ready(C.AWAITING_INPUT), WAIT_POLL_SEC),
    "approval": (with_ready(C.AWAITING_APPROVAL), WAIT_POLL_SEC),
    "new-process": (pid_differs, WAIT_POLL_SEC),
    "new-agent": (no_status, WAIT_POLL_SEC),
    "readiness-timeout": (with_ready(C.READINESS_TIMEOUT), None),
    "paused": (with_ready(C.PAUSED), None),
    "pane-dead": (pane_dead, None),
    "no-pane": (no_pane, None),
}


@pytest.mark.parametrize(("change", "requeue"), POLLS.values(), ids=POLLS.keys())
def test_a_message_waiting_for_a_worker_on_its_way_looks_again_soon(
    change: Any, requeue: float | None
) -> None:
    # The pass that sees the worker become Ready plans nothing for it (this controller
    # reads the previous status): without a requeue the message would sit until the
    # periodic resync. A worker that is not on its way to Ready is not polled for.
    scene = Scene()
    change(scene)
    result = scene.run(snapshot(record(1, "impl")))
    assert rendered(result) == NO_CHANGES
    assert result.plan.requeue_after == requeue


def test_a_message_waiting_for_an_unbound_leader_is_not_polled_for() -> None:
    scene = Scene()
    unbound(scene)
    result = scene.run(snapshot(record(1, "leader")))
    assert rendered(result) == NO_CHANGES
    assert result.plan.requeue_after is None


# --- the engine lays Stalled over the agents controller's statuses --------------------------


def test_stalled_keeps_its_transition_time_across_passes_through_the_engine_merge() -> None:
    scene = Scene(runtime={"stuck_timeout_sec": 600})
    scene.panes["impl"] = agent_pane(scene.team, "impl", "%1", activity=T - 900)
    snap = snapshot(record(1, "impl", created=T - 700, not_before=T + 3600))
    controllers = (AgentsController(), MessagesController())

    def one_pass(now: datetime) -> tuple[TeamStatus, list[str]]:
        inputs = scene.inputs(snap, now=now)
        inputs = replace(inputs, installed=installed(scene.team))
        results = [c.reconcile(inputs) for c in controllers]
        status = merge_reports(inputs.previous, [r.report for r in results])
        scene.statuses = dict(status.agents)
        return status, [a.render() for r in results for a in r.plan.actions]

    first, actions = one_pass(NOW)
    found = C.find_condition(first.agents["impl"].conditions, C.STALLED)
    assert found is not None and (found.status, found.reason) == (C.TRUE, C.STUCK)
    assert found.lastTransitionTime == format_time(NOW)
    assert actions == [f"alert   leader alert stuck/impl/{int(T - 700)} (agent impl is stuck)"]
    # The other conditions the agents controller set are kept beside it.
    assert C.is_true(first.agents["impl"].conditions, C.READY)
    assert C.find_condition(first.agents["docs"].conditions, C.STALLED) is None

    second, actions = one_pass(ago(-30))
    again = C.find_condition(second.agents["impl"].conditions, C.STALLED)
    assert again is not None and again.status == C.TRUE
    assert again.lastTransitionTime == format_time(NOW)  # still the same episode
    assert again.message == found.message  # the message does not tick with the clock
    assert actions == []  # no second alert

    scene.panes["impl"] = agent_pane(scene.team, "impl", "%1", activity=T + 40)
    third, _ = one_pass(ago(-60))
    moving = C.find_condition(third.agents["impl"].conditions, C.STALLED)
    assert moving is not None and (moving.status, moving.reason) == (C.FALSE, C.PROGRESSING)
    assert moving.lastTransitionTime == format_time(ago(-60))


def test_the_merge_ignores_conditions_for_agents_without_a_status() -> None:
    previous = team_status({})
    late = Report(agent_conditions={"gone": (cond(C.STALLED, C.TRUE, C.STUCK),)})
    assert merge_reports(previous, [late]).agents == {}
    # Applied to the previous status when no report in the pass rebuilt the agents.
    team = desired(fake("impl"))
    kept = team_status({"impl": running_status(team, "impl")})
    merged = merge_reports(
        kept, [Report(agent_conditions={"impl": (cond(C.STALLED, C.FALSE, C.PROGRESSING),)})]
    )
    assert C.is_false(merged.agents["impl"].conditions, C.STALLED)
    assert C.is_true(merged.agents["impl"].conditions, C.READY)

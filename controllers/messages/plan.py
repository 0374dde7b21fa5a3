"""The messages controller: deliver what `send` and `report` queued, and watch for stalls.

Desired state here is the store (`.team/messages.db`, read once per pass into a
`StoreSnapshot`): every queued message should reach its recipient's input box once. The
controller plans, the executor (`controllers.messages.deliver`) acts and re-checks; this module
decides only *which* message may go *where* now:

* one message per recipient per pass, oldest first, so a CLI gets one prompt at a time
  and messages arrive in the order they were sent;
* to a worker only while it is `Ready` and its pane runs the process the status knows
  (a starting, crashed, paused or dialog-bound agent keeps its messages queued);
* to the leader only through the pane the leader controller bound last pass; while
  none is bound, messages wait (the leader reads them with `team-agent inbox leader`);
* a recipient the spec no longer declares, or a CLI that takes no messages (`shell`),
  fails the message with that reason; a message that ran out of attempts fails.

It also reports `Stalled` on agents (`controllers.messages.work`: stuck with open work) and
raises one alert per stuck episode and one reminder per idle episode to the leader.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from controllers.agents.panes import panes_by_agent, primary_pane
from controllers.base import ControllerResult, PassInputs, Report
from controllers.messages.actions import DeliverMessage, DeliveryTarget, FailMessage, RaiseAlert
from controllers.messages.deliver import MAX_ATTEMPTS
from controllers.messages.work import OpenWork, idle_team, is_stuck, open_work, stuck_message
from controllers.providers.inputs import input_profile
from reconciler.api import conditions as C
from reconciler.api.actions import Action, Plan, ProcessRef
from reconciler.api.conditions import Condition
from reconciler.api.ids import PaneId
from reconciler.api.spec import LEADER
from reconciler.api.status import MessagesStatus
from reconciler.observe.world import Pane
from reconciler.store.records import StoreSnapshot

if TYPE_CHECKING:
    from reconciler.store.records import MessageRecord

# A message waiting for a worker on its way to Ready (starting, in a dialog, awaiting an
# approval) looks again this soon: this controller reads the previous status, so the pass
# that sees the worker become Ready plans nothing for it, and the next trigger could
# otherwise be the periodic resync. A worker stuck elsewhere (timed out, backing off)
# is not polled for.
WAIT_POLL_SEC = 2.0
_ON_ITS_WAY = frozenset({C.STARTING, C.AWAITING_INPUT, C.AWAITING_APPROVAL})


class _Wait:
    """The recipient cannot take a message now; it stays queued."""


WAIT = _Wait()


def plan_messages(inputs: PassInputs) -> ControllerResult:
    """Deliveries, failures and alerts from the store snapshot (pure)."""
    snapshot = inputs.fact(StoreSnapshot)
    if snapshot is None:  # no message was ever sent: nothing to deliver or watch
        return ControllerResult(plan=Plan(), report=Report())
    now = inputs.now.timestamp()
    panes = {
        agent: pane
        for agent, group in panes_by_agent(inputs.team, inputs.world).items()
        if (pane := primary_pane(group, inputs.previous.agents.get(agent))) is not None
    }
    actions: list[Action] = []
    requeue: float | None = None
    busy: set[str] = set()
    for message in snapshot.pending:
        if message.recipient in busy:
            continue
        target = _target(message, inputs, panes)
        if isinstance(target, str):  # every message to a gone recipient fails at once
            actions.append(FailMessage(message.id, cause=target))
            continue
        busy.add(message.recipient)
        if message.not_before is not None and message.not_before > now:
            wait = message.not_before - now
            requeue = wait if requeue is None else min(requeue, wait)
            continue
        if isinstance(target, DeliveryTarget):
            actions.append(_deliver_or_fail(message, target))
        elif _on_its_way(message.recipient, inputs, panes):
            requeue = WAIT_POLL_SEC if requeue is None else min(requeue, WAIT_POLL_SEC)
    work = open_work(snapshot)
    conditions, alerts = _stalls(inputs, panes, work, now)
    actions.extend(alerts)
    reminder = _reminder(inputs, panes, snapshot, now)
    previous = inputs.previous.messages
    idle_key = previous.idleReminder if previous is not None else None
    if reminder is not None and reminder.key != idle_key:
        actions.append(reminder)
        idle_key = reminder.key
    return ControllerResult(
        plan=Plan(actions=tuple(actions), requeue_after=requeue),
        report=Report(
            agent_conditions=conditions,
            messages=_counts(snapshot, idle_key),
        ),
    )


def _deliver_or_fail(message: MessageRecord, target: DeliveryTarget) -> Action:
    if message.attempts >= MAX_ATTEMPTS and not message.entered:
        return FailMessage(message.id, cause=f"not delivered after {message.attempts} attempts")
    cause = "queued" if message.attempts == 0 else f"retry {message.attempts}"
    if message.entered:
        cause = "confirm an interrupted delivery"
    return DeliverMessage(
        message_id=message.id,
        target=target,
        text=message.text(),
        entered=message.entered,
        attempt=message.attempts,
        cause=cause,
    )


def _target(
    message: MessageRecord, inputs: PassInputs, panes: Mapping[str, Pane]
) -> DeliveryTarget | str | _Wait:
    """Where `message` can go now; a reason to fail it; or WAIT."""
    if message.recipient == LEADER:
        return _leader_target(inputs)
    desired = inputs.team.agent(message.recipient)
    if desired is None:
        return f"agent {message.recipient} is not declared in the spec"
    provider = desired.agent.provider
    if input_profile(provider) is None:
        return f"provider {provider} takes no messages (agent {message.recipient})"
    status = inputs.previous.agents.get(message.recipient)
    pane = panes.get(message.recipient)
    if status is None or pane is None or pane.dead or desired.agent.paused:
        return WAIT
    if not C.is_true(status.conditions, C.READY) or status.pid != pane.pane_pid:
        return WAIT
    process = (
        ProcessRef(pid=status.pid, create_time=status.pidCreateTime)
        if status.pid is not None and status.pidCreateTime is not None
        else None
    )
    return DeliveryTarget(
        recipient=message.recipient, pane=pane.pane_id, process=process, provider=provider
    )


def _on_its_way(agent: str, inputs: PassInputs, panes: Mapping[str, Pane]) -> bool:
    """A waiting worker that may be Ready as of this pass (see `WAIT_POLL_SEC`)."""
    pane = panes.get(agent)
    if pane is None or pane.dead:
        return False
    status = inputs.previous.agents.get(agent)
    if status is None or status.pid != pane.pane_pid:
        return True  # new, or a new process: starting
    ready = C.find_condition(status.conditions, C.READY)
    return ready is None or ready.reason in _ON_ITS_WAY


def _leader_target(inputs: PassInputs) -> DeliveryTarget | _Wait:
    leader = inputs.previous.leader
    if not C.is_true(leader.conditions, C.LEADER_BOUND) or leader.paneId is None:
        return WAIT
    provider = leader.provider or (
        inputs.loaded.spec.leader.provider if inputs.loaded.spec.leader else None
    )
    if provider is None or input_profile(provider) is None or leader.panePid is None:
        return WAIT
    info = inputs.world.processes.get(leader.panePid)
    if info is None:
        return WAIT
    return DeliveryTarget(
        recipient=LEADER,
        pane=PaneId(leader.paneId),
        process=ProcessRef(pid=info.pid, create_time=info.create_time),
        provider=provider,
        socket_path=leader.socket,
    )


def _stalls(
    inputs: PassInputs, panes: Mapping[str, Pane], work: Mapping[str, OpenWork], now: float
) -> tuple[dict[str, tuple[Condition, ...]], list[Action]]:
    """`Stalled` for each agent with open work (or stalled before), and one alert each."""
    timeout = inputs.loaded.spec.runtime.stuck_timeout_sec
    conditions: dict[str, tuple[Condition, ...]] = {}
    alerts: list[Action] = []
    for desired in inputs.team.agents:
        agent = desired.id
        previous = inputs.previous.agents.get(agent)
        was = previous.conditions if previous is not None else []
        pane = panes.get(agent)
        items = work.get(agent)
        if items is None or pane is None or pane.dead:
            if C.find_condition(was, C.STALLED) is not None:
                conditions[agent] = (_cond(inputs, C.FALSE, C.PROGRESSING, "no open work"),)
            continue
        if not is_stuck(pane, items, now=now, timeout=timeout):
            conditions[agent] = (_cond(inputs, C.FALSE, C.PROGRESSING, ""),)
            continue
        text = stuck_message(agent, items, pane=pane)
        conditions[agent] = (_cond(inputs, C.TRUE, C.STUCK, text),)
        if not C.is_true(was, C.STALLED):
            started = int(max(pane.activity or 0.0, items.since))
            alerts.append(
                RaiseAlert(
                    key=f"stuck/{agent}/{started}",
                    recipient=LEADER,
                    kind="alert",
                    body=text,
                    cause=f"agent {agent} is stuck",
                )
            )
    return conditions, alerts


def _reminder(
    inputs: PassInputs, panes: Mapping[str, Pane], snapshot: StoreSnapshot, now: float
) -> RaiseAlert | None:
    idle = idle_team(
        inputs.team,
        panes,
        inputs.previous.agents,
        snapshot,
        now=now,
        timeout=inputs.loaded.spec.runtime.idle_timeout_sec,
    )
    if idle is None:
        return None
    return RaiseAlert(
        key=idle.key, recipient=LEADER, kind="reminder", body=idle.body, cause="team idle"
    )


def _cond(inputs: PassInputs, status: C.ConditionStatus, reason: str, message: str) -> Condition:
    return C.condition(
        C.STALLED, status, reason, message, now=inputs.now, generation=inputs.generation
    )


def _counts(snapshot: StoreSnapshot, idle_key: str | None) -> MessagesStatus:
    return MessagesStatus(
        queued=sum(1 for m in snapshot.pending if m.state == "queued"),
        delivering=sum(1 for m in snapshot.pending if m.state == "delivering"),
        delivered=snapshot.delivered_count,
        failed=snapshot.failed_count,
        openTasks=len(snapshot.open_tasks),
        idleReminder=idle_key,
    )

"""The measurements behind the messages benchmark (`bench.messages` turns them into figures).

Two sandboxes, each a private tmux server with fake agents:

* `under_run`: `team-agent run` as a real process. Messages are queued the way
  `team-agent send` queues them: `MessageStore.send`, then `touch_wake` on `.team/wake`,
  which the loop watches. Times come from the store's own timestamps (the `now` handed to
  `send`, taken right before the call, and the executor's `delivered_at`): the same
  machine's wall clock, so no polling error is in them; the store is polled only to know
  when to go on. Before each trial the loop must have written a pass that saw every
  earlier message delivered and planned nothing, so each trial starts from an idle loop.
* `in_process`: an `Engine` driven pass by pass (as `reconcile --once` builds one), where
  `Engine.tmux_calls` counts every tmux invocation. No-op passes are counted before any
  message exists (the store file absent, as before messaging), then single messages each
  delivered by a pass started right after `send`, then a batch, then task messages; each
  count is compared by `bench.messages` with the no-op baseline. No-op passes are
  counted after a second without output (`BenchTeam.quiet_pass`): a pass also reads the
  screens of agents that wrote since the last pass looked.

Messages carry no task (the fake answers with one line and never starts `team-agent
report`), except the task messages of the last step, whose `[no-report]` line keeps the
fake from reporting: their results are stored directly, without a notice to the leader.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from bench.harness import BenchError, BenchTeam, private_team, wait_until
from bench.measure import Config
from reconciler.api.envelope import ResultEnvelope
from reconciler.engine.engine import Engine, PassResult
from reconciler.engine.wake import touch_wake
from reconciler.store.messages import LEADER, MessageRecord, MessageStore

BODY_BYTES = 1024
POLL_SEC = 0.01
READY_TIMEOUT_SEC = 120.0
DELIVER_TIMEOUT_SEC = 60.0
TASK_BODY = "bench task: nothing to do\n[no-report]"


@dataclass(frozen=True)
class Shape:
    """How big: agents, messages per agent in a batch, trials. The smoke test shrinks it."""

    agents: int = 10
    per_agent: int = 10
    latency_trials: int = 15
    batch_trials: int = 3
    noop_passes: int = 9


def body(n: int) -> str:
    """Message `n`'s body: one line of exactly `BODY_BYTES` ASCII bytes, each one different."""
    head = f"bench message {n}: "
    filler = "the quick brown fox jumps over the lazy dog; " * (BODY_BYTES // 45 + 1)
    return (head + filler)[:BODY_BYTES]


def agent_ids(count: int) -> list[str]:
    return [f"m{i:02d}" for i in range(count)]


def queue(store: MessageStore, agents: Sequence[str], per_agent: int, *, first: int) -> list[str]:
    """`per_agent` messages to every agent (one `send` per round), without a task."""
    ids: list[str] = []
    for k in range(per_agent):
        sent = store.send(
            sender=LEADER, recipients=agents, body=body(first + k), task=None, now=time.time()
        )
        ids += [m.id for m in sent]
    return ids


def send_one(store: MessageStore, recipient: str, n: int) -> tuple[str, float]:
    """Message `n` to `recipient`, without a task: its id, and the `now` it was sent with."""
    now = time.time()
    (record,) = store.send(sender=LEADER, recipients=[recipient], body=body(n), task=None, now=now)
    return record.id, now


def finished(store: MessageStore, ids: Sequence[str]) -> list[MessageRecord] | None:
    """The records once every one is delivered; None while any is pending; error if failed."""
    done: list[MessageRecord] = []
    for message_id in ids:
        record = store.get(message_id)
        if record is None or record.state in ("queued", "delivering"):
            return None
        if record.state == "failed":
            raise BenchError(f"{record.id} to {record.recipient} failed: {record.last_error}")
        done.append(record)
    return done


def delivered_at(record: MessageRecord) -> float:
    if record.delivered_at is None:
        raise BenchError(f"{record.id} is delivered without a delivery time")
    return record.delivered_at


# -- under `team-agent run` ---------------------------------------------------------------


@dataclass(frozen=True)
class RunSamples:
    latencies: list[float]  # seconds from `send` to delivered, one per trial
    batches: list[float]  # seconds from the first `send` to the last delivery, per trial


def under_run(shape: Shape, config: Config) -> RunSamples:
    with private_team("messages-run") as team:
        names = agent_ids(shape.agents)
        team.write_spec(team.fake_agents(names))
        team.start("run")
        try:
            return _run_trials(team, names, shape, config)
        except BenchError as err:
            raise BenchError(f"{err}; `run` printed: {team.log_tail()}") from err


def _run_trials(team: BenchTeam, names: list[str], shape: Shape, config: Config) -> RunSamples:
    config.progress(f"messages: waiting for {len(names)} fake agents under `run`")
    wait_until(team.is_ready, timeout=READY_TIMEOUT_SEC, interval=0.05, what="Ready")
    state = team.workspace / ".team"
    latencies: list[float] = []
    batches: list[float] = []
    with MessageStore.open(state) as store:
        config.progress(f"messages: {shape.latency_trials} single messages under `run`")
        total = 0
        for k in range(shape.latency_trials):
            message_id, now = send_one(store, names[k % len(names)], k)
            touch_wake(state)
            (done,) = _wait_delivered(store, [message_id])
            latencies.append(delivered_at(done) - now)
            total += 1
            _settle(team, total)

        count = shape.per_agent * len(names)
        config.progress(f"messages: {shape.batch_trials} batches of {count} under `run`")
        for _ in range(shape.batch_trials):
            start = time.time()
            ids = queue(store, names, shape.per_agent, first=total)
            touch_wake(state)
            records = _wait_delivered(store, ids)
            batches.append(max(delivered_at(r) for r in records) - start)
            total += len(ids)
            _settle(team, total)
    return RunSamples(latencies, batches)


def _wait_delivered(store: MessageStore, ids: Sequence[str]) -> list[MessageRecord]:
    return wait_until(
        lambda: finished(store, ids),
        timeout=DELIVER_TIMEOUT_SEC,
        interval=POLL_SEC,
        what=f"{len(ids)} message(s) delivered",
    )


def _settle(team: BenchTeam, delivered: int) -> None:
    """Until `run` has written a pass that saw all `delivered` messages and planned nothing."""

    def settled() -> bool:
        status = team.status()
        if status is None or status.messages is None or status.lastReconcile is None:
            return False
        return status.messages.delivered >= delivered and not status.lastReconcile.actions

    wait_until(settled, timeout=DELIVER_TIMEOUT_SEC, interval=POLL_SEC, what="`run` settled")


# -- in-process passes ------------------------------------------------------------------


@dataclass(frozen=True)
class Counted:
    """tmux calls (and passes) of one step of `in_process`."""

    calls: int
    passes: int
    deferred: int = 0  # quiet outcomes: a delivery deferred (the pane took no input) or moot


@dataclass(frozen=True)
class InProcess:
    before: list[int]  # tmux calls per no-op pass before any message
    singles: list[float]  # seconds from `send` to delivered, a pass started at once
    single: Counted  # over the single messages' passes
    batch: Counted  # over the passes delivering one batch
    batch_size: int
    open_tasks: list[int]  # per no-op pass while every agent has an open task
    after: list[int]  # per no-op pass once every message is delivered, every task answered


def in_process(shape: Shape, config: Config) -> InProcess:
    with private_team("messages-passes") as team:
        names = agent_ids(shape.agents)
        team.write_spec(team.fake_agents(names))
        engine = team.engine()
        config.progress(f"messages: converging {len(names)} fake agents in-process")
        team.converge(engine, timeout=READY_TIMEOUT_SEC)
        _quiet(engine)
        team.quiet_pass(engine)
        state = team.workspace / ".team"
        if MessageStore.exists(state):
            raise BenchError("a message store exists before any message was sent")
        before = _noop_calls(engine, shape.noop_passes, "before any message")

        config.progress("messages: single messages and a batch, in-process")
        with MessageStore.open(state) as store:
            singles: list[float] = []
            calls0, passes = engine.tmux_calls, 0
            for k in range(shape.latency_trials):
                message_id, now = send_one(store, names[k % len(names)], k)
                counted, (done,) = _deliver(engine, store, [message_id], pause=False)
                passes += counted.passes
                singles.append(delivered_at(done) - now)
            single = Counted(engine.tmux_calls - calls0, passes)
            _quiet(engine)

            ids = queue(store, names, shape.per_agent, first=shape.latency_trials)
            batch, _ = _deliver(engine, store, ids, pause=True)

            tasks = {name: f"T-{name}" for name in names}
            task_ids = [
                m.id
                for name, task in tasks.items()
                for m in store.send(
                    sender=LEADER, recipients=[name], body=TASK_BODY, task=task, now=time.time()
                )
            ]
            _deliver(engine, store, task_ids, pause=True)
            _quiet(engine)
            team.quiet_pass(engine)
            open_tasks = _noop_calls(engine, shape.noop_passes, "every task open")
            for name, task in tasks.items():
                envelope = ResultEnvelope(
                    task_id=task, agent_id=name, status="done", summary="bench"
                )
                store.add_result(envelope, now=time.time(), notify=None)
            team.quiet_pass(engine)
            after = _noop_calls(engine, shape.noop_passes, "every message delivered and answered")
    return InProcess(before, singles, single, batch, len(ids), open_tasks, after)


def _deliver(
    engine: Engine, store: MessageStore, ids: Sequence[str], *, pause: bool
) -> tuple[Counted, list[MessageRecord]]:
    """Passes until every message in `ids` is delivered: what they cost, and the records.

    With `pause`, each pass is followed by the wait `run` would make (its requeue).
    """
    calls0, passes, deferred = engine.tmux_calls, 0, 0
    deadline = time.monotonic() + DELIVER_TIMEOUT_SEC
    while (records := finished(store, ids)) is None:
        if time.monotonic() > deadline:
            raise BenchError(f"{len(ids)} message(s) not delivered by in-process passes")
        result = engine.reconcile()
        passes += 1
        deferred += sum(1 for o in result.outcomes if o.quiet)
        if pause:
            time.sleep(_pause(result))
    return Counted(engine.tmux_calls - calls0, passes, deferred), records


def _pause(result: PassResult) -> float:
    """The wait `run` would make before the next pass (its requeue), kept short."""
    return min(max(result.requeue_after or 0.1, 0.05), 0.25)


def _quiet(engine: Engine) -> None:
    """Passes until one plans nothing (the passes right after acting may still observe)."""
    deadline = time.monotonic() + READY_TIMEOUT_SEC
    while not (result := engine.reconcile()).plan.empty or not result.ready:
        if time.monotonic() > deadline:
            raise BenchError(f"no quiet pass: {result.plan.render()}")
        time.sleep(_pause(result))


def _noop_calls(engine: Engine, passes: int, what: str) -> list[int]:
    """tmux calls of each of `passes` passes; each must plan nothing and find the team Ready."""
    calls: list[int] = []
    for _ in range(passes):
        calls0 = engine.tmux_calls
        result = engine.reconcile()
        if not result.plan.empty or not result.ready:
            raise BenchError(
                f"a pass with {what} was not a no-op: {result.plan.render()} "
                f"(exit {result.exit_code})"
            )
        calls.append(engine.tmux_calls - calls0)
    return calls

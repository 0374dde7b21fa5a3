"""Messages (issue #6): delivery latency, throughput, and tmux calls per delivered message.

Fake agents on a private tmux server; each message is one line of 1 KB without a task.
The measurements are `bench.message_trials`; this module turns them into figures:

* *sent → delivered under `run`*: `team-agent run` as a real process over 10 agents; one
  message per trial, queued as `team-agent send` queues it (store, then `.team/wake`).
  Median and p90 against 500 ms, the reaction budget `run` already keeps for a spec
  edit (`run-latency`): a message is an edit of desired state too, and the delivery
  protocol (paste, see it in the input box, Enter, see it leave) fits well inside it.
  Beside it, without a target, the same delivery by an in-process pass started right
  after `send`: the difference is what waking the loop costs.
* *100 messages to 10 agents*: all queued at once; time to the last delivery and
  messages per second, without a target: each recipient takes one message per pass (one
  prompt at a time, in order), so the figure follows the pass and the paste protocol.
* *tmux calls per delivered message*: in-process passes deliver the same batch; their
  tmux calls minus as many no-op passes' (counted before any message existed), divided
  by the messages. No target: the protocol needs at least 5 calls (inspect, paste, see
  it, Enter, see it leave), and the count shows how many polls it takes beyond that.
* *no-op pass after messaging*: with every message delivered and every task answered, a
  pass must cost what it cost before any message (≤ 3 calls, difference 0). While tasks
  are open it captures the working agents' panes, in one more call whatever their number.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from bench.measure import Benchmark, Config, Figure, Sample, Target, ms
from bench.message_trials import InProcess, RunSamples, Shape, in_process, under_run

LATENCY_TARGET_MS = 500.0
MAX_NOOP_CALLS = 3  # DESIGN.md: a no-op pass costs O(1) tmux calls, at most 3


def run(config: Config, shape: Shape | None = None) -> list[Figure]:
    shape = shape or Shape(
        latency_trials=config.trials(full=15, quick=5),
        batch_trials=config.trials(full=3, quick=1),
        noop_passes=config.trials(full=9, quick=3),
    )
    timed = under_run(shape, config)
    counted = in_process(shape, config)
    return run_figures(timed, counted, shape) + call_figures(counted, shape)


def p90_of(values: Sequence[float]) -> float:
    """The 90th percentile (linear between the closest ranks); the value itself for one."""
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=10, method="inclusive")[8]


def run_figures(timed: RunSamples, counted: InProcess, shape: Shape) -> list[Figure]:
    latency = Sample(tuple(timed.latencies))
    slow = sum(1 for v in timed.latencies if v * 1000 > LATENCY_TARGET_MS)
    direct = Sample(tuple(counted.singles))
    count = shape.agents * shape.per_agent
    batch = Sample(tuple(timed.batches))
    rates = ", ".join(f"{count / b:.1f}" for b in timed.batches)
    return [
        Figure(
            "messages",
            "`run`: 1 KB message sent → delivered, median",
            ms(latency.median),
            "ms",
            Target("<=", LATENCY_TARGET_MS),
            f"{latency.spread_ms()}; store timestamps; `run` woken by `.team/wake`",
        ),
        Figure(
            "messages",
            "`run`: 1 KB message sent → delivered, p90",
            ms(p90_of(timed.latencies)),
            "ms",
            Target("<=", LATENCY_TARGET_MS),
            f"{slow} of {len(timed.latencies)} trials over {LATENCY_TARGET_MS:.0f} ms",
        ),
        Figure(
            "messages",
            "in-process pass at once: 1 KB message sent → delivered",
            ms(direct.median),
            "ms",
            None,
            f"{direct.spread_ms()}; {counted.single.passes} passes for "
            f"{len(counted.singles)} messages",
        ),
        Figure(
            "messages",
            f"`run`: {count} messages queued to {shape.agents} agents, all delivered",
            ms(batch.median),
            "ms",
            None,
            f"{batch.spread_ms()}; first `send` → last delivery",
        ),
        Figure(
            "messages",
            f"`run`: throughput, {count} messages to {shape.agents} agents",
            round(count / batch.median, 1),
            "messages/s",
            None,
            f"from the median batch; each trial: {rates}",
        ),
    ]


def call_figures(counted: InProcess, shape: Shape) -> list[Figure]:
    baseline = statistics.median(counted.before)
    batch, single = counted.batch, counted.single

    def per_message(calls: int, passes: int, messages: int) -> float:
        return round((calls - baseline * passes) / messages, 2)

    alone = per_message(single.calls, single.passes, len(counted.singles))
    before, tasks, after = max(counted.before), max(counted.open_tasks), max(counted.after)
    return [
        Figure(
            "messages",
            "tmux calls per delivered message",
            per_message(batch.calls, batch.passes, counted.batch_size),
            "calls",
            None,
            f"{counted.batch_size} messages to {shape.agents} agents in {batch.passes} "
            f"in-process passes: {batch.calls} calls, minus {baseline:g} per pass (no-op); "
            f"{batch.deferred} deferred; a message alone: {alone:g}",
        ),
        Figure(
            "messages",
            f"tmux calls per no-op pass, {shape.agents} agents, before any message",
            before,
            "calls",
            Target("<=", MAX_NOOP_CALLS),
            f"max over {len(counted.before)} passes (min {min(counted.before)})",
        ),
        Figure(
            "messages",
            f"tmux calls per no-op pass, {shape.agents} agents, every task open",
            tasks,
            "calls",
            Target("<=", MAX_NOOP_CALLS),
            f"max over {len(counted.open_tasks)} passes (min {min(counted.open_tasks)}); "
            "the working agents' panes are captured, in one call",
        ),
        Figure(
            "messages",
            f"tmux calls per no-op pass, {shape.agents} agents, all delivered and answered",
            after,
            "calls",
            Target("<=", MAX_NOOP_CALLS),
            f"max over {len(counted.after)} passes (min {min(counted.after)})",
        ),
        Figure(
            "messages",
            "no-op pass, all answered - before any message",
            after - before,
            "calls",
            Target("==", 0),
            f"{after} after, {before} before",
        ),
    ]


BENCHMARK = Benchmark(
    name="messages",
    title="message delivery: latency, throughput, tmux calls",
    meaning=(
        "Fake agents on a private tmux server; each message is one line of 1 KB without a "
        "task. *sent → delivered*: `team-agent run` runs as a real process over 10 fake "
        "agents; each trial queues one message with `MessageStore.send` and touches "
        "`.team/wake` (as `team-agent send` does); the latency comes from the store's own "
        "timestamps, from the `now` given to `send` to the executor's `delivered_at` "
        "(pasted, seen in the input box, Enter, seen to leave it). Median and p90 of 15 "
        "trials (5 with `--quick`), the loop idle before each; target ≤ 500 ms, the "
        "reaction budget of a spec edit (`run-latency`). *in-process pass at once* is the "
        "same delivery by a pass started right after `send` (no wake-up): no target. "
        "*100 messages*: 10 to each of the 10 agents queued at once, first `send` to last "
        "delivery, median of 3 trials (1 with `--quick`); no target (each recipient takes "
        "one message per pass). *tmux calls per delivered message*: the same 100 messages "
        "delivered by in-process passes, their tmux calls minus what as many no-op passes "
        "cost before any message, divided by 100; no target (the protocol needs at least "
        "5: inspect, paste, see it, Enter, see it leave). The no-op pass is counted again "
        "with every agent holding an open task (their panes are captured, one more call) "
        "and once every message is delivered and every task has a result (`[no-report]` "
        "tasks, results stored directly): targets ≤ 3 calls, and after - before = 0. Each "
        "no-op count starts after a second without output from the agents (a pass also "
        "reads the screens of agents that wrote since the last pass looked)."
    ),
    run=run,
)

"""Output for people and for machines: rich tables on a TTY, stable JSON/YAML otherwise.

`-o json` is the machine contract (the status model dumped as is, plus, from `status`, an
`observation` object: when it was observed, how old it is, whether a reconciler holds the
workspace and whether it is stale; reconciler.store.freshness); the table is for people and may
change.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Literal

import msgspec

from reconciler.api import conditions as C
from reconciler.api.clock import parse_time
from reconciler.api.status import TeamStatus
from reconciler.cli import output
from reconciler.cli.output import Output
from reconciler.store.freshness import Observation, describe_age, stale_reason

if TYPE_CHECKING:
    from rich.table import Table

    from reconciler.api.events import Event

OutputFormat = Literal["table", "json", "yaml"]


def to_yaml(data: object) -> str:
    from ruamel.yaml import YAML  # only `-o yaml` pays for it

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    stream = io.StringIO()
    yaml.dump(data, stream)
    return stream.getvalue()


def render_status(
    status: TeamStatus,
    fmt: OutputFormat,
    console: Output,
    observation: Observation | None = None,
    would: Sequence[str] = (),
) -> None:
    """Print a status; with `observation` (the `status` verb), how current it is.

    `status` must already be as a reader may show it (`freshness.as_seen`): a stale
    status arrives here with its conditions Unknown. `would` lists the actions a pass
    would take (`status --refresh`, which applies none).
    """
    data = msgspec.to_builtins(status)
    if observation is not None:
        data["observation"] = observation.to_json()
    if fmt == "json":
        console.file.write(json.dumps(data, indent=2) + "\n")
        return
    if fmt == "yaml":
        console.file.write(to_yaml(data))
        return
    _print_head(status, console, observation, would)
    _print_conditions(status, console)
    console.print(_agents_table(status, observation))


def _print_head(
    status: TeamStatus, console: Output, observation: Observation | None, would: Sequence[str]
) -> None:
    """The team line (generation, Ready), how current the status is, what a pass would do."""
    ready = C.find_condition(status.conditions, C.READY)
    head = f"team {status.team or '-'}  generation {status.generation}"
    if ready is not None:
        head += f"  Ready={ready.status} ({ready.reason})"
    console.print(head, highlight=False)
    if observation is not None:
        console.print(f"  {_observed(observation)}", highlight=False, markup=False)
    for line in would:
        console.print(f"  a pass would: {line}", highlight=False, markup=False)


def _print_conditions(status: TeamStatus, console: Output) -> None:
    """The leader's binding and its true conditions, the team's true ones, a spec error."""
    leader = C.find_condition(status.leader.conditions, C.LEADER_BOUND)
    if leader is not None and leader.reason != C.NOT_DECLARED:
        console.print(
            f"  leader: {leader.reason} {leader.message}".rstrip(), highlight=False, markup=False
        )
        for cond in status.leader.conditions:
            if cond.type != C.LEADER_BOUND and cond.status == C.TRUE:
                line = f"  {cond.type}: {cond.reason} {cond.message}".rstrip()
                console.print(line, highlight=False, markup=False)
    for cond in status.conditions:
        if cond.type != C.READY and cond.status == C.TRUE:
            console.print(f"  {cond.type}: {cond.reason} {cond.message}".rstrip(), highlight=False)
    if status.specError is not None:
        err = status.specError
        console.print(
            f"  spec error: {err.file}:{err.line}:{err.column}: {err.message}",
            highlight=False,
            markup=False,
        )


def _agents_table(status: TeamStatus, observation: Observation | None) -> Table:
    """One row per agent; a crash-loop backoff shows instead of its Ready reason."""
    table = output.table("AGENT", "READY", "REASON", "PANE", "PID", "RESTARTS", "AGE", "MESSAGE")
    now = datetime.now(timezone.utc)
    stale = observation is not None and observation.stale  # a pid not seen lately has no age
    for name, agent in sorted(status.agents.items()):
        agent_ready = C.find_condition(agent.conditions, C.READY)
        backoff = C.find_condition(agent.conditions, C.CRASH_LOOP_BACK_OFF)
        reason = agent_ready.reason if agent_ready else "-"
        message = agent_ready.message if agent_ready else ""
        if backoff is not None and backoff.status == C.TRUE:
            reason, message = C.CRASH_LOOP_BACK_OFF, backoff.message
        table.add_row(
            name,
            agent_ready.status if agent_ready else "Unknown",
            reason,
            agent.paneId or "-",
            str(agent.pid) if agent.pid else "-",
            str(agent.restartCount),
            _age(agent.startedAt, now) if agent.pid and not stale else "-",
            message,
        )
    return table


def render_events(events: Sequence[Event], fmt: OutputFormat, console: Output) -> None:
    rows = [e.model_dump(mode="json", by_alias=True) for e in events]
    if fmt == "json":
        console.file.write(json.dumps(rows, indent=2) + "\n")
        return
    if fmt == "yaml":
        console.file.write(to_yaml(rows))
        return
    table = output.table("TIME", "TYPE", "REASON", "OBJECT", "MESSAGE")
    for event in events:
        table.add_row(event.time, event.type, event.reason, event.object, event.message)
    console.print(table)


def _age(started_at: str | None, now: datetime) -> str:
    if not started_at:
        return "-"
    return describe_age(max(0, int((now - parse_time(started_at)).total_seconds())))


def _observed(observation: Observation) -> str:
    """One line: how old the observation is and who keeps it current (or STALE: why not)."""
    if observation.stale:
        return f"STALE: {stale_reason(observation)}"
    if observation.source == "refresh":
        when = "observed now (--refresh: nothing acted on, nothing written)"
    elif observation.ageSec is None:
        when = "never observed by a pass"
    else:
        when = f"observed {describe_age(observation.ageSec)} ago"
    holder = observation.reconciler
    if holder is None:
        return f"{when}; no reconciler holds the workspace"
    return f"{when}; reconciler pid {holder.pid} holds the workspace"

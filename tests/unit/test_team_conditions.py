"""The team's summary conditions (`Ready`, `Reconciling`, `Stalled`) from agent statuses."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import NamedTuple

import pytest

from reconciler.api import conditions as C
from reconciler.api.clock import format_time
from reconciler.api.conditions import Condition
from reconciler.api.status import AgentStatus
from reconciler.engine.summary import Stall, team_conditions
from tests.unit.builders import GENERATION, NOW, ago, cond

EARLIER = ago(600)


def agent(ready: C.ConditionStatus, reason: str, *, backing_off: bool = False) -> AgentStatus:
    return AgentStatus(
        conditions=[
            cond(
                C.CRASH_LOOP_BACK_OFF,
                C.TRUE if backing_off else C.FALSE,
                C.BACK_OFF if backing_off else C.RUNNING,
            ),
            cond(C.READY, ready, reason),
        ]
    )


RUNNING = agent(C.TRUE, C.RUNNING)
STARTING = agent(C.FALSE, C.STARTING)
EXITED = agent(C.FALSE, C.EXITED)
BACKING_OFF = agent(C.FALSE, C.EXITED, backing_off=True)
PAUSED = agent(C.FALSE, C.PAUSED)
TIMED_OUT = agent(C.FALSE, C.READINESS_TIMEOUT)


def conditions(
    agents: Mapping[str, AgentStatus],
    *,
    previous: list[Condition] | None = None,
    paused: frozenset[str] = frozenset(),
    acted: bool = False,
    stall: Stall | None = None,
    now: datetime = NOW,
) -> dict[str, Condition]:
    out = team_conditions(
        previous or [],
        agents,
        paused=paused,
        acted=acted,
        stall=stall,
        now=now,
        generation=GENERATION,
    )
    assert [c.type for c in out] == sorted(c.type for c in out)
    return {c.type: c for c in out}


def summary(found: dict[str, Condition], kind: str) -> tuple[str, str]:
    return found[kind].status, found[kind].reason


class Case(NamedTuple):
    test_id: str
    agents: dict[str, AgentStatus]
    paused: frozenset[str]
    acted: bool
    stall: Stall | None
    ready: tuple[str, str]
    reconciling: tuple[str, str]
    stalled: tuple[str, str]


NO_STALL = None
TMUX_GONE = Stall(C.TMUX_UNAVAILABLE, "no server on socket ta-x")

CASES = [
    Case("all-ready", {"a": RUNNING, "b": RUNNING}, frozenset(), False, NO_STALL,
         (C.TRUE, C.ALL_AGENTS_READY), (C.FALSE, C.CONVERGED), (C.FALSE, C.CONVERGED)),
    Case("one-not-ready", {"a": RUNNING, "b": EXITED}, frozenset(), False, NO_STALL,
         (C.FALSE, C.AGENTS_NOT_READY), (C.FALSE, C.CONVERGED), (C.FALSE, C.CONVERGED)),
    Case("paused-does-not-block", {"a": RUNNING, "p": PAUSED}, frozenset({"p"}), False, NO_STALL,
         (C.TRUE, C.ALL_AGENTS_READY), (C.FALSE, C.CONVERGED), (C.FALSE, C.CONVERGED)),
    Case("only-paused", {"p": PAUSED}, frozenset({"p"}), False, NO_STALL,
         (C.TRUE, C.ALL_AGENTS_READY), (C.FALSE, C.CONVERGED), (C.FALSE, C.CONVERGED)),
    Case("no-agents", {}, frozenset(), False, NO_STALL,
         (C.TRUE, C.NO_AGENTS), (C.FALSE, C.CONVERGED), (C.FALSE, C.CONVERGED)),
    Case("stall-wins", {"a": RUNNING}, frozenset(), True, TMUX_GONE,
         (C.FALSE, C.TMUX_UNAVAILABLE), (C.FALSE, C.TMUX_UNAVAILABLE),
         (C.TRUE, C.TMUX_UNAVAILABLE)),
    Case("stall-with-no-agents", {}, frozenset(), False, TMUX_GONE,
         (C.FALSE, C.TMUX_UNAVAILABLE), (C.FALSE, C.TMUX_UNAVAILABLE),
         (C.TRUE, C.TMUX_UNAVAILABLE)),
    Case("acted-is-reconciling", {"a": RUNNING}, frozenset(), True, NO_STALL,
         (C.TRUE, C.ALL_AGENTS_READY), (C.TRUE, C.APPLYING), (C.FALSE, C.APPLYING)),
    Case("starting-is-reconciling", {"a": RUNNING, "b": STARTING}, frozenset(), False, NO_STALL,
         (C.FALSE, C.AGENTS_NOT_READY), (C.TRUE, C.APPLYING), (C.FALSE, C.APPLYING)),
    Case("backing-off-is-reconciling", {"b": BACKING_OFF}, frozenset(), False, NO_STALL,
         (C.FALSE, C.AGENTS_NOT_READY), (C.TRUE, C.APPLYING), (C.FALSE, C.APPLYING)),
    Case("paused-starting-is-not-reconciling", {"a": RUNNING, "p": STARTING}, frozenset({"p"}),
         False, NO_STALL,
         (C.TRUE, C.ALL_AGENTS_READY), (C.FALSE, C.CONVERGED), (C.FALSE, C.CONVERGED)),
    Case("timed-out-is-settled-not-ready", {"a": TIMED_OUT}, frozenset(), False, NO_STALL,
         (C.FALSE, C.AGENTS_NOT_READY), (C.FALSE, C.CONVERGED), (C.FALSE, C.CONVERGED)),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.test_id for c in CASES])
def test_team_conditions(case: Case) -> None:
    found = conditions(case.agents, paused=case.paused, acted=case.acted, stall=case.stall)

    assert set(found) == {C.READY, C.RECONCILING, C.STALLED}
    assert summary(found, C.READY) == case.ready
    assert summary(found, C.RECONCILING) == case.reconciling
    assert summary(found, C.STALLED) == case.stalled
    assert all(c.observedGeneration == GENERATION for c in found.values())


def test_not_ready_message_names_the_agents_in_order() -> None:
    found = conditions(
        {"zed": EXITED, "api": RUNNING, "impl": STARTING, "p": PAUSED}, paused=frozenset({"p"})
    )

    assert found[C.READY].message == "not ready: impl, zed"


def test_agent_without_conditions_is_not_ready() -> None:
    found = conditions({"new": AgentStatus()})

    assert summary(found, C.READY) == (C.FALSE, C.AGENTS_NOT_READY)
    assert "new" in found[C.READY].message


def test_stall_carries_its_message() -> None:
    stall = Stall(C.SPEC_INVALID, "team.spec.yaml:4:7: unknown key 'agnets'")

    found = conditions({"a": RUNNING}, stall=stall)

    assert found[C.STALLED].message == stall.message
    assert found[C.READY].message == stall.message


def test_transition_times_are_kept_while_statuses_hold() -> None:
    before = conditions({"a": RUNNING}, now=EARLIER)

    after = conditions({"a": RUNNING, "b": RUNNING}, previous=list(before.values()))

    for kind in (C.READY, C.RECONCILING, C.STALLED):
        assert after[kind].lastTransitionTime == format_time(EARLIER), kind
    assert after[C.READY].message == "2 agents ready"


def test_transition_time_moves_when_a_status_flips() -> None:
    before = conditions({"a": RUNNING}, now=EARLIER)

    after = conditions({"a": EXITED}, previous=list(before.values()))

    assert after[C.READY].lastTransitionTime == format_time(NOW)
    assert after[C.STALLED].lastTransitionTime == format_time(EARLIER)


def test_other_team_conditions_are_left_alone() -> None:
    orphans = cond(C.ORPHANS_FOUND, C.FALSE, C.NO_ORPHANS, at=EARLIER)

    found = conditions({"a": RUNNING}, previous=[orphans])

    assert found[C.ORPHANS_FOUND] == orphans

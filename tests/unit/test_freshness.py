"""How current a status is and what a reader may still claim from it (issue 12, B5).

Pure: the stored status, "now" and the lock holder are inputs. The e2e side (a real
tmux server killed under a converged team) is tests/e2e/test_status_freshness.py.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

import msgspec
import pytest

from reconciler.api import conditions as C
from reconciler.api.clock import format_time
from reconciler.api.status import AgentStatus, LastReconcile, LeaderStatus, TeamStatus
from reconciler.store.freshness import (
    ReconcilerHolder,
    as_previewed,
    as_seen,
    assess,
)

OBSERVED = datetime(2026, 11, 25, 9, 0, 0, tzinfo=timezone.utc)
RESYNC = 30.0
RUN = ReconcilerHolder(pid=4242, acquiredAt="2026-11-25T08:00:00Z")


def _cond(kind: str, status: C.ConditionStatus, reason: str) -> C.Condition:
    return C.condition(kind, status, reason, "as seen", now=OBSERVED, generation=1)


def _status(*, observed: datetime | None = OBSERVED) -> TeamStatus:
    return msgspec.structs.replace(
        TeamStatus.empty("demo"),
        conditions=[_cond(C.READY, C.TRUE, C.ALL_AGENTS_READY)],
        agents={
            "impl": AgentStatus(
                paneId="%1",
                pid=4242,
                conditions=[
                    _cond(C.READY, C.TRUE, C.RUNNING),
                    _cond(C.CRASH_LOOP_BACK_OFF, C.FALSE, C.RUNNING),
                ],
            )
        },
        leader=LeaderStatus(
            conditions=[_cond(C.LEADER_BOUND, C.FALSE, C.NOT_DECLARED)],
        ),
        lastReconcile=None
        if observed is None
        else LastReconcile(id="p1", startedAt=format_time(observed), durationMs=5),
    )


class FreshCase(NamedTuple):
    name: str
    observed: datetime | None
    age: float  # seconds between the observation and the reading
    reconciler: ReconcilerHolder | None
    stale: bool


FRESH_CASES = [
    FreshCase("just-observed", OBSERVED, 0, None, False),
    FreshCase("at-the-interval", OBSERVED, RESYNC, None, False),
    FreshCase("past-the-interval", OBSERVED, RESYNC + 1, None, True),
    FreshCase("old-but-run-holds-the-lock", OBSERVED, 3600, RUN, False),
    FreshCase("never-observed", None, 0, None, True),
    FreshCase("never-observed-while-run-starts", None, 0, RUN, False),
]


@pytest.mark.parametrize("case", FRESH_CASES, ids=[c.name for c in FRESH_CASES])
def test_assess_calls_stale_only_an_old_observation_nobody_keeps(case: FreshCase) -> None:
    now = OBSERVED + timedelta(seconds=case.age)
    seen = assess(
        _status(observed=case.observed), now=now, resync_sec=RESYNC, reconciler=case.reconciler
    )
    assert seen.stale is case.stale
    assert seen.reconciler == case.reconciler
    assert seen.ageSec == (None if case.observed is None else int(case.age))
    assert seen.observedAt == (None if case.observed is None else "2026-11-25T09:00:00Z")


def test_a_current_status_is_shown_as_it_is() -> None:
    status = _status()
    seen = assess(status, now=OBSERVED, resync_sec=RESYNC, reconciler=None)
    assert as_seen(status, seen, now=OBSERVED) == status


def test_a_stale_status_reads_unknown_everywhere_but_keeps_what_was_seen() -> None:
    status = _status()
    now = OBSERVED + timedelta(minutes=5)
    seen = assess(status, now=now, resync_sec=RESYNC, reconciler=None)

    shown = as_seen(status, seen, now=now)

    team_ready = C.find_condition(shown.conditions, C.READY)
    agent_ready = C.find_condition(shown.agents["impl"].conditions, C.READY)
    backoff = C.find_condition(shown.agents["impl"].conditions, C.CRASH_LOOP_BACK_OFF)
    for cond in (team_ready, agent_ready, backoff):
        assert cond is not None
        assert (cond.status, cond.reason) == (C.UNKNOWN, C.STATUS_STALE)
        # It went stale one resync interval after the pass observed, not "now".
        assert cond.lastTransitionTime == "2026-11-25T09:00:30Z"
    assert agent_ready is not None
    assert agent_ready.message == (
        "last observed True (Running) at 2026-11-25T09:00:00Z; no reconciler holds the workspace"
    )
    # A leader the spec does not declare is a fact of the spec, not an observation.
    assert shown.leader.conditions == status.leader.conditions
    # Only the claims change: the record of what was seen stays.
    assert (shown.agents["impl"].pid, shown.agents["impl"].paneId) == (4242, "%1")
    assert C.is_true(status.conditions, C.READY)  # the input is not modified


def test_a_never_observed_status_is_unknown_from_now() -> None:
    status = _status(observed=None)
    seen = assess(status, now=OBSERVED, resync_sec=RESYNC, reconciler=None)
    ready = C.find_condition(as_seen(status, seen, now=OBSERVED).conditions, C.READY)
    assert ready is not None
    assert (ready.status, ready.lastTransitionTime) == (C.UNKNOWN, "2026-11-25T09:00:00Z")
    assert ready.message.startswith("last observed True (AllAgentsReady) never observed by a pass")


def test_the_observation_is_json_for_monitors() -> None:
    seen = assess(
        _status(), now=OBSERVED + timedelta(seconds=45), resync_sec=RESYNC, reconciler=RUN
    )
    assert json.loads(json.dumps(seen.to_json())) == {
        "source": "status.json",
        "observedAt": "2026-11-25T09:00:00Z",
        "ageSec": 45,
        "resyncIntervalSec": 30.0,
        "reconciler": {"pid": 4242, "acquiredAt": "2026-11-25T08:00:00Z"},
        "stale": False,
    }


def _preview() -> TeamStatus:
    """What the controllers report for a team whose panes are gone: `Starting`, no pid."""
    conditions = [
        _cond(C.READY, C.FALSE, C.AGENTS_NOT_READY),
        C.condition(
            C.RECONCILING,
            C.TRUE,
            C.APPLYING,
            "converging towards the spec",
            now=OBSERVED,
            generation=1,
        ),
    ]
    starting = C.condition(
        C.READY, C.FALSE, C.STARTING, "creating its window", now=OBSERVED, generation=1
    )
    agents = {
        "impl": AgentStatus(conditions=[starting]),
        "calm": AgentStatus(pid=7, conditions=[_cond(C.READY, C.TRUE, C.RUNNING)]),
    }
    return msgspec.structs.replace(_status(), conditions=conditions, agents=agents)


def test_a_preview_says_its_plan_was_not_carried_out() -> None:
    actions = [
        ("agent/impl", "create  agent/impl in new session team-demo (missing)"),
        ("message/msg-1", "deliver message/msg-1 to impl"),
    ]

    shown = as_previewed(_preview(), actions, reconciler=None)

    ready = C.find_condition(shown.agents["impl"].conditions, C.READY)
    assert ready is not None
    assert (ready.status, ready.reason) == (C.FALSE, C.STARTING)
    assert ready.message == (
        "not done (--refresh applies nothing); a pass would: "
        "create agent/impl in new session team-demo (missing)"
    )
    assert shown.agents["calm"] == _preview().agents["calm"]
    reconciling = C.find_condition(shown.conditions, C.RECONCILING)
    assert reconciling is not None
    assert reconciling.message == (
        "converging towards the spec; but no reconciler holds the workspace"
    )


def test_a_preview_under_a_running_reconciler_keeps_its_reconciling_message() -> None:
    shown = as_previewed(_preview(), [], reconciler=RUN)
    assert shown == _preview()

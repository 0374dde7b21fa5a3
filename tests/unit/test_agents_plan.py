"""Golden plans of the agents controller: desired + world + previous status -> plan text.

Each case builds the three inputs in memory (`tests.unit.builders`), calls `plan_agents`
and compares `plan.render()`, what `team-agent plan` prints, with literal text, then the
status fields the case is about. No tmux, no processes, no clock.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import pytest

from controllers.agents.actions import (
    CreateAgent,
    NudgeServer,
    RecreateAgent,
    ReleasePane,
    RenameSession,
    RestartAgent,
    StopAgent,
)
from controllers.agents.exits import NUDGE_RETRY_SEC
from controllers.agents.panes import panes_to_capture
from controllers.agents.plan import AgentsResult, plan_agents
from controllers.team.desired import DesiredTeam
from reconciler.api import conditions as C
from reconciler.api.actions import ProcessRef
from reconciler.api.clock import format_time
from reconciler.api.status import AgentStatus, TeamStatus
from reconciler.observe.world import Pane, World
from tests.unit.builders import (
    GENERATION,
    NOW,
    SERVER_PID,
    STARTED,
    agent_pane,
    ago,
    cond,
    desired,
    fake,
    hash_of,
    installed,
    pane,
    running_status,
    shell,
    team_status,
    ts,
    world,
)

NO_CHANGES = "no changes: the world matches the spec"
LONG_AGO = ago(3600)


def plan(
    team: DesiredTeam,
    observed: World,
    previous: TeamStatus | None = None,
    *,
    missing: tuple[str, ...] = (),
    now: datetime = NOW,
) -> AgentsResult:
    return plan_agents(
        team,
        observed,
        previous if previous is not None else team_status(),
        now=now,
        generation=GENERATION,
        installed=installed(team, *missing),
    )


def ready(status: AgentStatus) -> C.Condition:
    found = C.find_condition(status.conditions, C.READY)
    assert found is not None
    return found


def backoff(status: AgentStatus) -> C.Condition:
    found = C.find_condition(status.conditions, C.CRASH_LOOP_BACK_OFF)
    assert found is not None
    return found


def pane_ids(result: AgentsResult) -> set[str]:
    return {a.pane for a in result.plan.actions if not isinstance(a, CreateAgent)}


# A team of three, declared out of order: plans go in id order (api, impl, logs).
TEAM = desired(shell("logs", "tail", "-f", "app.log"), shell("api"), fake("impl"))


def converged_world(*extra: Pane) -> World:
    return world(
        agent_pane(TEAM, "api", "%1"),
        agent_pane(TEAM, "impl", "%2"),
        agent_pane(TEAM, "logs", "%3"),
        *extra,
    )


def converged_status(since: datetime = LONG_AGO) -> TeamStatus:
    return team_status(
        {
            "api": running_status(TEAM, "api", "%1", since=since),
            "impl": running_status(TEAM, "impl", "%2", since=since),
            "logs": running_status(TEAM, "logs", "%3", since=since),
        }
    )


# --- create, converge, recreate, stop ---------------------------------------------------


def test_empty_world_creates_every_agent_in_id_order_first_in_a_new_session() -> None:
    result = plan(TEAM, world())

    assert result.plan.render() == (
        "create  agent/api in new session team-demo (missing)\n"
        "create  agent/impl in session team-demo (missing)\n"
        "create  agent/logs in session team-demo (missing)"
    )
    assert result.session_conflict is None
    assert result.plan.requeue_after is None
    for name, status in result.agents.items():
        assert (ready(status).status, ready(status).reason) == (C.FALSE, C.STARTING), name
        assert status.configHash == hash_of(TEAM, name)
        assert status.startedAt == format_time(NOW)
        assert status.paneId is None
        assert status.pid is None


def test_existing_session_is_joined_not_created() -> None:
    # A person's own pane in our session: the session exists, so no agent opens a new one.
    person = pane("", "%9", window_name="notes", marked=False)
    result = plan(TEAM, world(person))

    assert result.plan.render() == (
        "create  agent/api in session team-demo (missing)\n"
        "create  agent/impl in session team-demo (missing)\n"
        "create  agent/logs in session team-demo (missing)"
    )


def test_converged_world_plans_nothing_and_keeps_transition_times() -> None:
    since = ago(3600)
    previous = converged_status(since)

    result = plan(TEAM, converged_world(), previous)

    assert result.plan.render() == NO_CHANGES
    assert result.plan.empty
    assert result.plan.requeue_after is None
    assert dict(result.agents) == previous.agents  # a no-op pass reports the same status
    for status in result.agents.values():
        assert ready(status).status == C.TRUE
        assert ready(status).lastTransitionTime == format_time(since)
        assert status.pid is not None


def test_changed_config_recreates_only_that_agent() -> None:
    changed = desired(
        shell("logs", "tail", "-f", "app.log"),
        shell("api"),
        fake("impl", env={"MODEL": "big"}),
    )
    result = plan(changed, converged_world(), converged_status())

    assert result.plan.render() == "recreate agent/impl pane %2 (config changed)"
    (action,) = result.plan.actions
    assert isinstance(action, RecreateAgent)
    assert action.process == ProcessRef(1002, ts(STARTED))
    assert action.config_hash == hash_of(changed, "impl")
    assert action.config_hash != hash_of(TEAM, "impl")
    impl = result.agents["impl"]
    assert (ready(impl).status, ready(impl).reason) == (C.FALSE, C.STARTING)
    assert impl.pid is None
    assert impl.configHash == action.config_hash
    for other in ("api", "logs"):
        assert ready(result.agents[other]).status == C.TRUE


class StopCase(NamedTuple):
    test_id: str
    team: DesiredTeam
    extra: tuple[Pane, ...]
    want: str


STOP_CASES = [
    StopCase(
        "removed-agent-alone-in-its-window",
        TEAM,
        (pane("old", "%4", config_hash="sha256:x"),),
        "stop    agent/old window @4 (removed from spec)",
    ),
    StopCase(
        "removed-agent-sharing-its-window-stops-only-the-pane",
        TEAM,
        (pane("old", "%4", window_id="@1", window_panes=2, config_hash="sha256:x"),),
        "stop    agent/old pane %4 (removed from spec)",
    ),
    StopCase(
        "two-removed-agents-in-pane-order",
        TEAM,
        (pane("zed", "%5"), pane("old", "%4")),
        "stop    agent/old window @4 (removed from spec)\n"
        "stop    agent/zed window @5 (removed from spec)",
    ),
    StopCase(
        "declared-agent-left-in-another-session",
        TEAM,
        (agent_pane(TEAM, "api", "%6", session_name="team-old"),),
        "stop    agent/api window @6 (left in session team-old)",
    ),
]


@pytest.mark.parametrize("case", STOP_CASES, ids=[c.test_id for c in STOP_CASES])
def test_stops(case: StopCase) -> None:
    result = plan(case.team, converged_world(*case.extra), converged_status())

    assert result.plan.render() == case.want
    assert set(result.agents) == {"api", "impl", "logs"}  # removed agents have no status


def test_stop_carries_the_process_identity_to_recheck() -> None:
    result = plan(TEAM, converged_world(pane("old", "%4")), converged_status())

    (action,) = result.plan.actions
    assert isinstance(action, StopAgent)
    assert action.process == ProcessRef(1004, ts(STARTED))
    assert action.grace_sec == 5


def test_paused_agent_with_a_pane_is_stopped() -> None:
    team = desired(shell("logs", "tail", "-f", "app.log"), shell("api"), fake("impl", paused=True))

    result = plan(team, converged_world(), converged_status())

    assert result.plan.render() == "stop    agent/impl window @2 (paused)"
    impl = result.agents["impl"]
    assert (ready(impl).status, ready(impl).reason) == (C.FALSE, C.PAUSED)
    assert (backoff(impl).status, backoff(impl).reason) == (C.FALSE, C.PAUSED)
    assert (impl.paneId, impl.windowId, impl.pid) == (None, None, None)


def test_paused_agent_without_a_pane_plans_nothing() -> None:
    team = desired(fake("impl", paused=True))

    result = plan(team, world())

    assert result.plan.render() == NO_CHANGES
    assert ready(result.agents["impl"]).reason == C.PAUSED


def test_resumed_agent_is_created_and_the_plan_says_resumed() -> None:
    """The pass after `resume`: the status still says Paused, the spec no longer does."""
    team = desired(fake("impl"))
    paused = AgentStatus(conditions=[cond(C.READY, C.FALSE, C.PAUSED, "paused in the spec")])

    result = plan(team, world(), team_status({"impl": paused}))

    assert result.plan.render() == "create  agent/impl in new session team-demo (resumed)"
    assert (ready(result.agents["impl"]).reason, ready(result.agents["impl"]).message) == (
        C.STARTING,
        "resumed: creating its window",
    )


# --- restart requests (`team-agent restart`, spec `restarted_at`) -----------------------

REQUESTED = "2026-11-25T08:59:00Z"


def test_restart_request_recreates_a_running_agent_once() -> None:
    """A new `restarted_at` is a new config hash: one recreate, then the pane's hash
    matches and the next pass does nothing (as kubectl's restartedAt annotation)."""
    before = desired(fake("impl"))
    after = desired(fake("impl", restarted_at=REQUESTED))
    running = agent_pane(before, "impl", "%1")
    previous = team_status({"impl": running_status(before, "impl", "%1")})

    first = plan(after, world(running), previous)

    assert first.plan.render() == "recreate agent/impl pane %1 (restart requested)"
    (action,) = first.plan.actions
    assert isinstance(action, RecreateAgent)
    assert action.config_hash == hash_of(after, "impl") != hash_of(before, "impl")
    assert action.process == ProcessRef(1001, ts(STARTED))
    impl = first.agents["impl"]
    assert (impl.restartedAt, ready(impl).message) == (REQUESTED, "restart requested: recreating")

    restarted = agent_pane(after, "impl", "%1", pid=2001)
    again = plan(after, world(restarted, started=NOW), team_status({"impl": impl}))

    assert again.plan.render() == NO_CHANGES
    assert again.agents["impl"].restartedAt == REQUESTED


def test_restart_request_written_differently_restarts_nothing() -> None:
    """The same instant with another offset is the same request: the hash is unchanged."""
    first = desired(fake("impl", restarted_at=REQUESTED))
    rewritten = desired(fake("impl", restarted_at="2026-11-25T09:59:00+01:00"))

    assert hash_of(first, "impl") == hash_of(rewritten, "impl")


def test_a_changed_config_without_a_new_request_says_config_changed() -> None:
    requested = desired(fake("impl", restarted_at=REQUESTED))
    edited = desired(fake("impl", restarted_at=REQUESTED, args=["--verbose"]))
    previous = team_status({"impl": running_status(requested, "impl", "%1", restartedAt=REQUESTED)})

    result = plan(edited, world(agent_pane(requested, "impl", "%1")), previous)

    assert result.plan.render() == "recreate agent/impl pane %1 (config changed)"


def test_restart_request_starts_an_agent_in_backoff_now() -> None:
    """A restart request is a new start, like a config change: no backoff wait."""
    before = desired(shell("impl", "false"))
    after = desired(shell("impl", "false", restarted_at=REQUESTED))
    dead = agent_pane(before, "impl", "%1", dead=True, dead_status=1, dead_time=ago(2))
    previous = team_status(
        {"impl": running_status(before, "impl", "%1", started=ago(5), backoffSec=80)}
    )
    assert plan(before, world(dead), previous).plan.render() == NO_CHANGES  # backing off

    result = plan(after, world(dead), previous)

    assert result.plan.render() == "restart agent/impl pane %1 (restart requested)"
    assert result.agents["impl"].restartedAt == REQUESTED


def test_restart_request_of_a_paused_agent_stops_it_all_the_same() -> None:
    team = desired(fake("impl", paused=True, restarted_at=REQUESTED))
    previous = team_status({"impl": running_status(TEAM, "impl", "%2")})

    result = plan(team, world(agent_pane(TEAM, "impl", "%2")), previous)

    assert result.plan.render() == "stop    agent/impl window @2 (paused)"


# --- exits, restart policy and crash-loop backoff ---------------------------------------


class ExitCase(NamedTuple):
    test_id: str
    policy: str
    code: int
    backoff_sec: float  # the step recorded at the previous restart
    started_ago: float  # when the process that exited had started
    exited_ago: float
    want: str
    restart_count: int  # after the pass; the previous status says 1
    next_backoff_sec: float
    ready_reason: str
    backing_off: bool
    requeue: float | None


RESTART = "restart agent/impl pane %1 (exited with code {code})"

EXIT_CASES = [
    ExitCase("first-exit-restarts-now", "Always", 1, 0, 30, 1,
             RESTART.format(code=1), 2, 10, C.STARTING, False, None),
    ExitCase("in-backoff-waits", "Always", 1, 10, 30, 3,
             NO_CHANGES, 1, 10, C.EXITED, True, 7),
    ExitCase("backoff-elapsed-restarts-and-doubles", "Always", 1, 10, 30, 11,
             RESTART.format(code=1), 2, 20, C.STARTING, False, None),
    ExitCase("backoff-exactly-elapsed-restarts", "Always", 1, 20, 60, 20,
             RESTART.format(code=1), 2, 40, C.STARTING, False, None),
    ExitCase("doubling-stops-at-300", "Always", 1, 160, 200, 161,
             RESTART.format(code=1), 2, 300, C.STARTING, False, None),
    ExitCase("capped-step-waits-300", "Always", 1, 300, 320, 299,
             NO_CHANGES, 1, 300, C.EXITED, True, 1),
    ExitCase("capped-step-stays-300", "Always", 1, 300, 320, 301,
             RESTART.format(code=1), 2, 300, C.STARTING, False, None),
    ExitCase("ran-600s-resets-backoff", "Always", 1, 300, 650, 50,
             RESTART.format(code=1), 2, 10, C.STARTING, False, None),
    ExitCase("ran-599s-keeps-backoff", "Always", 1, 300, 650, 51,
             NO_CHANGES, 1, 300, C.EXITED, True, 249),
    ExitCase("always-restarts-a-clean-exit", "Always", 0, 0, 30, 1,
             RESTART.format(code=0), 2, 10, C.STARTING, False, None),
    ExitCase("never-leaves-a-failure-exited", "Never", 1, 0, 30, 1,
             NO_CHANGES, 1, 0, C.EXITED, False, None),
    ExitCase("never-leaves-a-clean-exit-completed", "Never", 0, 0, 30, 1,
             NO_CHANGES, 1, 0, C.COMPLETED, False, None),
    ExitCase("on-failure-completes-on-exit-0", "OnFailure", 0, 0, 30, 1,
             NO_CHANGES, 1, 0, C.COMPLETED, False, None),
    ExitCase("on-failure-restarts-a-failure", "OnFailure", 2, 0, 30, 1,
             RESTART.format(code=2), 2, 10, C.STARTING, False, None),
]  # fmt: skip


@pytest.mark.parametrize("case", EXIT_CASES, ids=[c.test_id for c in EXIT_CASES])
def test_dead_pane(case: ExitCase) -> None:
    team = desired(shell("impl", restart_policy=case.policy))
    exited = ago(case.exited_ago)
    dead = agent_pane(team, "impl", "%1", dead=True, dead_status=case.code, dead_time=exited)
    previous = team_status(
        {
            "impl": running_status(
                team,
                "impl",
                "%1",
                started=ago(case.started_ago),
                restartCount=1,
                backoffSec=case.backoff_sec,
            )
        }
    )

    result = plan(team, world(dead), previous)

    assert result.plan.render() == case.want
    impl = result.agents["impl"]
    assert (ready(impl).status, ready(impl).reason) == (C.FALSE, case.ready_reason)
    assert backoff(impl).status == (C.TRUE if case.backing_off else C.FALSE)
    assert impl.restartCount == case.restart_count
    assert impl.backoffSec == case.next_backoff_sec
    assert impl.lastExitCode == case.code
    assert impl.lastExitAt == format_time(exited)
    assert impl.pid is None
    assert impl.paneId == "%1"
    if case.requeue is None:
        assert result.plan.requeue_after is None
    else:
        assert result.plan.requeue_after == pytest.approx(case.requeue)
    if case.backing_off:
        assert backoff(impl).reason == C.BACK_OFF
        assert f"back-off {case.backoff_sec:g}s" in backoff(impl).message
        assert impl.backoffUntil == format_time(ago(case.exited_ago - case.backoff_sec))
    else:
        assert impl.backoffUntil is None
    if case.want != NO_CHANGES:
        assert impl.startedAt == format_time(NOW)  # the restart is the new start


def test_crash_loop_walks_10_20_40_then_caps_at_300() -> None:
    """Pass after pass, an agent that always dies at once waits K8s' doubling steps."""
    team = desired(shell("impl"))
    status = running_status(team, "impl", "%1", started=ago(1))
    waits: list[float] = []
    now = NOW
    for _ in range(8):
        died = agent_pane(team, "impl", "%1", dead=True, dead_status=1, dead_time=now)
        result = plan(team, world(died), team_status({"impl": status}), now=now)
        if result.plan.empty:
            assert result.plan.requeue_after is not None
            waits.append(result.plan.requeue_after)
            now = now + timedelta(seconds=result.plan.requeue_after)
            result = plan(team, world(died), team_status({"impl": result.agents["impl"]}), now=now)
        else:
            waits.append(0.0)
        assert result.plan.render() == "restart agent/impl pane %1 (exited with code 1)"
        status = result.agents["impl"]
    assert waits == [0, 10, 20, 40, 80, 160, 300, 300]


class UncollectedCase(NamedTuple):
    test_id: str
    rows: tuple[tuple[int, int, str, float, bool], ...]  # what the process scan still sees
    want: str
    requeue: float


AGENT_ROW = (1001, SERVER_PID, "sleep", ts(ago(30)))
SERVER_ROW = (SERVER_PID, 1, "tmux: server", ts(ago(7200)), False)

UNCOLLECTED_CASES = [
    UncollectedCase(
        "zombie-tmux-missed-gets-the-server-nudged",
        ((*AGENT_ROW, True), SERVER_ROW),
        "nudge   tmux server 100 for agent/impl (exit not collected by tmux)",
        NUDGE_RETRY_SEC,
    ),
]


@pytest.mark.parametrize("case", UNCOLLECTED_CASES, ids=[c.test_id for c in UNCOLLECTED_CASES])
def test_dead_pane_without_an_exit_code_yet(case: UncollectedCase) -> None:
    """tmux shows the pane dead but has not recorded the exit: no policy decision yet."""
    team = desired(shell("impl"))
    dead = agent_pane(team, "impl", "%1", dead=True, dead_status=None, dead_time=None)
    previous = team_status({"impl": running_status(team, "impl", "%1", restartCount=2)})

    result = plan(team, world(dead, processes=case.rows), previous)

    assert result.plan.render() == case.want
    impl = result.agents["impl"]
    assert (ready(impl).status, ready(impl).reason) == (C.FALSE, C.EXITED)
    assert impl.restartCount == 2
    assert impl.pid is None
    if result.plan.actions:
        (nudge,) = result.plan.actions
        assert isinstance(nudge, NudgeServer)
        assert nudge.server == ProcessRef(SERVER_PID, ts(ago(7200)))


def test_dead_pane_whose_process_keeps_running_is_not_polled_at_20_hz_forever() -> None:
    # A process that closes its terminal fds and ignores SIGHUP (`nohup`, a daemon that
    # keeps its pid) leaves tmux 3.3a showing pane_dead=1 with no status and no time while
    # the process runs on (checked on a private server). The exit code never comes: after
    # ten minutes of waiting, the pass must not still ask to run again in 50 ms.
    team = desired(shell("impl"))
    dead = agent_pane(team, "impl", "%1", dead=True, dead_status=None, dead_time=None)
    waiting = running_status(
        team,
        "impl",
        "%1",
        started=ago(900),
        conditions=[
            cond(C.CRASH_LOOP_BACK_OFF, C.FALSE, C.RUNNING, at=ago(900)),
            cond(C.READY, C.FALSE, C.EXITED, "exited; waiting for tmux", at=ago(600)),
        ],
    )
    rows = ((*AGENT_ROW[:3], ts(ago(900)), False), SERVER_ROW)

    result = plan(team, world(dead, processes=rows), team_status({"impl": waiting}))

    assert result.plan.requeue_after is None or result.plan.requeue_after >= 1


@pytest.mark.parametrize(
    "rows",
    [
        pytest.param((), id="process-gone"),
        pytest.param(((*AGENT_ROW, False), SERVER_ROW), id="process-left-its-pane"),
        pytest.param(((*AGENT_ROW, True),), id="zombie-of-an-unknown-server"),
    ],
)
def test_dead_pane_without_a_code_applies_the_policy(
    rows: tuple[tuple[int, int, str, float, bool], ...],
) -> None:
    """No exit code and nothing to wait for: the policy applies with the code unknown."""
    team = desired(shell("impl"))
    dead = agent_pane(team, "impl", "%1", dead=True, dead_status=None, dead_time=None)
    previous = team_status({"impl": running_status(team, "impl", "%1", started=ago(30))})

    result = plan(team, world(dead, processes=rows), previous)

    (action,) = result.plan.actions
    assert isinstance(action, RestartAgent)
    assert result.agents["impl"].lastExitCode is None
    assert result.agents["impl"].lastExitAt == format_time(NOW)
    assert result.agents["impl"].restartCount == 1


# --- duplicates and panes that are not ours ---------------------------------------------


class DuplicateCase(NamedTuple):
    test_id: str
    panes: tuple[Pane, ...]
    previous_pane: str | None
    want: str
    kept: str


SOLO = desired(fake("impl"))

DUPLICATE_CASES = [
    DuplicateCase(
        "keeps-the-pane-status-points-to-even-if-newer",
        (agent_pane(SOLO, "impl", "%1"), agent_pane(SOLO, "impl", "%5")),
        "%5",
        "stop    agent/impl window @1 (duplicate of %5)",
        "%5",
    ),
    DuplicateCase(
        "keeps-the-pane-status-points-to-even-if-older",
        (agent_pane(SOLO, "impl", "%5"), agent_pane(SOLO, "impl", "%1")),
        "%1",
        "stop    agent/impl window @5 (duplicate of %1)",
        "%1",
    ),
    DuplicateCase(
        "without-status-keeps-the-oldest-live-pane",
        (agent_pane(SOLO, "impl", "%5"), agent_pane(SOLO, "impl", "%1")),
        None,
        "stop    agent/impl window @5 (duplicate of %1)",
        "%1",
    ),
    DuplicateCase(
        "without-status-prefers-a-live-pane-to-a-dead-one",
        (
            agent_pane(SOLO, "impl", "%1", dead=True, dead_status=1),
            agent_pane(SOLO, "impl", "%5"),
        ),
        None,
        "stop    agent/impl window @1 (duplicate of %5)",
        "%5",
    ),
]


@pytest.mark.parametrize("case", DUPLICATE_CASES, ids=[c.test_id for c in DUPLICATE_CASES])
def test_duplicate_panes_keep_one(case: DuplicateCase) -> None:
    agents = (
        {"impl": running_status(SOLO, "impl", case.previous_pane)}
        if case.previous_pane is not None
        else {}
    )
    result = plan(SOLO, world(*case.panes), team_status(agents))

    assert result.plan.render() == case.want
    assert result.agents["impl"].paneId == case.kept


class ForeignCase(NamedTuple):
    test_id: str
    foreign: Pane


FOREIGN_CASES = [
    ForeignCase(
        "unmarked-pane-named-like-an-agent",
        pane("impl", "%7", marked=False),
    ),
    ForeignCase(
        "unmarked-pane-named-like-a-removed-agent",
        pane("old", "%7", marked=False),
    ),
    ForeignCase(
        "another-workspace-markers-in-our-session",
        pane("impl", "%7", workspace="/elsewhere", config_hash="sha256:x"),
    ),
    ForeignCase(
        "another-workspace-markers-for-an-agent-we-dropped",
        pane("old", "%7", workspace="/elsewhere", session_name="team-demo-2"),
    ),
    ForeignCase(
        "another-workspace-markers-same-team-id",
        pane("impl", "%7", workspace="/elsewhere", session_name="team-demo-2"),
    ),
    ForeignCase(
        "leader-pane-of-a-former-team-of-this-workspace",
        pane("impl", "%7", team="other", session_name="team-other", leader_uuid="u-1"),
    ),
    ForeignCase(
        "pane-marker-without-agent",
        pane("", "%7", window_name="impl"),
    ),
]


@pytest.mark.parametrize("case", FOREIGN_CASES, ids=[c.test_id for c in FOREIGN_CASES])
@pytest.mark.parametrize("ours", ["converged", "missing"])
def test_panes_not_ours_are_never_touched(case: ForeignCase, ours: str) -> None:
    if ours == "converged":
        observed, previous = converged_world(case.foreign), converged_status()
        want = NO_CHANGES
    else:
        observed, previous = world(case.foreign), team_status()
        where = "session" if case.foreign.session_name == "team-demo" else "new session"
        want = (
            f"create  agent/api in {where} team-demo (missing)\n"
            "create  agent/impl in session team-demo (missing)\n"
            "create  agent/logs in session team-demo (missing)"
        )

    result = plan(TEAM, observed, previous)

    assert result.plan.render() == want
    assert "%7" not in pane_ids(result)
    assert all(status.paneId != "%7" for status in result.agents.values())


# --- a renamed team: its former panes replaced, or its session renamed -------------------


def former(agent: str, pane_id: str, **fields: Any) -> Pane:
    """A pane of this workspace marked with team "other": this team before a rename."""
    fields.setdefault("session_name", "team-other")
    return pane(agent, pane_id, team="other", config_hash="sha256:x", **fields)


class RenameCase(NamedTuple):
    test_id: str
    panes: tuple[Pane, ...]
    agents: dict[str, AgentStatus]
    want: str


STOP_IMPL = "stop    agent/impl window @7 (team renamed: other is now demo)\n"
RENAME_CASES = [
    RenameCase(
        "former-panes-stopped-first-their-agents-created-next-pass",
        (former("impl", "%7"), former("api", "%8")),
        {},
        STOP_IMPL + "stop    agent/api window @8 (team renamed: other is now demo)\n"
        "create  agent/logs in new session team-demo (missing)",
    ),
    RenameCase(
        "a-former-pane-beside-the-converged-team-is-only-stopped",
        (*converged_world().panes, former("impl", "%7")),
        {
            "api": running_status(TEAM, "api", "%1", since=LONG_AGO),
            "impl": running_status(TEAM, "impl", "%2", since=LONG_AGO),
            "logs": running_status(TEAM, "logs", "%3", since=LONG_AGO),
        },
        STOP_IMPL.rstrip("\n"),
    ),
    RenameCase(
        "a-former-agent-the-spec-dropped-is-stopped",
        (*converged_world().panes, former("old", "%7")),
        {
            "api": running_status(TEAM, "api", "%1", since=LONG_AGO),
            "impl": running_status(TEAM, "impl", "%2", since=LONG_AGO),
            "logs": running_status(TEAM, "logs", "%3", since=LONG_AGO),
        },
        "stop    agent/old window @7 (team renamed: other is now demo)",
    ),
    RenameCase(
        # `team.id` changed, session name kept: the session goes with its last window.
        "same-session-emptied-by-the-stops-is-made-anew",
        (former("impl", "%7", session_name="team-demo"),),
        {},
        STOP_IMPL + "create  agent/api in new session team-demo (missing)\n"
        "create  agent/logs in session team-demo (missing)",
    ),
    RenameCase(
        "same-session-kept-by-a-persons-pane",
        (
            former("impl", "%7", session_name="team-demo"),
            pane("", "%9", session_name="team-demo", marked=False),
        ),
        {},
        STOP_IMPL + "create  agent/api in session team-demo (missing)\n"
        "create  agent/logs in session team-demo (missing)",
    ),
    RenameCase(
        # `team.id` kept, `team.name` changed: nothing restarts, the session is renamed.
        "id-kept-session-renamed",
        tuple(replace(p, session_name="team-old") for p in converged_world().panes),
        {
            "api": running_status(TEAM, "api", "%1", since=LONG_AGO),
            "impl": running_status(TEAM, "impl", "%2", since=LONG_AGO),
            "logs": running_status(TEAM, "logs", "%3", since=LONG_AGO),
        },
        "rename  session/team-old to team-demo (the team's session name changed)",
    ),
    RenameCase(
        "id-kept-session-renamed-and-an-added-agent-created-in-it",
        (
            agent_pane(TEAM, "api", "%1", session_name="team-old"),
            agent_pane(TEAM, "impl", "%2", session_name="team-old"),
        ),
        {
            "api": running_status(TEAM, "api", "%1", since=LONG_AGO),
            "impl": running_status(TEAM, "impl", "%2", since=LONG_AGO),
        },
        "rename  session/team-old to team-demo (the team's session name changed)\n"
        "create  agent/logs in session team-demo (missing)",
    ),
    RenameCase(
        "session-of-another-workspace-is-never-renamed",
        (
            agent_pane(TEAM, "api", "%1", session_name="team-old", session_workspace="/b"),
            agent_pane(TEAM, "impl", "%2", session_name="team-old", session_workspace="/b"),
            agent_pane(TEAM, "logs", "%3", session_name="team-old", session_workspace="/b"),
        ),
        {},
        "create  agent/api in new session team-demo (missing)\n"
        "create  agent/impl in session team-demo (missing)\n"
        "create  agent/logs in session team-demo (missing)\n"
        "stop    agent/api window @1 (left in session team-old)\n"
        "stop    agent/impl window @2 (left in session team-old)\n"
        "stop    agent/logs window @3 (left in session team-old)",
    ),
    RenameCase(
        "agents-in-two-sessions-are-not-renamed",
        (
            agent_pane(TEAM, "api", "%1", session_name="team-old"),
            agent_pane(TEAM, "impl", "%2", session_name="team-older", session_id="$1"),
        ),
        {},
        "create  agent/api in new session team-demo (missing)\n"
        "create  agent/impl in session team-demo (missing)\n"
        "create  agent/logs in session team-demo (missing)\n"
        "stop    agent/api window @1 (left in session team-old)\n"
        "stop    agent/impl window @2 (left in session team-older)",
    ),
]


@pytest.mark.parametrize("case", RENAME_CASES, ids=[c.test_id for c in RENAME_CASES])
def test_a_renamed_team(case: RenameCase) -> None:
    result = plan(TEAM, world(*case.panes), team_status(case.agents))

    assert result.plan.render() == case.want


def test_a_replaced_agent_waits_one_pass_and_keeps_its_session() -> None:
    """The former agent is stopped (its old team id re-checked by the executor); the new
    one starts on the next pass, resuming the session the status recorded for its id."""
    previous = {"impl": running_status(TEAM, "impl", "%7", sessionId="s-1")}

    result = plan(TEAM, world(former("impl", "%7")), team_status(previous))

    stop = result.plan.actions[0]
    assert isinstance(stop, StopAgent) and stop.team == "other" and stop.pane == "%7"
    impl = result.agents["impl"]
    assert (ready(impl).reason, ready(impl).message) == (C.STARTING, "replacing %7 of team other")
    assert (impl.paneId, impl.pid, impl.sessionId) == (None, None, "s-1")

    after = plan(TEAM, world(), team_status(result.agents))
    assert "create  agent/impl in session team-demo (missing)" in after.plan.render()


def test_session_marked_by_another_workspace_is_a_conflict() -> None:
    theirs = pane("impl", "%1", workspace="/elsewhere", session_workspace="/elsewhere")
    previous = converged_status()

    result = plan(TEAM, world(theirs), previous)

    assert result.plan.render() == NO_CHANGES
    assert result.session_conflict is not None
    assert "/elsewhere" in result.session_conflict
    assert "runtime.session_name" in result.session_conflict
    assert dict(result.agents) == previous.agents


def test_a_pane_with_the_leader_marker_is_never_stopped() -> None:
    # DESIGN.md: "The leader pane is never killed." `down` filters `leader_uuid` panes out
    # ("never stopped, even if it also carried agent markers"); the planner does not.
    leader = pane("lead", "%8", leader_uuid="0d1c5f4e-uuid")

    result = plan(TEAM, converged_world(leader), converged_status())

    assert result.plan.render() == NO_CHANGES


# --- panes a person respawned with their own command ------------------------------------

PERSON_PID = 5000  # what `respawn-pane -k` started in the pane; we started pid 1000 + N


def taken_pane(team: DesiredTeam, agent: str, pane_id: str = "%1", **fields: Any) -> Pane:
    """Our marked pane, alive, now running the person's process instead of ours."""
    number = int(pane_id.lstrip("%"))
    return agent_pane(
        team, agent, pane_id, pid=PERSON_PID, launched_pid=str(1000 + number), **fields
    )


class TakeoverCase(NamedTuple):
    test_id: str
    team: DesiredTeam
    panes: tuple[Pane, ...]
    previous: dict[str, AgentStatus]
    want: str
    reason: str  # the agent's Ready reason after the pass


RELEASE = "release agent/impl pane %1 (runs pid 5000, which team-agent did not start)"
PAUSED_SOLO = desired(fake("impl", paused=True))
TAKEOVER_CASES = [
    TakeoverCase(
        "running-agent-is-released-and-created-anew",
        SOLO,
        (taken_pane(SOLO, "impl"),),
        {"impl": running_status(SOLO, "impl", "%1")},
        f"{RELEASE}\ncreate  agent/impl in session team-demo (pane %1 taken over)",
        C.PANE_TAKEN_OVER,
    ),
    TakeoverCase(
        "config-changed-is-never-a-recreate",
        SOLO,
        (taken_pane(SOLO, "impl", config_hash="sha256:old"),),
        {"impl": running_status(SOLO, "impl", "%1")},
        f"{RELEASE}\ncreate  agent/impl in session team-demo (pane %1 taken over)",
        C.PANE_TAKEN_OVER,
    ),
    TakeoverCase(
        "paused-is-never-a-stop",
        PAUSED_SOLO,
        (taken_pane(PAUSED_SOLO, "impl"),),
        {"impl": running_status(PAUSED_SOLO, "impl", "%1")},
        RELEASE,
        C.PAUSED,
    ),
    TakeoverCase(
        "another-live-pane-is-the-agent-not-a-duplicate-to-stop",
        SOLO,
        (taken_pane(SOLO, "impl"), agent_pane(SOLO, "impl", "%5")),
        {"impl": running_status(SOLO, "impl", "%5")},
        RELEASE,
        C.RUNNING,
    ),
    TakeoverCase(
        "removed-from-spec-is-never-a-stop",
        SOLO,
        (agent_pane(SOLO, "impl", "%2"), pane("old", "%7", pid=PERSON_PID, launched_pid="1007")),
        {"impl": running_status(SOLO, "impl", "%2")},
        "release agent/old pane %7 (runs pid 5000, which team-agent did not start)",
        C.RUNNING,
    ),
    TakeoverCase(
        "a-pane-made-before-the-pid-marker-is-trusted-as-before",
        SOLO,
        (agent_pane(SOLO, "impl", "%1", pid=PERSON_PID, launched_pid=""),),
        {"impl": running_status(SOLO, "impl", "%1", pid=PERSON_PID)},
        NO_CHANGES,
        C.RUNNING,
    ),
    TakeoverCase(
        "a-dead-pane-runs-nothing-and-is-restarted-in-place",
        SOLO,
        (taken_pane(SOLO, "impl", dead=True, dead_status=0),),
        {"impl": running_status(SOLO, "impl", "%1")},
        "restart agent/impl pane %1 (exited with code 0)",
        C.STARTING,
    ),
]


@pytest.mark.parametrize("case", TAKEOVER_CASES, ids=[c.test_id for c in TAKEOVER_CASES])
def test_a_pane_a_person_took_over_is_released_never_stopped(case: TakeoverCase) -> None:
    result = plan(case.team, world(*case.panes), team_status(case.previous))

    assert result.plan.render() == case.want
    assert ready(result.agents["impl"]).reason == case.reason
    assert result.agents["impl"].pid != PERSON_PID or case.reason == C.RUNNING
    for action in result.plan.actions:
        assert not isinstance(action, (StopAgent, RecreateAgent, RestartAgent)) or (
            action.pane not in {p.pane_id for p in case.panes if p.taken_over}
        )


def test_the_taken_over_status_names_the_pane_and_the_pid_and_counts_a_restart() -> None:
    taken = taken_pane(SOLO, "impl", current_command="bash")
    previous = running_status(SOLO, "impl", "%1", restartCount=2)

    result = plan(SOLO, world(taken), team_status({"impl": previous}))

    status = result.agents["impl"]
    found = ready(status)
    assert (found.status, found.reason) == (C.FALSE, C.PANE_TAKEN_OVER)
    assert "pane %1 runs pid 5000 (bash)" in found.message
    assert (status.pid, status.paneId, status.restartCount) == (None, None, 3)
    release = result.plan.actions[0]
    assert isinstance(release, ReleasePane)
    # Its window was made for impl and holds nothing else: its options go with the markers.
    assert (release.window, release.process) == ("@1", ProcessRef(PERSON_PID, ts(STARTED)))


def test_a_taken_over_pane_in_a_window_the_person_split_keeps_the_windows_options() -> None:
    taken = taken_pane(SOLO, "impl", window_panes=2)

    result = plan(SOLO, world(taken), team_status())

    release = result.plan.actions[0]
    assert isinstance(release, ReleasePane) and release.window is None


# --- providers and readiness ------------------------------------------------------------


def test_provider_not_installed_is_reported_and_not_created() -> None:
    result = plan(TEAM, world(), missing=("tail",))

    assert result.plan.render() == (
        "create  agent/api in new session team-demo (missing)\n"
        "create  agent/impl in session team-demo (missing)"
    )
    logs = result.agents["logs"]
    assert (ready(logs).status, ready(logs).reason) == (C.FALSE, C.PROVIDER_NOT_INSTALLED)
    assert ready(logs).message == "'tail' was not found on PATH"


def test_provider_not_installed_leaves_a_running_agent_alone() -> None:
    result = plan(TEAM, converged_world(), converged_status(), missing=("tail",))

    assert result.plan.render() == NO_CHANGES
    assert ready(result.agents["logs"]).status == C.TRUE


def test_missing_cli_of_a_real_provider_is_reported_and_not_created() -> None:
    team = desired({"id": "brain", "provider": "claude"}, shell("api"))

    result = plan(team, world(), missing=("claude",))

    assert result.plan.render() == "create  agent/api in new session team-demo (missing)"
    brain = result.agents["brain"]
    assert (ready(brain).status, ready(brain).reason) == (C.FALSE, C.PROVIDER_NOT_INSTALLED)
    assert ready(brain).message == "'claude' was not found on PATH"


class ReadinessCase(NamedTuple):
    test_id: str
    agent: dict[str, Any]
    started_ago: float
    screen: str | None
    reason: str
    requeue: bool


READINESS_CASES = [
    ReadinessCase("not-seen-yet", fake("impl"), 2, "Fake agent v1\n", C.STARTING, True),
    ReadinessCase("no-capture-yet", fake("impl"), 2, None, C.STARTING, True),
    ReadinessCase("seen", fake("impl"), 2, "Fake agent v1\nfake> ", C.RUNNING, False),
    ReadinessCase("pattern-anchors-per-line", fake("impl"), 2, "say fake> \n", C.STARTING, True),
    ReadinessCase("not-seen-after-timeout", fake("impl"), 61, "Fake agent v1\n",
                  C.READINESS_TIMEOUT, False),
    ReadinessCase("seen-late-is-still-ready", fake("impl"), 61, "fake> ", C.RUNNING, False),
    ReadinessCase("custom-pattern-and-timeout",
                  shell("impl", readiness={"pattern": r"^listening on \d+", "timeout_sec": 5}),
                  6, "booting\n", C.READINESS_TIMEOUT, False),
    ReadinessCase("custom-pattern-seen",
                  shell("impl", readiness={"pattern": r"^listening on \d+", "timeout_sec": 5}),
                  4, "booting\nlistening on 8080\n", C.RUNNING, False),
    ReadinessCase("no-pattern-is-ready-at-once", shell("impl"), 0, None, C.RUNNING, False),
    # A pattern that backtracks without end is reported, never waited for (reconciler.api.patterns).
    ReadinessCase("backtracking-pattern-is-reported",
                  shell("impl", readiness={"pattern": r"(a|aa)+$"}),
                  4, "a" * 5000 + "!", C.PATTERN_TOO_SLOW, False),
]  # fmt: skip


@pytest.mark.parametrize("case", READINESS_CASES, ids=[c.test_id for c in READINESS_CASES])
def test_readiness(case: ReadinessCase) -> None:
    team = desired(case.agent)
    # The pass after the create: status knows the pane, not yet the process.
    previous = team_status(
        {
            "impl": AgentStatus(
                conditions=[cond(C.READY, C.FALSE, C.STARTING, at=ago(case.started_ago))],
                paneId="%1",
                windowId="@1",
                configHash=hash_of(team, "impl"),
                startedAt=format_time(ago(case.started_ago)),
            )
        }
    )
    live = agent_pane(team, "impl", "%1")
    screens = {"%1": case.screen} if case.screen is not None else {}
    observed = world(live, captures=screens, started=ago(case.started_ago))

    result = plan(team, observed, previous)

    assert result.plan.render() == NO_CHANGES
    impl = result.agents["impl"]
    want_status = C.TRUE if case.reason == C.RUNNING else C.FALSE
    assert (ready(impl).status, ready(impl).reason) == (want_status, case.reason)
    assert impl.pid == 1001
    assert impl.pidCreateTime == ts(ago(case.started_ago))
    if case.requeue:
        assert result.plan.requeue_after is not None
        assert 0 < result.plan.requeue_after <= 1
    else:
        assert result.plan.requeue_after is None


def test_readiness_latches_for_the_life_of_the_process() -> None:
    """Once seen, the prompt may scroll away: the same process stays Ready."""
    team = desired(fake("impl"))
    previous = team_status({"impl": running_status(team, "impl", "%1")})
    observed = world(agent_pane(team, "impl", "%1"), captures={"%1": "busy, no prompt"})

    result = plan(team, observed, previous)

    assert ready(result.agents["impl"]).status == C.TRUE


def test_readiness_does_not_latch_across_a_new_process_with_a_recycled_pid() -> None:
    team = desired(fake("impl"))
    previous = team_status({"impl": running_status(team, "impl", "%1")})
    observed = world(agent_pane(team, "impl", "%1"), started=ago(5))  # same pid, new process

    result = plan(team, observed, previous)

    impl = result.agents["impl"]
    assert (ready(impl).status, ready(impl).reason) == (C.FALSE, C.STARTING)
    assert impl.startedAt == format_time(ago(5))


class CaptureCase(NamedTuple):
    test_id: str
    team: DesiredTeam
    panes: tuple[Pane, ...]
    previous: dict[str, AgentStatus]
    want: list[str]


CAPTURE_CASES = [
    CaptureCase(
        "converged-team-needs-no-capture",
        TEAM,
        (
            agent_pane(TEAM, "api", "%1"),
            agent_pane(TEAM, "impl", "%2"),
            agent_pane(TEAM, "logs", "%3"),
        ),
        {name: running_status(TEAM, name, f"%{i}") for i, name in
         enumerate(("api", "impl", "logs"), start=1)},
        [],
    ),
    CaptureCase(
        "just-started-agent-with-a-pattern-is-captured",
        TEAM,
        (
            agent_pane(TEAM, "api", "%1"),
            agent_pane(TEAM, "impl", "%2"),
            agent_pane(TEAM, "logs", "%3"),
        ),
        {"api": running_status(TEAM, "api", "%1"), "logs": running_status(TEAM, "logs", "%3")},
        ["%2"],
    ),
    CaptureCase(
        "agents-without-a-pattern-are-never-captured",
        desired(shell("api"), shell("logs")),
        (pane("api", "%1"), pane("logs", "%3")),
        {},
        [],
    ),
    CaptureCase(
        "dead-and-missing-panes-are-not-captured",
        desired(fake("impl"), fake("spare")),
        (pane("impl", "%2", dead=True, dead_status=1),),
        {},
        [],
    ),
    CaptureCase(
        "new-process-in-a-ready-agents-pane-is-captured",
        SOLO,
        (agent_pane(SOLO, "impl", "%2", pid=4242),),
        {"impl": running_status(SOLO, "impl", "%2")},
        ["%2"],
    ),
    CaptureCase(
        "foreign-panes-are-not-captured",
        SOLO,
        (pane("impl", "%7", marked=False),),
        {},
        [],
    ),
]  # fmt: skip


@pytest.mark.parametrize("case", CAPTURE_CASES, ids=[c.test_id for c in CAPTURE_CASES])
def test_panes_to_capture(case: CaptureCase) -> None:
    got = panes_to_capture(case.team, world(*case.panes), team_status(case.previous))
    assert got == case.want


# --- determinism ------------------------------------------------------------------------


def busy_world() -> World:
    """Something of everything: duplicates, a dead pane, a removed agent, foreign panes."""
    return world(
        agent_pane(TEAM, "api", "%1"),
        agent_pane(TEAM, "api", "%11"),
        agent_pane(TEAM, "impl", "%2", config_hash="sha256:old"),
        agent_pane(TEAM, "logs", "%3", dead=True, dead_status=1, dead_time=ago(2)),
        pane("old", "%4"),
        pane("gone", "%5", session_name="team-old"),
        pane("impl", "%7", marked=False),
        pane("impl", "%8", workspace="/elsewhere"),
    )


BUSY_PLAN = (
    "stop    agent/api window @11 (duplicate of %1)\n"
    "recreate agent/impl pane %2 (config changed)\n"
    "restart agent/logs pane %3 (exited with code 1)\n"
    "stop    agent/old window @4 (removed from spec)\n"
    "stop    agent/gone window @5 (removed from spec)"
)


def test_plans_are_deterministic() -> None:
    first = plan(TEAM, busy_world(), converged_status())
    second = plan(TEAM, busy_world(), converged_status())

    assert first.plan.render() == BUSY_PLAN
    assert second.plan == first.plan
    assert dict(second.agents) == dict(first.agents)


@pytest.mark.parametrize("seed", range(5))
def test_plans_do_not_depend_on_the_order_tmux_lists_panes(seed: int) -> None:
    observed = busy_world()
    shuffled = list(observed.panes)
    random.Random(seed).shuffle(shuffled)

    result = plan(TEAM, replace(observed, panes=tuple(shuffled)), converged_status())

    assert result.plan.render() == BUSY_PLAN


# --- known gaps ---------------------------------------------------------------------------


def test_agent_whose_pane_vanished_while_backing_off_is_not_reported_backing_off() -> None:
    team = desired(shell("impl"))
    # Backing off after its third crash when someone closed its window.
    waiting = AgentStatus(
        conditions=[
            cond(C.CRASH_LOOP_BACK_OFF, C.TRUE, C.BACK_OFF, at=ago(10)),
            cond(C.READY, C.FALSE, C.EXITED, at=ago(10)),
        ],
        paneId="%1",
        windowId="@1",
        configHash=hash_of(team, "impl"),
        restartCount=3,
        lastExitCode=1,
        lastExitAt=format_time(ago(10)),
        backoffSec=40,
        backoffUntil=format_time(ago(-30)),
    )

    result = plan(team, world(), team_status({"impl": waiting}))

    assert result.plan.render() == "create  agent/impl in new session team-demo (missing)"
    impl = result.agents["impl"]
    assert backoff(impl).status != C.TRUE
    assert impl.backoffUntil is None


def test_an_agent_created_in_a_session_being_renamed_requires_the_rename() -> None:
    """If the rename fails, the executor skips the create (compose's depends_on) rather
    than creating a window in a session that does not exist under the new name."""
    panes = (
        agent_pane(TEAM, "api", "%1", session_name="team-old"),
        agent_pane(TEAM, "impl", "%2", session_name="team-old"),
    )
    previous = {
        "api": running_status(TEAM, "api", "%1", since=LONG_AGO),
        "impl": running_status(TEAM, "impl", "%2", since=LONG_AGO),
    }

    rename, create = plan(TEAM, world(*panes), team_status(previous)).plan.actions

    assert isinstance(rename, RenameSession) and isinstance(create, CreateAgent)
    assert create.requires == (rename.resource,) == ("session/team-old",)
    assert rename.requires == ()

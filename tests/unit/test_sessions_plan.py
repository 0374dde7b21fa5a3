"""Golden plans for provider sessions: resume, fresh, lost, held, captured, timed out.

Each case builds the spec (a Claude or Codex agent), the world, the previous status and
what the observe step saw on disk (`TranscriptSeen`), calls `plan_agents` and compares the
plan text (what `team-agent plan` prints) and the session fields. No tmux, no files.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import msgspec

from controllers.agents.actions import CreateAgent, RecreateAgent, RestartAgent
from controllers.agents.plan import AgentsResult, plan_agents
from controllers.sessions.plan import CAPTURE_POLL_SEC, new_session_id, session_notes
from controllers.sessions.view import ProviderView, TranscriptSeen
from controllers.team.desired import DesiredTeam
from reconciler.api import conditions as C
from reconciler.api.status import AgentStatus, TeamStatus
from reconciler.observe.world import World
from tests.unit.builders import (
    GENERATION,
    NOW,
    STARTED,
    agent_pane,
    ago,
    cond,
    desired,
    installed,
    running_status,
    team_status,
    world,
)

SID = "11111111-2222-4333-8444-555555555555"
PATH = f"/home/me/.claude/projects/-ws/{SID}.jsonl"
CLAUDE = desired({"id": "impl", "provider": "claude"})
HOLD = desired({"id": "impl", "provider": "claude", "session": {"on_lost": "hold"}})
CODEX = desired({"id": "impl", "provider": "codex"})
OPENCODE = desired({"id": "impl", "provider": "opencode"})
FRESH_ID = new_session_id("demo", "/ws", "impl", now=NOW, previous=None)
AFTER_LOST_ID = new_session_id("demo", "/ws", "impl", now=NOW, previous=SID)


def plan(
    team: DesiredTeam,
    observed: World,
    previous: TeamStatus,
    seen: TranscriptSeen | None = None,
    *,
    now: datetime = NOW,
) -> AgentsResult:
    view = ProviderView(transcripts={"impl": seen} if seen is not None else {})
    return plan_agents(
        team,
        observed,
        previous,
        now=now,
        generation=GENERATION,
        installed=installed(team),
        provider_view=view,
    )


def session_argv(result: AgentsResult) -> tuple[str, ...]:
    """The argv the single start action of `result` launches the agent with."""
    (start,) = result.plan.actions
    assert isinstance(start, (CreateAgent, RestartAgent, RecreateAgent))
    assert start.provider_session is not None
    return start.provider_session.argv


def session(status: AgentStatus) -> tuple[str, str, str]:
    found = C.find_condition(status.conditions, C.SESSION_CAPTURED)
    assert found is not None
    return found.status, found.reason, found.message


def prior(team: DesiredTeam, **fields: Any) -> TeamStatus:
    """A running, Ready status of impl in %1, with session fields and conditions given."""
    captured = fields.pop("captured", None)
    status = running_status(team, "impl", "%1", **fields)
    if captured is not None:
        conditions, _ = C.set_condition(status.conditions, captured)
        status = msgspec.structs.replace(status, conditions=conditions)
    return team_status({"impl": status})


CAPTURED = cond(C.SESSION_CAPTURED, C.TRUE, C.CAPTURED, f"session {SID} ({PATH})")
WAITING = cond(C.SESSION_CAPTURED, C.UNKNOWN, C.CAPTURING, "no transcript yet")
DEAD = agent_pane(CLAUDE, "impl", "%1", dead=True, dead_status=1, dead_time=ago(30))


def test_fresh_claude_start_pre_assigns_a_session_id() -> None:
    result = plan(CLAUDE, world(), team_status())

    assert result.plan.render() == (
        f"create  agent/impl in new session team-demo (missing) [new session {FRESH_ID}]"
    )
    impl = result.agents["impl"]
    assert (impl.sessionId, impl.sessionFile) == (FRESH_ID, None)
    assert session(impl)[:2] == (C.UNKNOWN, C.CAPTURING)
    assert session_argv(result) == ("claude", "--session-id", FRESH_ID)


def test_crashed_agent_with_its_transcript_resumes_it() -> None:
    previous = prior(CLAUDE, sessionId=SID, sessionFile=PATH, captured=CAPTURED)

    result = plan(CLAUDE, world(DEAD), previous, TranscriptSeen(SID, PATH, exists=True))

    assert result.plan.render() == (
        f"restart agent/impl pane %1 (exited with code 1) [resume session {SID}]"
    )
    impl = result.agents["impl"]
    assert (impl.sessionId, impl.sessionFile, impl.restartCount) == (SID, PATH, 1)
    assert session(impl)[:2] == (C.TRUE, C.CAPTURED)


def test_lost_tmux_server_recreates_resumed() -> None:
    previous = prior(CLAUDE, sessionId=SID, sessionFile=PATH, captured=CAPTURED)

    result = plan(CLAUDE, world(), previous, TranscriptSeen(SID, PATH, exists=True))

    assert result.plan.render() == (
        f"create  agent/impl in new session team-demo (missing) [resume session {SID}]"
    )


def test_config_change_recreates_resumed_without_touching_the_hash() -> None:
    changed = desired({"id": "impl", "provider": "claude", "model": "opus"})
    previous = prior(CLAUDE, sessionId=SID, sessionFile=PATH, captured=CAPTURED)
    running = agent_pane(CLAUDE, "impl", "%1")  # marked with the old config's hash

    result = plan(changed, world(running), previous, TranscriptSeen(SID, PATH, exists=True))

    assert result.plan.render() == (
        f"recreate agent/impl pane %1 (config changed) [resume session {SID}]"
    )
    (recreate,) = result.plan.actions
    assert isinstance(recreate, RecreateAgent)
    assert recreate.config_hash == changed.agents[0].config_hash
    assert session_argv(result) == ("claude", "--resume", SID, "--model", "opus")


def test_lost_transcript_starts_fresh_once_and_never_resumes() -> None:
    previous = prior(CLAUDE, sessionId=SID, sessionFile=PATH, captured=CAPTURED)

    result = plan(CLAUDE, world(DEAD), previous, TranscriptSeen(SID, PATH, exists=False))

    assert result.plan.render() == (
        f"restart agent/impl pane %1 (exited with code 1) [new session {AFTER_LOST_ID}]"
    )
    impl = result.agents["impl"]
    assert (impl.sessionId, impl.sessionFile) == (AFTER_LOST_ID, None)
    status, reason, message = session(impl)
    assert (status, reason) == (C.FALSE, C.SESSION_LOST)
    assert SID in message and "fresh" in message
    notes = session_notes(previous.agents, result.agents)
    assert [(n.reason, n.object) for n in notes] == [(C.SESSION_LOST, "agent/impl")]

    # The fresh session never got a message: its next restart reuses its id, still lost.
    again = plan(
        CLAUDE,
        world(DEAD),
        team_status({"impl": impl}),
        TranscriptSeen(AFTER_LOST_ID, "/x", exists=False),
        now=NOW,
    )
    assert again.plan.render().endswith(f"[new session {AFTER_LOST_ID}]")
    assert session(again.agents["impl"])[1] == C.SESSION_LOST
    assert session_notes({"impl": impl}, again.agents) == []


def test_lost_transcript_with_hold_starts_nothing_until_it_is_back() -> None:
    previous = prior(HOLD, sessionId=SID, sessionFile=PATH, captured=CAPTURED)
    dead = agent_pane(HOLD, "impl", "%1", dead=True, dead_status=1, dead_time=ago(30))

    held = plan(HOLD, world(dead), previous, TranscriptSeen(SID, PATH, exists=False))
    still = plan(HOLD, world(dead), team_status(held.agents), TranscriptSeen(SID, PATH, False))
    back = plan(HOLD, world(dead), team_status(still.agents), TranscriptSeen(SID, PATH, True))

    assert held.plan.render() == still.plan.render() == "no changes: the world matches the spec"
    impl = held.agents["impl"]
    ready = C.find_condition(impl.conditions, C.READY)
    assert ready is not None and (ready.status, ready.reason) == (C.FALSE, C.SESSION_LOST)
    assert "on_lost is hold" in ready.message
    assert (impl.sessionId, impl.sessionFile, impl.restartCount) == (SID, PATH, 0)
    assert len(session_notes(previous.agents, held.agents)) == 1
    assert session_notes(held.agents, still.agents) == []
    assert back.plan.render().endswith(f"[resume session {SID}]")


def test_preassigned_id_without_transcript_is_reused_and_one_that_appeared_is_resumed() -> None:
    previous = prior(CLAUDE, sessionId=SID, captured=WAITING)

    reused = plan(CLAUDE, world(DEAD), previous, TranscriptSeen(SID, PATH, exists=False))
    appeared = plan(CLAUDE, world(DEAD), previous, TranscriptSeen(SID, PATH, exists=True))

    assert reused.plan.render().endswith(f"[new session {SID}]")
    assert appeared.plan.render().endswith(f"[resume session {SID}]")
    assert appeared.agents["impl"].sessionFile == PATH


def test_codex_resumes_the_rollout_carrying_its_tag_or_starts_fresh() -> None:
    previous = prior(CODEX, captured=WAITING)
    dead = agent_pane(CODEX, "impl", "%1", dead=True, dead_status=1, dead_time=ago(30))
    rollout = f"/home/me/.codex/sessions/2026/11/25/rollout-2026-11-25T09-00-00-{SID}.jsonl"

    found = plan(CODEX, world(dead), previous, TranscriptSeen(SID, rollout, exists=True))
    none = plan(CODEX, world(dead), previous)

    assert found.plan.render().endswith(f"[resume session {SID}]")
    assert session_argv(found)[:3] == ("codex", "resume", SID)
    assert none.plan.render() == "restart agent/impl pane %1 (exited with code 1)"
    assert none.agents["impl"].sessionId is None


def test_running_agent_capture_waits_then_captures() -> None:
    previous = prior(CLAUDE, sessionId=SID, captured=WAITING, started=ago(10))
    running = agent_pane(CLAUDE, "impl", "%1")

    waiting = plan(
        CLAUDE, world(running, started=ago(10)), previous, TranscriptSeen(SID, PATH, False)
    )
    found = plan(CLAUDE, world(running, started=ago(10)), previous, TranscriptSeen(SID, PATH, True))

    assert waiting.plan.render() == found.plan.render() == "no changes: the world matches the spec"
    assert session(waiting.agents["impl"])[:2] == (C.UNKNOWN, C.CAPTURING)
    assert waiting.plan.requeue_after == CAPTURE_POLL_SEC
    impl = found.agents["impl"]
    assert (impl.sessionId, impl.sessionFile) == (SID, PATH)
    assert session(impl) == (C.TRUE, C.CAPTURED, f"session {SID} ({PATH})")
    notes = session_notes(previous.agents, found.agents)
    assert [(n.type, n.reason) for n in notes] == [("Normal", "SessionCaptured")]


def test_capture_times_out_once_and_keeps_looking() -> None:
    team = desired({"id": "impl", "provider": "claude", "session": {"capture_timeout_sec": 60}})
    previous = prior(team, sessionId=SID, captured=WAITING)  # started 120 s ago
    running = agent_pane(team, "impl", "%1")
    missing = TranscriptSeen(SID, PATH, exists=False)

    first = plan(team, world(running), previous, missing)
    second = plan(team, world(running), team_status(first.agents), missing)
    late = plan(team, world(running), team_status(second.agents), TranscriptSeen(SID, PATH, True))

    assert session(first.agents["impl"])[:2] == (C.FALSE, C.CAPTURE_TIMEOUT)
    assert first.plan.requeue_after is None
    assert [n.reason for n in session_notes(previous.agents, first.agents)] == [C.CAPTURE_TIMEOUT]
    assert session_notes(first.agents, second.agents) == []
    assert session(late.agents["impl"])[:2] == (C.TRUE, C.CAPTURED)


def test_captured_running_agent_not_looked_at_stays_captured() -> None:
    previous = prior(CLAUDE, sessionId=SID, sessionFile=PATH, captured=CAPTURED)

    result = plan(CLAUDE, world(agent_pane(CLAUDE, "impl", "%1")), previous)

    assert result.plan.render() == "no changes: the world matches the spec"
    assert session(result.agents["impl"]) == session(previous.agents["impl"])
    transition = C.find_condition(result.agents["impl"].conditions, C.SESSION_CAPTURED)
    assert transition is not None and transition.lastTransitionTime == CAPTURED.lastTransitionTime


def test_opencode_imports_its_preassigned_session_before_a_fresh_start() -> None:
    """OpenCode takes no id for a new session: the pane runs `opencode import` first."""
    result = plan(OPENCODE, world(), team_status())

    (start,) = result.plan.actions
    assert isinstance(start, CreateAgent) and start.provider_session is not None
    sid = f"ses_{FRESH_ID}"
    assert start.provider_session.argv == ("opencode", "--session", sid)
    assert start.provider_session.prepare == ("opencode", "import", "{file}")
    info = json.loads(start.provider_session.prepare_file)["info"]
    assert info["id"] == sid and info["time"]["created"] == int(NOW.timestamp() * 1000)
    assert result.agents["impl"].sessionId == sid
    status, reason, _ = session(result.agents["impl"])
    assert (status, reason) == (C.UNKNOWN, C.CAPTURING)


def test_new_session_ids_are_uuid4_shaped_and_differ_per_start() -> None:
    ids = {
        new_session_id("demo", "/ws", "impl", now=NOW, previous=None),
        new_session_id("demo", "/ws", "impl", now=STARTED, previous=None),
        new_session_id("demo", "/ws", "other", now=NOW, previous=None),
        new_session_id("demo", "/ws", "impl", now=NOW, previous=SID),
    }
    assert len(ids) == 4
    for sid in ids:
        assert sid[14] == "4" and sid[19] in "89ab"

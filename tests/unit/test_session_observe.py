"""Where transcripts are (pure paths) and how the observe step finds them (temporary files).

The observe step is the only place that touches the CLIs' files; these tests give it a
temporary HOME laid out as the real CLIs lay it out, and check what it reports and what
it leaves alone (a converged team is not looked at).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import msgspec

from controllers.providers import transcripts as T
from controllers.providers.codex import session_tag
from controllers.sessions.observe import locate, observe_provider_view
from controllers.sessions.view import TranscriptSeen
from reconciler.api import conditions as C
from reconciler.api.clock import format_time
from reconciler.api.status import AgentStatus
from tests.unit.builders import (
    agent_pane,
    cond,
    desired,
    running_status,
    team_status,
    world,
)

SID = "11111111-2222-4333-8444-555555555555"


def test_claude_project_folder_encoding() -> None:
    assert T.claude_project_name("/home/me/my_proj.v2") == "-home-me-my-proj-v2"
    long = "/" + "a" * 250
    name = T.claude_project_name(long)
    assert name.startswith("-" + "a" * 199) and len(name) > 200
    assert name == f"{('-' + 'a' * 250)[:200]}-{T.js_string_hash(long)}"
    assert T.js_string_hash("hello") == "1n1e4y"  # Java "hello".hashCode() == 99162322


def test_config_roots_follow_the_environment() -> None:
    env = {"HOME": "/h"}
    assert T.claude_transcript(env, "/ws", SID) == Path(f"/h/.claude/projects/-ws/{SID}.jsonl")
    assert T.claude_state_file(env) == Path("/h/.claude.json")
    other = {"HOME": "/h", "CLAUDE_CONFIG_DIR": "/c", "CODEX_HOME": "/x", "COPILOT_HOME": "/p"}
    assert T.claude_transcript(other, "/ws", SID) == Path(f"/c/projects/-ws/{SID}.jsonl")
    assert T.claude_state_file(other) == Path("/c/.claude.json")
    assert T.codex_sessions_root(other) == Path("/x/sessions")
    assert T.copilot_events(other, SID) == Path(f"/p/session-state/{SID}/events.jsonl")
    assert T.opencode_storage({"HOME": "/h"}) == Path("/h/.local/share/opencode/storage")


def test_codex_rollout_names_round_trip() -> None:
    started = datetime(2026, 11, 25, 9, 5, 7)
    name = T.codex_rollout_name(started, SID)
    assert name == f"rollout-2026-11-25T09-05-07-{SID}.jsonl"
    assert T.codex_rollout_started(name) == started
    assert T.codex_rollout_started("notes.txt") is None


# A Claude transcript holds a conversation once its first user message is in it (2.1.197).
CLAUDE_TURN = '{"type":"user","message":{"role":"user","content":"hi"}}\n'


def test_locate_pre_assigned_transcripts(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    assert not locate(T.CLAUDE, env, "/ws", SID).exists
    claude = T.claude_transcript(env, "/ws", SID)
    claude.parent.mkdir(parents=True)
    claude.write_text(CLAUDE_TURN)
    assert locate(T.CLAUDE, env, "/ws", SID) == TranscriptSeen(SID, str(claude), True)
    claude.write_text('{"type":"ai-title","aiTitle":"Mock session"}\n')  # no message yet
    assert locate(T.CLAUDE, env, "/ws", SID) == TranscriptSeen(SID, str(claude), False, held=True)
    claude.write_text(CLAUDE_TURN)

    assert not locate(T.GEMINI, env, "/ws", SID).exists  # Gemini has not registered /ws
    registry = T.gemini_projects_file(env)  # Gemini 0.61.0 registers the folder at startup
    registry.parent.mkdir(parents=True)
    registry.write_text(json.dumps({"projects": {"/ws": "ws"}}))
    chats = T.gemini_chats_dir(env, "/ws")
    assert chats == tmp_path / ".gemini" / "tmp" / "ws" / "chats"
    chats.mkdir(parents=True)
    other = chats / f"session-2026-11-25T09-00-{SID[:8]}.jsonl"
    other.write_text(json.dumps({"sessionId": SID[:8] + "-not-the-same"}) + "\n")
    assert not locate(T.GEMINI, env, "/ws", SID).exists  # same 8 characters, another id
    mine = chats / f"session-2026-11-25T09-01-{SID[:8]}.jsonl"
    mine.write_text(json.dumps({"sessionId": SID, "projectHash": "x"}) + "\n")
    assert locate(T.GEMINI, env, "/ws", SID) == TranscriptSeen(SID, str(mine), True)

    events = T.copilot_events(env, SID)
    events.parent.mkdir(parents=True)
    events.write_text("{}\n")
    assert locate(T.COPILOT, env, "/ws", SID).exists


def write_rollout(root: Path, started: datetime, sid: str, cwd: str, developer: str) -> Path:
    path = root / f"{started:%Y/%m/%d}" / T.codex_rollout_name(started, sid)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        {"type": "session_meta", "payload": {"id": sid, "cwd": cwd, "base_instructions": {}}},
        {"type": "response_item", "payload": {"role": "developer", "content": developer}},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_codex_rollouts_are_attributed_by_tag_not_by_newest(tmp_path: Path) -> None:
    team = desired({"id": "left", "provider": "codex"}, {"id": "right", "provider": "codex"})
    now = datetime.now().replace(microsecond=0)
    started = format_time(now.astimezone() - timedelta(seconds=2))
    waiting = cond(C.SESSION_CAPTURED, C.UNKNOWN, C.CAPTURING)
    previous = team_status(
        {name: AgentStatus(startedAt=started, conditions=[waiting]) for name in ("left", "right")}
    )
    root = tmp_path / ".codex" / "sessions"
    left = write_rollout(root, now, "id-left", "/ws", session_tag("demo", "/ws", "left"))
    # Newer, same folder, but carrying the other agent's tag.
    later = now + timedelta(seconds=1)
    right = write_rollout(root, later, "id-right", "/ws", session_tag("demo", "/ws", "right"))
    write_rollout(root, later, "id-stranger", "/ws", "someone else's codex")

    view = observe_provider_view(
        team, world(), previous, env={"HOME": str(tmp_path)}, spec_auto_trust=None
    )

    assert view.transcripts == {
        "left": TranscriptSeen("id-left", str(left), True),
        "right": TranscriptSeen("id-right", str(right), True),
    }


def test_converged_agents_are_not_looked_at_and_opt_in_is_read(tmp_path: Path) -> None:
    team = desired({"id": "impl", "provider": "claude"})
    captured = cond(C.SESSION_CAPTURED, C.TRUE, C.CAPTURED)
    status = running_status(team, "impl", "%1", sessionId=SID, sessionFile="/gone")
    status = msgspec.structs.replace(status, conditions=[*status.conditions, captured])
    running = world(agent_pane(team, "impl", "%1"))

    quiet = observe_provider_view(
        team,
        running,
        team_status({"impl": status}),
        env={"HOME": str(tmp_path), "TEAM_AGENT_AUTO_TRUST_OWN_WORKSPACE": "1"},
        spec_auto_trust=None,
    )
    restarting = observe_provider_view(
        team, world(), team_status({"impl": status}), env={"HOME": "/h"}, spec_auto_trust=True
    )

    assert quiet.transcripts == {} and quiet.auto_trust
    expected = f"/h/.claude/projects/-ws/{SID}.jsonl"
    assert restarting.transcripts == {"impl": TranscriptSeen(SID, expected, False)}
    assert restarting.auto_trust


def test_a_transcript_left_in_a_former_folder_is_not_resumable(tmp_path: Path) -> None:
    """Claude keeps transcripts per folder: after working_directory changed, `--resume`
    from the new folder would fail, so the session is reported where it would be looked for."""
    old = desired({"id": "impl", "provider": "claude"})
    moved = desired({"id": "impl", "provider": "claude", "working_directory": "sub"})
    env = {"HOME": str(tmp_path)}
    before = T.claude_transcript(env, "/ws", SID)
    before.parent.mkdir(parents=True)
    before.write_text(CLAUDE_TURN)
    captured = cond(C.SESSION_CAPTURED, C.TRUE, C.CAPTURED)
    status = AgentStatus(sessionId=SID, sessionFile=str(before), conditions=[captured])
    previous = team_status({"impl": status})

    same = observe_provider_view(old, world(), previous, env=env, spec_auto_trust=None)
    after = observe_provider_view(moved, world(), previous, env=env, spec_auto_trust=None)

    assert same.transcripts["impl"].exists
    assert after.transcripts["impl"] == TranscriptSeen(
        SID, str(T.claude_transcript(env, "/ws/sub", SID)), False
    )

"""The observe step for provider sessions: look for transcripts on disk, before planning.

Role in the loop: the engine calls `observe_provider_view` right after the tmux snapshot;
the sessions planner (`controllers.sessions.plan`) then decides from the `ProviderView` alone.
This is the only module that touches the CLIs' files.

Cost: a converged team costs nothing here (running agents whose session is captured and
whose configuration is unchanged are not looked at). An agent waiting for capture costs
one `stat` (pre-assigned ids: Claude, Copilot; Gemini lists one folder; OpenCode one
read-only query of its SQLite database); Codex agents
waiting for capture share one listing of the rollout folders of the days since the
earliest of them started, and read the head of rollouts started since then only.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Mapping
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from controllers.providers import transcripts as T
from controllers.sessions.dialogs import AUTO_TRUST_ENV
from controllers.sessions.view import ProviderView, TranscriptSeen
from controllers.team.desired import DesiredAgent, DesiredTeam
from reconciler.api import conditions as C
from reconciler.api.clock import parse_time
from reconciler.api.status import AgentStatus, TeamStatus
from reconciler.observe.world import World

HEAD_BYTES = 128 * 1024  # a rollout's first lines: session_meta (with base instructions) and ours
START_SLACK = timedelta(seconds=5)  # the CLI stamps its start a little after ours


@dataclass(frozen=True)
class _Waiting:
    """A tagged (Codex) agent whose rollout is not known yet."""

    agent: str
    tag: str
    cwd: str
    since: datetime  # local time, naive (as rollout names are)
    root: Path


def observe_provider_view(
    team: DesiredTeam,
    world: World,
    previous: TeamStatus,
    *,
    env: Mapping[str, str],
    spec_auto_trust: bool | None,
) -> ProviderView:
    """Transcripts of the agents that need looking at, and the folder-trust opt-in."""
    seen: dict[str, TranscriptSeen] = {}
    waiting: list[_Waiting] = []
    for desired in team.agents:
        support = desired.profile.sessions
        prev = previous.agents.get(desired.id)
        if support is None or desired.launch is None or prev is None:
            continue
        if _settled(desired, prev, team, world):
            continue
        agent_env = {**env, **desired.agent.env}
        cwd = desired.launch.cwd
        if support.attribution == "preassigned" and prev.sessionId:
            # Where the CLI would look from the agent's folder *now*: Claude and Gemini keep
            # transcripts per folder, so one left in a former working_directory is not
            # resumable from the new one.
            seen[desired.id] = locate(support.layout, agent_env, cwd, prev.sessionId)
        elif prev.sessionId and prev.sessionFile:
            path = prev.sessionFile
            seen[desired.id] = TranscriptSeen(prev.sessionId, path, os.path.isfile(path))
        elif support.attribution == "tagged" and support.tag and prev.startedAt:
            started = parse_time(prev.startedAt).astimezone().replace(tzinfo=None)
            root = T.codex_sessions_root(agent_env)
            waiting.append(_Waiting(desired.id, support.tag, cwd, started - START_SLACK, root))
    seen.update(find_tagged(waiting, today=datetime.now()))
    auto_trust = env.get(AUTO_TRUST_ENV) == "1" or bool(spec_auto_trust)
    return ProviderView(transcripts=seen, auto_trust=auto_trust)


def _settled(desired: DesiredAgent, prev: AgentStatus, team: DesiredTeam, world: World) -> bool:
    """Running the process the status knows, captured, configuration unchanged: skip it."""
    if not (prev.sessionFile and C.is_true(prev.conditions, C.SESSION_CAPTURED)):
        return False
    for pane in world.owned_panes(team.team_id, team.workspace_marker):
        if pane.agent == desired.id and pane.session_name == team.session and not pane.dead:
            return pane.pane_pid == prev.pid and pane.config_hash == desired.config_hash
    return False


def locate(layout: str, env: Mapping[str, str], cwd: str, session_id: str) -> TranscriptSeen:
    """Where a pre-assigned session's transcript is, and whether it exists."""
    if layout == T.CLAUDE:
        path = T.claude_transcript(env, cwd, session_id)
        if not path.is_file() and len(path.parent.name) > T.CLAUDE_MAX_DIR_NAME:
            # Long folders get a hashed suffix we may not reproduce: the id is unique anyway.
            path = next(iter(path.parent.parent.glob(f"*/{session_id}.jsonl")), path)
        if not path.is_file():
            return TranscriptSeen(session_id, str(path), False)
        talked = T.claude_has_conversation(path)  # metadata lines come before the message
        return TranscriptSeen(session_id, str(path), talked, held=not talked)
    if layout == T.GEMINI:
        folder = T.gemini_chats_dir(env, cwd)
        # Sorted, the oldest minute first: a resume in a later minute also writes a
        # metadata-only file of the same id (measured, 0.61.0); the conversation stays in
        # the first one, which Gemini's own resume picks too.
        for found in sorted(folder.glob(T.gemini_chat_glob(session_id))):
            if _first_record(found).get("sessionId") == session_id:
                return TranscriptSeen(session_id, str(found), True)
        return TranscriptSeen(session_id, str(folder / T.gemini_chat_glob(session_id)), False)
    if layout == T.COPILOT:
        path = T.copilot_events(env, session_id)
        return TranscriptSeen(session_id, str(path), path.is_file())
    if layout == T.OPENCODE:
        path = T.opencode_db(env)
        return TranscriptSeen(session_id, str(path), _opencode_has(path, session_id))
    raise ValueError(f"no pre-assigned transcript layout named {layout!r}")


def _opencode_has(db: Path, session_id: str) -> bool:
    """OpenCode's database holds the session's row: read-only, with a short lock timeout.

    A database that exists but cannot be read now (locked, mid-migration) is no evidence the
    session is gone, so it counts as holding it: a resume that then fails shows, while a
    wrong "lost" would silently start the agent over in a fresh session.
    """
    if not db.is_file():
        return False
    try:
        with closing(
            sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=0.5)
        ) as conn:
            row = conn.execute("SELECT 1 FROM session WHERE id = ?", (session_id,)).fetchone()
    except sqlite3.Error:
        return True
    return row is not None


def find_tagged(waiting: Iterable[_Waiting], *, today: datetime) -> dict[str, TranscriptSeen]:
    """The rollout each waiting Codex agent's tag is in (the newest, if it started twice)."""
    by_root: dict[Path, list[_Waiting]] = {}
    for entry in waiting:
        by_root.setdefault(entry.root, []).append(entry)
    found: dict[str, tuple[datetime, TranscriptSeen]] = {}
    for root, entries in by_root.items():
        since = min(e.since for e in entries)
        for stamp, path in _rollouts_since(root, since, today):
            head = _head(path)
            meta = _session_meta(head)
            if meta is None:
                continue
            for entry in entries:
                if stamp < entry.since or entry.tag not in head or meta[1] != entry.cwd:
                    continue
                best = found.get(entry.agent)
                if best is None or stamp > best[0]:
                    found[entry.agent] = (stamp, TranscriptSeen(meta[0], str(path), True))
    return {agent: seen for agent, (_, seen) in found.items()}


def _rollouts_since(root: Path, since: datetime, today: datetime) -> list[tuple[datetime, Path]]:
    out: list[tuple[datetime, Path]] = []
    day = since - timedelta(days=1)
    while day.date() <= today.date():
        folder = root / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}"
        try:
            names = os.listdir(folder)
        except OSError:
            names = []
        for name in names:
            stamp = T.codex_rollout_started(name)
            if stamp is not None and stamp >= since:
                out.append((stamp, folder / name))
        day += timedelta(days=1)
    return sorted(out)


def _head(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            return handle.read(HEAD_BYTES).decode("utf-8", "replace")
    except OSError:
        return ""


def _session_meta(head: str) -> tuple[str, str] | None:
    """(id, cwd) of a rollout's first line when it is a `session_meta` record."""
    first = head.split("\n", 1)[0]
    try:
        record = json.loads(first)
    except ValueError:
        return None
    if not isinstance(record, dict) or record.get("type") != "session_meta":
        return None
    payload = record.get("payload")
    if not isinstance(payload, dict):
        return None
    sid, cwd = payload.get("id"), payload.get("cwd")
    return (sid, cwd) if isinstance(sid, str) and isinstance(cwd, str) else None


def _first_record(path: Path) -> dict[str, object]:
    """The first JSONL record, or the whole document of a legacy (pretty-printed) `.json`."""
    head = _head(path)
    for text in (head.split("\n", 1)[0], head):
        try:
            record = json.loads(text)
        except ValueError:
            continue
        return record if isinstance(record, dict) else {}
    return {}

"""Provider sessions: capture each agent's session id, resume it on every restart.

Role in the loop: the agents controller asks this module, for each agent, what the
session part of a start is (`plan_start`) and what its `SessionCaptured` condition and
`sessionId`/`sessionFile` are while it runs (`plan_capture`). Both are pure: the
transcripts were observed before planning (`controllers.sessions.observe`, in the engine's
observe step) and arrive as `TranscriptSeen`; `now` is an input.

The rules, per agent:

* **Attribution** is by something the agent carries, never by newest file: a pre-assigned
  id (`--session-id`, chosen here and derived from team, workspace, agent and `now`), or
  a tag in the transcript (Codex, see `controllers.providers.codex`).
* **Capture** does not block: each pass looks (a stat, or a scan of today's rollouts),
  `Capturing` until the transcript appears (a CLI writes none before the first message),
  `CaptureTimeout` once after `session.capture_timeout_sec`, `Captured` when it is there.
* **Resume** on every start (crash, config change, lost tmux server, reboot) when a
  captured transcript still exists; never `--session-id` of an existing transcript (an id
  with no transcript may be reused), never a resume of a missing one.
* **Lost**: a captured transcript gone at a start is `SessionLost` (one event, from the
  condition's transition), then a fresh session or, with `session.on_lost: hold`, no start
  at all until the transcript is back or the policy says `fresh`: never a resume loop.
* `sessionId` and `sessionFile` live in the status, so they survive reconciler restarts
  and `tmux kill-server`.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from controllers.agents.actions import SessionStart
from controllers.providers.base import SessionSupport
from controllers.sessions.view import TranscriptSeen
from controllers.team.desired import DesiredAgent
from reconciler.api import conditions as C
from reconciler.api.events import NORMAL, WARNING, Note
from reconciler.api.status import AgentStatus, AgentStatusUpdate

CAPTURE_POLL_SEC = 2.0

SessionCondition = tuple[C.ConditionStatus, str, str]  # status, reason, message


@dataclass(frozen=True)
class StartPlan:
    """The session part of one start: argv to launch, or hold (no start at all)."""

    start: SessionStart | None = None  # None: the launch configuration's argv as is
    hold: bool = False
    fields: AgentStatusUpdate = field(default_factory=AgentStatusUpdate)  # sessionId, sessionFile
    condition: SessionCondition | None = None


@dataclass(frozen=True)
class CapturePlan:
    """A running agent's session status this pass."""

    fields: AgentStatusUpdate = field(default_factory=AgentStatusUpdate)
    condition: SessionCondition | None = None
    requeue: float | None = None


def new_session_id(
    team_id: str, workspace: str, agent_id: str, *, now: datetime, previous: str | None
) -> str:
    """A fresh UUID (version-4 form) derived from the plan's inputs: pure and unique.

    `now` carries microseconds and the previous id is mixed in, so two starts never get
    the same id; no randomness keeps the plan reproducible from its inputs.
    """
    seed = f"{team_id}\0{workspace}\0{agent_id}\0{now.isoformat()}\0{previous or ''}"
    digest = hashlib.sha256(seed.encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def plan_start(
    desired: DesiredAgent,
    prev: AgentStatus,
    seen: TranscriptSeen | None,
    *,
    now: datetime,
    team_id: str,
    workspace: str,
) -> StartPlan:
    """Fresh, pre-assigned, resumed or held: the session part of starting `desired` now."""
    support = desired.profile.sessions
    launch = desired.launch
    if support is None or launch is None:
        return _unsupported(desired)
    sid, path = prev.sessionId, prev.sessionFile
    if sid and path:
        if seen is None or seen.exists:
            return _resume(support.resume_argv(sid), sid, seen.path if seen else path)
        return _lost(desired, support, sid, seen, now=now, team_id=team_id, workspace=workspace)
    if (
        seen is not None
        and seen.exists
        and (support.attribution == "tagged" or seen.session_id == sid)
    ):
        # Its first message reached the transcript, but no pass saw it before this start.
        return _resume(support.resume_argv(seen.session_id), seen.session_id, seen.path)
    if support.attribution == "tagged":
        waiting: SessionCondition = (
            C.UNKNOWN,
            C.CAPTURING,
            "no rollout yet: Codex writes it at the first message",
        )
        return StartPlan(
            fields={"sessionId": None, "sessionFile": None},
            condition=_unless_lost(prev, waiting),
        )
    # An id whose transcript never appeared can be used again (nothing to lose or clash with);
    # one the CLI holds without a conversation in it can be neither resumed nor reused.
    held = seen is not None and seen.held and seen.session_id == sid
    new_id = (None if held else sid) or support.id_prefix + new_session_id(
        team_id, workspace, desired.id, now=now, previous=sid
    )
    pending: SessionCondition = (
        C.UNKNOWN,
        C.CAPTURING,
        f"session {new_id}: no transcript until the first message",
    )
    return StartPlan(
        start=_fresh(support, launch.argv, new_id, now),
        fields={"sessionId": new_id, "sessionFile": None},
        condition=_unless_lost(prev, pending),
    )


def _lost(
    desired: DesiredAgent,
    support: SessionSupport,
    sid: str,
    seen: TranscriptSeen,
    *,
    now: datetime,
    team_id: str,
    workspace: str,
) -> StartPlan:
    """The captured transcript is gone: hold, or start a fresh session (`session.on_lost`)."""
    assert desired.launch is not None
    gone = f"no transcript of session {sid} where it would be resumed ({seen.path})"
    if desired.agent.session.on_lost == "hold":
        message = (
            f"{gone}; session.on_lost is hold: restore it, or set on_lost: fresh to "
            "start a new session"
        )
        return StartPlan(hold=True, condition=(C.FALSE, C.SESSION_LOST, message))
    fresh_id = None
    if support.attribution == "preassigned":
        fresh_id = support.id_prefix + new_session_id(
            team_id, workspace, desired.id, now=now, previous=sid
        )
    message = f"{gone}; started a fresh session"
    return StartPlan(
        start=_fresh(support, desired.launch.argv, fresh_id, now),
        fields={"sessionId": fresh_id, "sessionFile": None},
        condition=(C.FALSE, C.SESSION_LOST, message),
    )


def plan_capture(
    desired: DesiredAgent,
    prev: AgentStatus,
    seen: TranscriptSeen | None,
    *,
    now: datetime,
    started_at: datetime | None,
) -> CapturePlan:
    """`Captured`, still `Capturing`, or `CaptureTimeout` for a running agent."""
    support = desired.profile.sessions
    if support is None:
        unsupported = _unsupported(desired)
        return CapturePlan(condition=unsupported.condition)
    if (
        seen is not None
        and seen.exists
        and (support.attribution == "tagged" or seen.session_id == prev.sessionId)
    ):
        message = f"session {seen.session_id} ({seen.path})"
        return CapturePlan(
            fields={"sessionId": seen.session_id, "sessionFile": seen.path},
            condition=(C.TRUE, C.CAPTURED, message),
        )
    if prev.sessionFile and C.is_true(prev.conditions, C.SESSION_CAPTURED):
        return CapturePlan()  # captured before; running on (not looked at, or rewritten later)
    timeout = desired.agent.session.capture_timeout_sec
    waited = (now - started_at).total_seconds() if started_at is not None else 0.0
    what = f"session {prev.sessionId}" if prev.sessionId else "the session"
    if waited >= timeout:
        timed_out: SessionCondition = (
            C.FALSE,
            C.CAPTURE_TIMEOUT,
            f"no transcript of {what} {timeout:g}s after the start (a CLI writes it at the "
            "first message); still looking at each resync",
        )
        return CapturePlan(condition=_unless_lost(prev, timed_out))
    waiting: SessionCondition = (
        C.UNKNOWN,
        C.CAPTURING,
        f"no transcript of {what} yet: it appears at the first message",
    )
    return CapturePlan(
        condition=_unless_lost(prev, waiting),
        requeue=min(CAPTURE_POLL_SEC, timeout - waited),
    )


def session_notes(
    previous: Mapping[str, AgentStatus], agents: Mapping[str, AgentStatus]
) -> list[Note]:
    """One event per transition (captured, timed out, lost, awaiting input), never per pass."""
    notes: list[Note] = []
    for name, status in sorted(agents.items()):
        before = previous.get(name)
        old_cond = C.find_condition(before.conditions, C.SESSION_CAPTURED) if before else None
        new_cond = C.find_condition(status.conditions, C.SESSION_CAPTURED)
        resource = f"agent/{name}"
        if new_cond is not None and (
            old_cond is None
            or old_cond.reason != new_cond.reason
            or (
                new_cond.reason == C.CAPTURED
                and before is not None
                and before.sessionId != status.sessionId
            )
        ):
            if new_cond.reason == C.CAPTURED:
                notes.append(Note(NORMAL, "SessionCaptured", resource, new_cond.message))
            elif new_cond.reason in (C.CAPTURE_TIMEOUT, C.SESSION_LOST):
                notes.append(Note(WARNING, new_cond.reason, resource, new_cond.message))
        old_ready = C.find_condition(before.conditions, C.READY) if before else None
        new_ready = C.find_condition(status.conditions, C.READY)
        if (
            new_ready is not None
            and new_ready.reason == C.AWAITING_INPUT
            and (old_ready is None or old_ready.reason != C.AWAITING_INPUT)
        ):
            notes.append(Note(WARNING, C.AWAITING_INPUT, resource, new_ready.message))
    return notes


def _fresh(
    support: SessionSupport, argv: tuple[str, ...], sid: str | None, now: datetime
) -> SessionStart:
    """A new session: its argv, and the command that creates it first when the CLI has one."""
    prepare, text = support.fresh_prepare(sid, int(now.timestamp() * 1000))
    return SessionStart("new", sid, support.fresh_argv(argv, sid), prepare, text)


def _resume(argv: tuple[str, ...], sid: str, path: str) -> StartPlan:
    return StartPlan(
        start=SessionStart("resume", sid, argv),
        fields={"sessionId": sid, "sessionFile": path},
        condition=(C.TRUE, C.CAPTURED, f"session {sid} ({path}); resumed at this start"),
    )


def _unsupported(desired: DesiredAgent) -> StartPlan:
    reason = desired.profile.sessions_unsupported
    return StartPlan(condition=(C.FALSE, C.NOT_SUPPORTED, reason) if reason else None)


def _reason(prev: AgentStatus) -> str | None:
    found = C.find_condition(prev.conditions, C.SESSION_CAPTURED)
    return found.reason if found is not None else None


def _unless_lost(prev: AgentStatus, condition: SessionCondition) -> SessionCondition | None:
    """A lost session stays reported as lost until its successor is captured."""
    return None if _reason(prev) == C.SESSION_LOST else condition

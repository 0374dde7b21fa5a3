"""Live agents: readiness, first-run dialogs and session capture of a running process."""

from __future__ import annotations

import re

from controllers.agents.status import StatusBuilder
from controllers.messages.screen import find_box
from controllers.providers.base import InputProfile
from controllers.providers.inputs import input_profile
from controllers.team.desired import DesiredAgent
from reconciler.api import conditions as C
from reconciler.api import patterns
from reconciler.api.clock import format_time, parse_time
from reconciler.api.patterns import PatternTooSlow
from reconciler.observe.screens import Screen
from reconciler.observe.world import Pane

READINESS_POLL_SEC = 0.25


def plan_readiness(
    desired: DesiredAgent,
    pane: Pane,
    b: StatusBuilder,
    *,
    screen: Screen | None,
    same_process: bool,
    started_at: str | None,
) -> float | None:
    """Set `Ready` for a live agent; return seconds until readiness should be looked at.

    Ready means the agent takes input: the readiness pattern (the spec's, or the
    provider's) is on screen, or, for a CLI with an input profile and no pattern, its
    input box is where the cursor is. It is level-triggered: every pass that read the
    screen (`screen`, captured when the pane showed output since the last look or the
    agent is not Ready yet) decides afresh; a pass that did not read it keeps what the
    last one saw for the same process. A dialog or an approval prompt on screen is decided
    before this (`AwaitingInput`, `AwaitingApproval`).
    """
    launch = desired.launch
    pattern = launch.readiness_pattern if launch is not None else None
    profile = input_profile(desired.agent.provider) if pattern is None else None
    if pattern is None and profile is None:
        b.set(C.READY, C.TRUE, C.RUNNING)
        return None
    was_ready = same_process and C.is_true(b.previous.conditions, C.READY)
    if screen is None and was_ready:
        b.set(C.READY, C.TRUE, C.RUNNING)
        return None
    shot = screen if screen is not None else Screen("")
    if pattern is not None:
        try:
            seen = patterns.search(pattern, shot.joined)
        except PatternTooSlow as err:
            b.set(C.READY, C.FALSE, C.PATTERN_TOO_SLOW, f"readiness: {err}")
            return None
        waiting_for = f"readiness pattern {pattern!r}"
    else:
        assert profile is not None
        seen = find_box(profile, shot) is not None and not _startup_flash(profile, shot)
        waiting_for = f"{desired.agent.provider}'s input box"
    if was_ready:
        # Once Ready, a screen without the box (a redraw, a long answer) is still Ready:
        # only a dialog or an approval prompt, decided before this, takes it back.
        b.set(C.READY, C.TRUE, C.RUNNING)
        return None
    if seen:
        settle = _settle_left(profile, b, same_process=same_process)
        if settle <= 0:
            b.set(C.READY, C.TRUE, C.RUNNING)
            return None
        b.set(C.READY, C.FALSE, C.STARTING, f"{waiting_for} is up; settling for a dialog")
        return settle
    return _not_seen(desired, b, waiting_for=waiting_for, started_at=started_at)


def _not_seen(
    desired: DesiredAgent, b: StatusBuilder, *, waiting_for: str, started_at: str | None
) -> float | None:
    """Not ready yet: look again soon, until the readiness timeout says it never will be."""
    b.status["inputSeenAt"] = None
    timeout = desired.agent.readiness.timeout_sec if desired.agent.readiness else 60.0
    waited = (b.now - parse_time(started_at)).total_seconds() if started_at else 0.0
    if waited > timeout:
        b.set(C.READY, C.FALSE, C.READINESS_TIMEOUT, f"{waiting_for} not seen after {timeout:g}s")
        return None
    b.set(C.READY, C.FALSE, C.STARTING, f"waiting for {waiting_for}")
    return READINESS_POLL_SEC


def _startup_flash(profile: InputProfile, screen: Screen) -> bool:
    """The CLI's box before it is ready (`InputProfile.startup_flash`)."""
    return (
        profile.startup_flash is not None
        and re.match(profile.startup_flash, screen.text) is not None
    )


def _settle_left(profile: InputProfile | None, b: StatusBuilder, *, same_process: bool) -> float:
    """Seconds the input box must still stay before this process may be Ready.

    Some CLIs draw their prompt and, a moment later, a first-run dialog over it (Gemini
    after about 0.25 s, Codex within 2 s; measured, docs/providers.md). Declaring Ready
    during that flash would let a message be pasted into the dialog, so the first Ready of
    a process waits until the box has been on screen for the CLI's `settle_sec`; the
    moment it was first seen is kept in the status (`inputSeenAt`), and a screen without
    the box starts the wait again.
    """
    if profile is None or profile.settle_sec <= 0:
        return 0.0
    seen_at = b.previous.inputSeenAt if same_process else None
    if seen_at is None:
        b.status["inputSeenAt"] = format_time(b.now)
        return profile.settle_sec
    return profile.settle_sec - (b.now - parse_time(seen_at)).total_seconds()

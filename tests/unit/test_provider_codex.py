# ruff: noqa: RUF001, RUF003  (the real CLI draws these glyphs)
"""Codex's adapter against the screens of the real CLI (@openai/codex 0.171.0).

Every recogniser is run on every captured fixture (`tests/fixtures/screens/codex/`), with
the cursor where the real CLI left it and the pane title it set (the fixture's JSON
`title`: Codex's only busy sign while a reply streams). Plus the permission-mode mapping
(checked against the real binary's flag parser when it is installed) and the session
arguments (`codex resume <id>` with the same options).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import NamedTuple

import pytest

from controllers.messages.screen import (
    InputState,
    find_approval,
    find_box,
    input_state,
    is_busy,
    shows_message,
    typed_input,
)
from controllers.providers.codex import (
    CODEX_DIALOGS,
    CODEX_INPUT,
    CODEX_READINESS,
    MEASURED_VERSION,
    PERMISSION_FLAGS,
    CodexProvider,
    session_tag,
)
from controllers.sessions.dialogs import dialog_path, find_dialog
from reconciler.api import patterns
from reconciler.api.launch import LaunchContext
from reconciler.api.spec import PERMISSION_MODES, Agent
from reconciler.observe.screens import Screen, parse_capture
from tests.realcli import capture

PROFILE = CODEX_INPUT
SID = "01a24f0b-1825-7a30-adad-76dcb5a642c4"
PASTE = "\n".join(
    f"line {i:03d}: lorem ipsum dolor sit amet, consectetur adipiscing elit sed do"
    for i in range(300)
)


def shot(state: str, *, title: bool = True) -> Screen:
    """The fixture as team-agent captures it: rows, cursor and the pane title."""
    found = capture.load("codex", state, MEASURED_VERSION)
    meta = json.loads((capture.FIXTURES / "codex" / MEASURED_VERSION / f"{state}.json").read_text())
    return Screen(
        found.text, found.cursor_x, found.cursor_y, title=meta.get("title") if title else None
    )


def ready(screen: Screen) -> bool:
    """What agent_live decides with the provider's readiness pattern (no dialog first)."""
    return patterns.search(CODEX_READINESS, screen.joined)


class StateCase(NamedTuple):
    state: str
    input: InputState  # input_state(profile, screen) before anything was pasted
    typed: str | None  # what the box holds; None: no box
    ready: bool  # the readiness pattern (the configured layout) is on screen
    busy: bool
    dialog: str | None = None  # the dialog find_dialog names
    approval: str | None = None  # the tool find_approval names


STATE_CASES = [
    StateCase("idle", InputState.EMPTY, "", ready=True, busy=False),
    StateCase("typed", InputState.OTHER, "hello codex", ready=True, busy=False),
    # Echoed user turns (`› hello codex`) above the box are not the box.
    StateCase("replied", InputState.EMPTY, "", ready=True, busy=False),
    StateCase("replied3", InputState.EMPTY, "", ready=True, busy=False),
    # A 300-line paste collapses into the placeholder (over 1000 characters).
    StateCase(
        "typed_multiline", InputState.OTHER, "[Pasted Content 21899 chars]", ready=True, busy=False
    ),
    # `• Working (0s • esc to interrupt)` before the first token, and the title spinner.
    StateCase("busy", InputState.BUSY, "", ready=True, busy=True),
    # Mid-stream the screen looks idle: only the title's spinner says busy.
    StateCase("busy_streaming", InputState.BUSY, "", ready=True, busy=True),
    # Typed while streaming (`tab to queue message` under the box): Enter would interrupt.
    StateCase("busy_typed", InputState.BUSY, "queued text", ready=True, busy=True),
    StateCase(
        "approval",
        InputState.BUSY,
        None,  # not checked: the nearest `› ` row is an echoed turn far above the menu
        ready=False,
        busy=False,
        approval="exec_command",
    ),
    StateCase("after_approval", InputState.EMPTY, "", ready=True, busy=False),
    # Final error lines (`■ ...`) leave an idle box.
    StateCase("error_429", InputState.EMPTY, "", ready=True, busy=False),
    StateCase("error_500", InputState.EMPTY, "", ready=True, busy=False),
    StateCase("error_529", InputState.EMPTY, "", ready=True, busy=False),
    # `◦ Reconnecting... 1/5 (3s • esc to interrupt)`: still working.
    StateCase("error_500_retrying", InputState.BUSY, "", ready=True, busy=True),
    StateCase("resumed", InputState.EMPTY, "", ready=True, busy=False),
    StateCase("exited", InputState.NO_PROMPT, None, ready=False, busy=False),
    # The early box, drawn before the session is configured and before the trust dialog.
    StateCase("trust_preflash", InputState.EMPTY, "", ready=False, busy=False),
    # `› 1. Trust and continue` is a menu row, not the box.
    StateCase("trust", InputState.NO_PROMPT, None, ready=False, busy=False, dialog="folder trust"),
    StateCase("after_trust", InputState.EMPTY, "", ready=True, busy=False),
    StateCase("idle_untrusted", InputState.EMPTY, "", ready=True, busy=False),
    StateCase("login", InputState.NO_PROMPT, None, ready=False, busy=False, dialog="login"),
    StateCase(
        "resume_elsewhere",
        InputState.NO_PROMPT,
        None,
        ready=False,
        busy=False,
        dialog="resume working directory",
    ),
]
OPTIONAL = {"starting"}  # saved only when the capture caught the early box


@pytest.mark.parametrize("case", STATE_CASES, ids=[c.state for c in STATE_CASES])
def test_every_fixture_state(case: StateCase) -> None:
    screen = shot(case.state)
    assert input_state(PROFILE, screen) is case.input
    assert is_busy(PROFILE, screen) is case.busy
    assert ready(screen) is case.ready
    found = find_dialog(CODEX_DIALOGS, screen, CODEX_READINESS, PROFILE)
    assert (found.name if found else None) == case.dialog
    approval = find_approval(PROFILE, screen)
    assert (approval.tool if approval else None) == case.approval
    if case.approval is None:
        assert typed_input(PROFILE, screen) == case.typed


def test_every_fixture_has_a_case() -> None:
    covered = {c.state for c in STATE_CASES} | OPTIONAL
    assert set(capture.states("codex", MEASURED_VERSION)) <= covered
    assert {c.state for c in STATE_CASES} <= set(capture.states("codex", MEASURED_VERSION))


def test_the_box_is_the_cursor_row_not_an_echoed_turn() -> None:
    screen = shot("replied")
    box = find_box(PROFILE, screen)
    assert box is not None and box.row == screen.cursor_y
    assert "› hello codex" in screen.text  # the echo is there, above


def test_the_early_box_is_not_ready_yet() -> None:
    """Drawn ~0.5 s before the session is configured (and before a trust dialog): Ready
    waits for the status line under the box."""
    for state in ["trust_preflash", *(s for s in OPTIONAL if s in capture.states("codex"))]:
        screen = shot(state)
        assert find_box(PROFILE, screen) is not None, state
        assert not ready(screen), state


def test_mid_stream_is_busy_only_by_the_title() -> None:
    """Without the title the streaming screen looks idle: the title is what defers."""
    assert shot("busy_streaming").title is not None
    assert re.match(r"^[\u2800-\u28ff] ", shot("busy_streaming").title or "")
    assert input_state(PROFILE, shot("busy_streaming", title=False)) is InputState.EMPTY
    for idle in ("idle", "replied", "after_approval", "resumed"):
        assert not is_busy(PROFILE, shot(idle)), idle


def test_a_paste_is_ours_by_its_placeholder_only_after_we_pasted() -> None:
    screen = shot("typed_multiline")
    assert shows_message(PROFILE, screen, PASTE)
    assert input_state(PROFILE, screen, PASTE, pasted=True) is InputState.OURS
    assert input_state(PROFILE, screen, PASTE) is InputState.OTHER
    typed = shot("typed")
    assert shows_message(PROFILE, typed, "hello codex")
    assert input_state(PROFILE, typed, "hello codex") is InputState.OURS


def test_the_approval_names_exec_command_and_y_allows_once() -> None:
    screen = shot("approval")
    seen = find_approval(PROFILE, screen)
    assert seen is not None
    assert (seen.tool, seen.keys) == ("exec_command", ("y",))
    assert "$ touch approval-probe" in seen.prompt
    assert "› 1. Yes, proceed (y)" in seen.prompt
    # Answered: the live box lies below what is left of it.
    assert find_approval(PROFILE, shot("after_approval")) is None


def test_the_trust_dialog_shows_the_workspace_and_enter_takes_trust() -> None:
    screen = shot("trust")
    (dialog,) = [d for d in CODEX_DIALOGS if d.trust]
    assert dialog_path(dialog, screen.text) == capture.WS_PLACEHOLDER
    assert dialog.accept_when is not None and re.search(dialog.accept_when, screen.text, re.M)
    assert dialog.accept_keys == ("Enter",)
    # Once answered, the configured layout follows it: no longer current.
    assert find_dialog(CODEX_DIALOGS, shot("after_trust"), CODEX_READINESS, PROFILE) is None


def test_the_title_is_captured_with_the_cursor() -> None:
    out = "a\nb\n\x1eteam-agent:cursor\x1e2 46 ⠋ Mock: slow one | ws\n"
    screen, _ = parse_capture(out)
    assert (screen.cursor_x, screen.cursor_y, screen.title) == (2, 46, "⠋ Mock: slow one | ws")
    assert is_busy(PROFILE, screen)
    bare, _ = parse_capture("a\n\x1eteam-agent:cursor\x1e2 46\n")
    assert (bare.cursor_y, bare.title) == (46, None)


# --- launch ------------------------------------------------------------------------------

CTX = LaunchContext(team_id="t", workspace=Path("/ws"), python="python3")


def agent(**fields: object) -> Agent:
    return Agent.model_validate({"id": "w", "provider": "codex", **fields})


def test_every_permission_mode_maps_to_flags() -> None:
    assert set(PERMISSION_FLAGS) == set(PERMISSION_MODES["codex"])


class ModeCase(NamedTuple):
    mode: str
    flags: tuple[str, ...]


MODE_CASES = [
    ModeCase("restricted", ("--sandbox", "read-only", "--ask-for-approval", "on-request")),
    ModeCase("ask", ("--ask-for-approval", "on-request")),
    ModeCase("trusted", ("--dangerously-bypass-approvals-and-sandbox",)),
    ModeCase("on-request", ("--ask-for-approval", "on-request")),
    ModeCase("never", ("--ask-for-approval", "never")),
    ModeCase(
        "dangerously-bypass-approvals-and-sandbox", ("--dangerously-bypass-approvals-and-sandbox",)
    ),
]


@pytest.mark.parametrize("case", MODE_CASES, ids=[c.mode for c in MODE_CASES])
def test_permission_mode_argv(case: ModeCase) -> None:
    argv = CodexProvider().launch(agent(permission_mode=case.mode), CTX).argv
    assert argv[:2] == ("codex", "--no-daemon")
    assert argv[2 : 2 + len(case.flags)] == case.flags


def test_resume_goes_right_after_the_command_and_drops_the_prompt() -> None:
    spec = agent(initial_prompt="go", model="m")
    provider = CodexProvider()
    launch = provider.launch(spec, CTX)
    assert launch.argv[-1] == "go"
    assert launch.readiness_pattern == CODEX_READINESS
    sessions = provider.profile(spec, CTX, launch).sessions
    assert sessions is not None and sessions.attribution == "tagged"
    resumed = sessions.resume_argv(SID)
    assert resumed[:3] == ("codex", "resume", SID)
    assert "go" not in resumed
    assert resumed[3:] == launch.argv[1:-1]
    assert sessions.tag == session_tag("t", "/ws", "w")
    assert any(sessions.tag in part for part in launch.argv)

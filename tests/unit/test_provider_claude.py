# ruff: noqa: RUF001, RUF003  (the real CLI draws these glyphs)
"""Claude Code's adapter against the screens of the real CLI (@anthropic-ai/claude-code 2.1.197).

Every recogniser is run on every captured fixture (`tests/fixtures/screens/claude/`), with
the cursor where the real CLI left it. Plus the permission-mode mapping (each mapped argv
run through the real binary when it is installed) and the session arguments
(`--session-id <uuid>` fresh, `--resume <id>` with the same options after a restart).
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
from controllers.providers import transcripts
from controllers.providers.claude import (
    BOX,
    CLAUDE_DIALOGS,
    CLAUDE_INPUT,
    MEASURED_VERSION,
    PERMISSION_FLAGS,
    ClaudeProvider,
    permission_flags,
)
from controllers.sessions.dialogs import dialog_path, find_dialog
from controllers.sessions.observe import locate
from controllers.sessions.plan import plan_start
from controllers.sessions.view import TranscriptSeen
from reconciler.api.launch import LaunchContext
from reconciler.api.spec import PERMISSION_MODES, Agent
from reconciler.api.status import AgentStatus
from reconciler.observe.screens import Screen
from tests.realcli import capture
from tests.unit.builders import NOW, desired

PROFILE = CLAUDE_INPUT
SID = "5e55104d-c1a0-4de0-8000-00000000c1a0"
PASTE = "\n".join(
    f"line {i:03d}: lorem ipsum dolor sit amet, consectetur adipiscing elit sed do"
    for i in range(300)
)


def shot(state: str) -> Screen:
    """The fixture as team-agent captures it: rows and cursor."""
    found = capture.load("claude", state, MEASURED_VERSION)
    return Screen(found.text, found.cursor_x, found.cursor_y)


def ready(screen: Screen) -> bool:
    """What agent_live decides for Claude (no readiness pattern): the box at the cursor,
    once no dialog is current."""
    no_dialog = find_dialog(CLAUDE_DIALOGS, screen, None, PROFILE) is None
    return no_dialog and find_box(PROFILE, screen) is not None


class StateCase(NamedTuple):
    state: str
    input: InputState  # input_state(profile, screen) before anything was pasted
    typed: str | None  # what the box holds; None: no box
    busy: bool
    dialog: str | None = None  # the dialog find_dialog names
    approval: str | None = None  # the tool find_approval names

    @property
    def ready(self) -> bool:
        return self.typed is not None and self.dialog is None


STATE_CASES = [
    StateCase("idle", InputState.EMPTY, "", busy=False),
    StateCase("typed", InputState.OTHER, "hello claude", busy=False),
    # Echoed user turns (`❯ hello claude`, a plain space) above the box are not the box.
    StateCase("replied", InputState.EMPTY, "", busy=False),
    StateCase("replied3", InputState.EMPTY, "", busy=False),
    StateCase("resumed", InputState.EMPTY, "", busy=False),
    StateCase("after_approval", InputState.EMPTY, "", busy=False),
    StateCase("after_trust", InputState.EMPTY, "", busy=False),
    # A 300-line paste collapses into the placeholder; ours only once we pasted it.
    StateCase("typed_multiline", InputState.OTHER, "[Pasted text #1 +299 lines]", busy=False),
    # The footer keeps `paste again to expand` after the paste was sent: idle all the same.
    StateCase("replied_after_paste", InputState.EMPTY, "", busy=False),
    # The spinner line `✻ Fluttering… (3s · ↓ 41 tokens)` and `esc to interrupt`.
    StateCase("busy", InputState.BUSY, "", busy=True),
    # The turn after a paste: the spinner line only (the footer says `paste again to expand`).
    StateCase("busy_after_paste", InputState.BUSY, "", busy=True),
    # Typed while a reply streams: Claude would queue it; team-agent waits instead.
    StateCase("busy_typed", InputState.BUSY, "queued text", busy=True),
    # Queued: `Press up to edit queued messages` in the box, the cursor before it.
    StateCase("busy_queued", InputState.BUSY, "", busy=True),
    StateCase("approval", InputState.BUSY, None, busy=False, approval="Bash"),
    # Retrying: `✻ API error · Retrying in 1s · attempt 1/2` (the last names the error).
    StateCase("error_529_retrying", InputState.BUSY, "", busy=True),
    StateCase("error_529_retrying_last", InputState.BUSY, "", busy=True),
    # Given up: a `● API Error: …` line in the transcript, then the idle box.
    StateCase("error_429", InputState.EMPTY, "", busy=False),
    StateCase("error_529", InputState.EMPTY, "", busy=False),
    StateCase("error_500", InputState.EMPTY, "", busy=False),
    # After /exit: the resume hint, the box (`❯ /exit`) above the command menu, no cursor
    # in it (the pane is dead).
    StateCase("exited", InputState.NO_PROMPT, None, busy=False),
    StateCase("trust", InputState.NO_PROMPT, None, busy=False, dialog="folder trust"),
    StateCase("trust_nogit", InputState.NO_PROMPT, None, busy=False, dialog="folder trust"),
    StateCase(
        "firstrun_theme", InputState.NO_PROMPT, None, busy=False, dialog="theme (first-run setup)"
    ),
    StateCase(
        "firstrun_security",
        InputState.NO_PROMPT,
        None,
        busy=False,
        dialog="security notes (first-run setup)",
    ),
    StateCase("firstrun_api_key", InputState.NO_PROMPT, None, busy=False, dialog="custom API key"),
    StateCase(
        "firstrun_bypass",
        InputState.NO_PROMPT,
        None,
        busy=False,
        dialog="bypass-permissions warning",
    ),
    # Onboarding with an unapproved key and no network: Claude exits 1 (a crash, not a
    # dialog: nothing could be answered).
    StateCase("firstrun_offline", InputState.NO_PROMPT, None, busy=False),
]


@pytest.mark.parametrize("case", STATE_CASES, ids=[c.state for c in STATE_CASES])
def test_every_fixture_state(case: StateCase) -> None:
    screen = shot(case.state)
    assert input_state(PROFILE, screen) is case.input
    assert is_busy(PROFILE, screen) is case.busy
    assert ready(screen) is case.ready
    found = find_dialog(CLAUDE_DIALOGS, screen, None, PROFILE)
    assert (found.name if found else None) == case.dialog
    approval = find_approval(PROFILE, screen)
    assert (approval.tool if approval else None) == case.approval
    assert typed_input(PROFILE, screen) == case.typed


def test_every_fixture_has_a_case() -> None:
    assert {c.state for c in STATE_CASES} == set(capture.states("claude", MEASURED_VERSION))


def test_the_box_is_the_cursor_row_not_an_echoed_turn() -> None:
    screen = shot("replied")
    box = find_box(PROFILE, screen)
    assert box is not None and box.row == screen.cursor_y
    assert screen.rows[box.row].startswith(BOX)
    assert "❯ hello claude" in screen.text  # the echo is there, above, with a plain space


def test_busy_is_the_spinner_line_not_only_esc_to_interrupt() -> None:
    """After a paste the footer says `paste again to expand` through the next turn: the
    spinner line (`… (Ns`) is what says busy; the done line (`✻ Cooked for 6s`) is not."""
    streaming = shot("busy_after_paste")
    assert "esc to interrupt" not in streaming.text
    assert "paste again to expand" in streaming.text
    assert re.search(r"^[·✢✳✶✻✽*] \S+… \(\d+s", streaming.text, re.M)  # `Topsy-turvying…`
    assert is_busy(PROFILE, streaming)
    done = shot("replied_after_paste")
    assert "paste again to expand" in done.text and re.search(r"^✻ \w+ for \d+s", done.text, re.M)
    assert not is_busy(PROFILE, done)


def test_a_paste_is_ours_by_its_placeholder_only_after_we_pasted() -> None:
    screen = shot("typed_multiline")
    assert shows_message(PROFILE, screen, PASTE)
    assert input_state(PROFILE, screen, PASTE, pasted=True) is InputState.OURS
    assert input_state(PROFILE, screen, PASTE) is InputState.OTHER
    typed = shot("typed")
    assert shows_message(PROFILE, typed, "hello claude")
    assert input_state(PROFILE, typed, "hello claude") is InputState.OURS


def test_the_approval_names_bash_and_1_allows_once() -> None:
    """`1` picks "1. Yes" and confirms at once (measured: the command ran 0.1 s later)."""
    seen = find_approval(PROFILE, shot("approval"))
    assert seen is not None
    assert (seen.tool, seen.keys) == ("Bash", ("1",))
    assert "touch approval-probe" in seen.prompt
    assert "❯ 1. Yes" in seen.prompt
    assert find_box(PROFILE, shot("approval")) is None  # no box while it shows
    assert find_approval(PROFILE, shot("after_approval")) is None


@pytest.mark.parametrize("state", ["trust", "trust_nogit"])
def test_the_trust_dialog_shows_the_workspace_and_enter_takes_trust(state: str) -> None:
    screen = shot(state)
    (dialog,) = [d for d in CLAUDE_DIALOGS if d.trust]
    assert dialog_path(dialog, screen.text) == capture.WS_PLACEHOLDER
    assert dialog.accept_when is not None and re.search(dialog.accept_when, screen.text, re.M)
    assert dialog.accept_keys == ("Enter",)
    assert BOX not in screen.text  # drawn before the box, never after it
    assert find_dialog(CLAUDE_DIALOGS, shot("after_trust"), None, PROFILE) is None


def test_only_the_trust_dialog_may_be_answered() -> None:
    assert [d.name for d in CLAUDE_DIALOGS if d.trust or d.accept_keys] == ["folder trust"]


# --- launch ------------------------------------------------------------------------------

CTX = LaunchContext(team_id="t", workspace=Path("/ws"), python="python3")


def agent(**fields: object) -> Agent:
    return Agent.model_validate({"id": "w", "provider": "claude", **fields})


def test_every_permission_mode_maps_to_flags() -> None:
    assert set(PERMISSION_FLAGS) == set(PERMISSION_MODES["claude"])


class ModeCase(NamedTuple):
    mode: str
    flags: tuple[str, ...]
    bypass: bool = False  # refused by Claude as root without IS_SANDBOX=1


MODE_CASES = [
    ModeCase("restricted", ("--permission-mode", "plan")),
    ModeCase("ask", ("--permission-mode", "default")),
    ModeCase("trusted", ("--permission-mode", "bypassPermissions"), bypass=True),
    ModeCase("acceptEdits", ("--permission-mode", "acceptEdits")),
    ModeCase("auto", ("--permission-mode", "auto")),
    ModeCase("bypassPermissions", ("--permission-mode", "bypassPermissions"), bypass=True),
    ModeCase("default", ("--permission-mode", "default")),
    ModeCase("dontAsk", ("--permission-mode", "dontAsk")),
    ModeCase("plan", ("--permission-mode", "plan")),
    ModeCase("dangerously-skip-permissions", ("--dangerously-skip-permissions",), bypass=True),
]
SANDBOX = {"IS_SANDBOX": "1"}


def test_the_mode_cases_cover_every_mode() -> None:
    assert [c.mode for c in MODE_CASES] == list(PERMISSION_MODES["claude"])


@pytest.mark.parametrize("case", MODE_CASES, ids=[c.mode for c in MODE_CASES])
def test_permission_mode_argv(case: ModeCase) -> None:
    env = SANDBOX if case.bypass else {}
    argv = ClaudeProvider().launch(agent(permission_mode=case.mode, env=env), CTX).argv
    assert argv[0] == "claude"
    assert argv[1 : 1 + len(case.flags)] == case.flags


@pytest.mark.parametrize("case", [c for c in MODE_CASES if c.bypass], ids=lambda c: c.mode)
def test_a_bypass_mode_as_root_needs_is_sandbox(case: ModeCase) -> None:
    """Claude itself exits 1 at once for these as root: refused at launch instead (a
    located `LaunchInvalid`, not a restart loop)."""
    with pytest.raises(ValueError, match="IS_SANDBOX=1"):
        permission_flags(case.mode, {}, euid=0)
    assert permission_flags(case.mode, SANDBOX, euid=0) == case.flags
    assert permission_flags(case.mode, {}, euid=1000) == case.flags


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="not one of"):
        permission_flags("yolo")


def test_fresh_and_resumed_argv() -> None:
    spec = agent(initial_prompt="go", model="m", system_prompt="be brief")
    provider = ClaudeProvider()
    launch = provider.launch(spec, CTX)
    assert launch.argv == ("claude", "go", "--model", "m", "--append-system-prompt", "be brief")
    assert launch.readiness_pattern is None  # the box is readiness
    sessions = provider.profile(spec, CTX, launch).sessions
    assert sessions is not None and sessions.attribution == "preassigned"
    assert sessions.fresh_argv(launch.argv, SID)[:3] == ("claude", "--session-id", SID)
    resumed = sessions.resume_argv(SID)
    assert resumed == (
        "claude",
        "--resume",
        SID,
        "--model",
        "m",
        "--append-system-prompt",
        "be brief",
    )


# --- sessions: a transcript Claude holds without a conversation ---------------------------


def test_a_transcript_without_a_message_is_held_and_the_restart_takes_a_new_id(
    tmp_path: Path,
) -> None:
    """Killed within ~0.3 s of its first Enter, Claude leaves `ai-title`, `mode` and
    `permission-mode` lines only: `--resume` fails ("No conversation found") and so does
    `--session-id` ("already in use"). Not Captured; the next start takes a fresh id."""
    env = {"HOME": str(tmp_path)}
    path = transcripts.claude_transcript(env, "/ws", SID)
    path.parent.mkdir(parents=True)
    lines = [
        {"type": "ai-title", "sessionId": SID, "aiTitle": "Mock session"},
        {"type": "mode", "mode": "normal", "sessionId": SID},
    ]
    path.write_text("".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines))
    seen = locate(transcripts.CLAUDE, env, "/ws", SID)
    assert (seen.exists, seen.held) == (False, True)
    agent_ = desired({"id": "w", "provider": "claude"}).agents[0]
    planned = plan_start(
        agent_, AgentStatus(sessionId=SID), seen, now=NOW, team_id="t", workspace="/ws"
    )
    assert planned.start is not None and planned.start.session_id not in (None, SID)
    assert planned.start.argv[1:3] == ("--session-id", planned.start.session_id)
    # A user message makes it a conversation: resumable.
    with path.open("a") as handle:
        handle.write('{"parentUuid":null,"type":"user","message":{"role":"user","content":"hi"}}\n')
    assert locate(transcripts.CLAUDE, env, "/ws", SID) == TranscriptSeen(SID, str(path), True)
    # Not yet seen at all: the same id again.
    fresh = plan_start(
        agent_, AgentStatus(sessionId=SID), None, now=NOW, team_id="t", workspace="/ws"
    )
    assert fresh.start is not None and fresh.start.session_id == SID

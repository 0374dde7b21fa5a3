# ruff: noqa: RUF001, RUF003  (the real CLI draws these glyphs)
"""Copilot's adapter against the screens of the real CLI (@github/copilot 1.0.102).

Every recogniser is run on every captured fixture (`tests/fixtures/screens/copilot/`),
with the cursor where the real CLI left it (hidden and parked anywhere under a dialog).
Plus the permission-mode mapping (checked against the real binary's flag parser when it
is installed) and the session arguments (`--session-id=<id>` creates and resumes).
"""

from __future__ import annotations

import re
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
from controllers.providers import transcripts as T
from controllers.providers.copilot import COPILOT_DIALOGS, COPILOT_INPUT, PERMISSION_FLAGS
from controllers.sessions.dialogs import dialog_path, find_dialog
from controllers.sessions.observe import locate
from reconciler.api.spec import PERMISSION_MODES
from reconciler.observe.screens import Screen
from tests.realcli import capture
from tests.unit.builders import desired

PROFILE = COPILOT_INPUT
SID = "5e55a0c0-0000-4000-8000-00000000c0de"


def shot(state: str) -> Screen:
    found = capture.load("copilot", state)
    return Screen(found.text, found.cursor_x, found.cursor_y)


class StateCase(NamedTuple):
    state: str
    input: InputState  # input_state(profile, screen) before anything was pasted
    typed: str | None  # what the box holds; None: no box (not Ready)
    busy: bool
    dialog: str | None = None  # the dialog find_dialog names


STATE_CASES = [
    StateCase("idle", InputState.EMPTY, "", busy=False),
    StateCase("typed", InputState.OTHER, "hello copilot", busy=False),
    # Ctrl-C on a typed box clears it; the footer says "ctrl+c again to exit".
    StateCase("typed_ctrl_c", InputState.EMPTY, "", busy=False),
    # Echoed turns (` ❯ one`, one leading space) above the box are not the box.
    StateCase("replied", InputState.EMPTY, "", busy=False),
    StateCase("replied3", InputState.EMPTY, "", busy=False),
    StateCase("resumed", InputState.EMPTY, "", busy=False),
    StateCase("after_approval", InputState.EMPTY, "", busy=False),
    # Errors end with a `✗` line in the transcript and the box back, empty.
    StateCase("error_400", InputState.EMPTY, "", busy=False),
    StateCase("error_429", InputState.EMPTY, "", busy=False),
    StateCase("error_500", InputState.EMPTY, "", busy=False),
    # A 300-line paste collapsed to its placeholder: not ours until we pasted it.
    StateCase("typed_multiline", InputState.OTHER, "[Paste #1 - 300 lines]", busy=False),
    # Working: the box is drawn and takes typing, Enter would queue the message silently
    # until the turn ends; delivery waits instead ("esc esc interrupt" in the footer).
    StateCase("busy", InputState.BUSY, "", busy=True),
    StateCase("busy_typed", InputState.BUSY, "typed while busy", busy=True),
    StateCase("busy_queued", InputState.BUSY, "", busy=True),
    # Retrying a 429 or a 500: only `Working` in the footer (500s also print a
    # "Retrying..." line per attempt).
    StateCase("busy_retrying", InputState.BUSY, "", busy=True),
    StateCase("error_retrying", InputState.BUSY, "", busy=True),
    # The shell tool's permission prompt: no box (the cursor is hidden, parked bottom right).
    StateCase("approval", InputState.BUSY, None, busy=False),
    # Dialogs drawn over a screen with no box at all (no flash of the box before them).
    StateCase("trust", InputState.NO_PROMPT, None, busy=False, dialog="folder trust"),
    StateCase("trust_git", InputState.NO_PROMPT, None, busy=False, dialog="folder trust"),
    StateCase(
        "firstrun_session_in_use", InputState.NO_PROMPT, None, busy=False, dialog="session in use"
    ),
    # After /exit: the summary with `Resume  copilot --resume=<id>`, tmux's "Pane is dead".
    StateCase("exited", InputState.NO_PROMPT, None, busy=False),
]


def test_every_fixture_state_has_a_case() -> None:
    assert sorted(capture.states("copilot")) == sorted(c.state for c in STATE_CASES)


@pytest.mark.parametrize("case", STATE_CASES, ids=[c.state for c in STATE_CASES])
def test_the_box_busy_input_state_and_dialog_of_each_screen(case: StateCase) -> None:
    screen = shot(case.state)
    assert typed_input(PROFILE, screen) == case.typed
    assert (find_box(PROFILE, screen) is not None) == (case.typed is not None)
    assert is_busy(PROFILE, screen) == case.busy
    assert input_state(PROFILE, screen) == case.input
    found = find_dialog(COPILOT_DIALOGS, screen, None, PROFILE)
    assert (found.name if found else None) == case.dialog


@pytest.mark.parametrize("case", STATE_CASES, ids=[c.state for c in STATE_CASES])
def test_only_the_permission_prompt_is_an_approval(case: StateCase) -> None:
    seen = find_approval(PROFILE, shot(case.state))
    if case.state != "approval":
        assert seen is None
        return
    assert seen is not None
    assert seen.tool == "bash"  # the model's tool; the screen never names it
    assert seen.shown == "run this command"  # what the executor re-checks on screen
    assert seen.keys == ("1",)  # "1. Yes": allow once
    assert "Do you want to run this command?" in seen.prompt


def test_the_box_is_the_row_at_column_zero_not_an_echoed_turn() -> None:
    screen = shot("replied3")
    box = find_box(PROFILE, screen)
    assert box is not None and screen.rows[box.row] == "❯"
    assert re.search(PROFILE.prompt, " ❯ one") is None  # an echoed turn
    assert re.search(PROFILE.prompt, "│ ❯ 1. Yes") is None  # a dialog's choice


def test_a_multi_line_text_in_the_box_is_read_across_its_rows() -> None:
    rows = ["", "─" * 200, "❯ first line", "  second line", "  third", "─" * 200, " footer"]
    screen = Screen("\n".join(rows), 7, 4)
    assert typed_input(PROFILE, screen) == "first line second line third"
    assert shows_message(PROFILE, screen, "first line\nsecond line\nthird")


def test_the_rule_above_the_box_stops_the_search() -> None:
    rows = [" ❯ echoed", "─" * 200, "  not a box", "─" * 200]
    assert find_box(PROFILE, Screen("\n".join(rows), 2, 2)) is None


def test_a_pasted_message_is_recognised_by_the_placeholder_once_we_pasted() -> None:
    screen = shot("typed_multiline")
    message = "\n".join(f"line {i:03d}: " + "x" * 55 for i in range(300))
    assert shows_message(PROFILE, screen, message)
    assert input_state(PROFILE, screen, message, pasted=True) == InputState.OURS
    assert input_state(PROFILE, screen, message) == InputState.OTHER


def test_a_typed_message_is_ours_in_the_box() -> None:
    screen = shot("typed")
    assert shows_message(PROFILE, screen, "hello copilot")
    assert input_state(PROFILE, screen, "hello copilot") == InputState.OURS
    assert not shows_message(PROFILE, shot("replied"), "one")  # echoed turn


# --- dialogs -------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["trust", "trust_git"])
def test_the_trust_dialog_shows_its_folder_and_remember_is_answerable(state: str) -> None:
    screen = shot(state)
    dialog = find_dialog(COPILOT_DIALOGS, screen, None, PROFILE)
    assert dialog is not None and dialog.trust
    assert dialog_path(dialog, screen.text) == "/work/ws"
    assert dialog.accept_when is not None
    assert re.search(dialog.accept_when, screen.text, re.MULTILINE)
    # `2` picks "Yes, and remember this folder for future sessions" at once (measured:
    # Copilot then writes `trustedFolders` to config.json and shows the box).
    assert dialog.accept_keys == ("2",)


def test_the_session_in_use_dialog_is_never_answered() -> None:
    (dialog,) = (d for d in COPILOT_DIALOGS if d.name == "session in use")
    assert not dialog.trust and not dialog.accept_keys


def test_the_trust_dialog_is_not_taken_for_a_reply_quoting_it() -> None:
    screen = Screen(" ● Do you trust the files in this folder?\n" + shot("idle").text, 2, 48)
    assert find_dialog(COPILOT_DIALOGS, screen, None, PROFILE) is None


# --- permission modes ----------------------------------------------------------------


def test_every_permission_mode_maps_to_flags() -> None:
    assert set(PERMISSION_MODES["copilot"]) == set(PERMISSION_FLAGS)
    for mode in PERMISSION_MODES["copilot"]:
        agent = desired({"id": "w", "provider": "copilot", "permission_mode": mode}).agent("w")
        assert agent is not None and agent.launch is not None
        assert list(agent.launch.argv) == ["copilot", *PERMISSION_FLAGS[mode]]
    assert PERMISSION_FLAGS["ask"] == ()  # Copilot's default: Manual Approval
    assert PERMISSION_FLAGS["trusted"] == ("--allow-all",)
    assert PERMISSION_FLAGS["restricted"] == ("--mode", "plan")


# --- sessions ------------------------------------------------------------------------


def test_session_id_creates_and_resumes_and_the_prompt_is_never_repeated() -> None:
    agent = desired(
        {
            "id": "w",
            "provider": "copilot",
            "model": "gpt-5",
            "permission_mode": "trusted",
            "initial_prompt": "go",
        }
    ).agent("w")
    assert agent is not None and agent.launch is not None
    support = agent.profile.sessions
    assert support is not None and support.attribution == "preassigned"
    fresh = support.fresh_argv(agent.launch.argv, SID)
    assert list(fresh) == [
        "copilot",
        f"--session-id={SID}",
        "--model",
        "gpt-5",
        "--allow-all",
        "--interactive",
        "go",
    ]
    assert list(support.resume_argv(SID)) == [
        "copilot",
        f"--session-id={SID}",
        "--model",
        "gpt-5",
        "--allow-all",
    ]
    assert agent.launch.readiness_pattern is None  # the box is readiness


def test_the_transcript_is_the_sessions_events_file(tmp_path: object) -> None:
    env = {"HOME": "/h"}
    assert T.copilot_events(env, SID).as_posix() == f"/h/.copilot/session-state/{SID}/events.jsonl"
    assert not locate(T.COPILOT, {"HOME": "/nonexistent"}, "/ws", SID).exists

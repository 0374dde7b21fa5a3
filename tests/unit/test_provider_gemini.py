"""Gemini's adapter against the screens of the real CLI (@google/gemini-cli 0.61.0).

Every recogniser is run on every captured fixture (`tests/fixtures/screens/gemini/`),
with the cursor where the real CLI left it (parked at the bottom under a dialog). Plus
the readiness settle against the trust dialog's flash, the permission-mode mapping
(checked against the real CLI's flag parser when it is installed) and the sessions
(`projects.json` names the folder; `--session-id` once, `--resume` ever after).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import pytest

from controllers.agents.live import plan_readiness
from controllers.agents.status import StatusBuilder
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
from controllers.providers.gemini import GEMINI_DIALOGS, GEMINI_INPUT, PERMISSION_FLAGS
from controllers.sessions.dialogs import dialog_path, find_dialog, plan_dialog
from controllers.sessions.observe import locate
from controllers.sessions.plan import plan_start
from controllers.sessions.view import TranscriptSeen
from reconciler.api import conditions as C
from reconciler.api.actions import ProcessRef
from reconciler.api.clock import format_time
from reconciler.api.ids import PaneId
from reconciler.api.spec import PERMISSION_MODES
from reconciler.api.status import AgentStatus
from reconciler.observe.screens import CURSOR_MARK, JOINED_MARK, Screen, parse_capture
from tests.realcli import capture
from tests.unit.builders import NOW, STARTED, agent_pane, desired

PROFILE = GEMINI_INPUT
SID = "5e55a0c0-0000-4000-8000-00000000c0de"
BOX_IDLE = " >   Type your message or @path/to/file"


def shot(state: str) -> Screen:
    found = capture.load("gemini", state)
    return Screen(found.text, found.cursor_x, found.cursor_y)


class StateCase(NamedTuple):
    state: str
    input: InputState  # input_state(profile, screen) before anything was pasted
    typed: str | None  # what the box holds; None: no box (not Ready)
    busy: bool
    dialog: str | None = None  # the dialog find_dialog names


STATE_CASES = [
    StateCase("idle", InputState.EMPTY, "", busy=False),
    StateCase("idle_plan", InputState.EMPTY, "", busy=False),
    # --approval-mode yolo draws the box's sign as `*`.
    StateCase("idle_yolo", InputState.EMPTY, "", busy=False),
    StateCase("typed", InputState.OTHER, "hello gemini", busy=False),
    # Rows after the first are indented three spaces (a short paste, a wrapped line).
    StateCase("typed_inline", InputState.OTHER, "first line second line third line", busy=False),
    StateCase("typed_wrapped", InputState.OTHER, " ".join(["word"] * 60), busy=False),
    # A 300-line paste collapsed to its placeholder: not ours until we pasted it.
    StateCase("typed_multiline", InputState.OTHER, "[Pasted Text: 300 lines]", busy=False),
    # Shell mode (a person typed `!`): ` !   Type your shell command` is not a box a
    # message may go into (it would run as a command).
    StateCase("shell_mode", InputState.NO_PROMPT, None, busy=False),
    # Echoed user turns (` > hello gemini`, same as the box) above the box are not the box.
    StateCase("replied", InputState.EMPTY, "", busy=False),
    StateCase("replied3", InputState.EMPTY, "", busy=False),
    StateCase("resumed", InputState.EMPTY, "", busy=False),
    # The bare box drawn before --resume replays the conversation (never Ready).
    StateCase("resume_flash", InputState.EMPTY, "", busy=False),
    StateCase("after_approval", InputState.EMPTY, "", busy=False),
    StateCase("loop_halted", InputState.EMPTY, "", busy=False),
    # Working: the box is drawn and takes typing; Enter would queue the text (sent once
    # after the turn, measured), but delivery waits for the turn to end instead.
    StateCase("busy", InputState.BUSY, "", busy=True),
    StateCase("busy_typed", InputState.BUSY, "queued message", busy=True),
    StateCase("busy_queued", InputState.BUSY, "", busy=True),
    # Plain 429 and 500 are retried silently for minutes: only the spinner shows.
    StateCase("error_429", InputState.BUSY, "", busy=True),
    StateCase("error_500", InputState.BUSY, "", busy=True),
    # After Esc, after a 400 (`✕ [API Error: …]`), after a terminal quota error: idle.
    StateCase("error_429_cancelled", InputState.EMPTY, "", busy=False),
    StateCase("error_500_cancelled", InputState.EMPTY, "", busy=False),
    StateCase("error_400", InputState.EMPTY, "", busy=False),
    StateCase("error_429_quota_stopped", InputState.EMPTY, "", busy=False),
    # A 429 whose message says `limit: 0`: "Keep trying / Stop", for a person.
    StateCase("error_429_quota", InputState.NO_PROMPT, None, busy=False, dialog="usage limit"),
    StateCase("loop_detected", InputState.NO_PROMPT, None, busy=False, dialog="loop detection"),
    # The shell tool's prompt hides the box (the cursor is parked on the bottom row).
    StateCase("approval", InputState.BUSY, None, busy=False),
    # The bare box drawn ~0.2 s before the trust dialog: a box, never Ready (FLASHES).
    StateCase("trust_preflash", InputState.EMPTY, "", busy=False),
    StateCase("trust_preflash_nogit", InputState.EMPTY, "", busy=False),
    StateCase("trust", InputState.NO_PROMPT, None, busy=False, dialog="folder trust"),
    StateCase("trust_nogit", InputState.NO_PROMPT, None, busy=False, dialog="folder trust"),
    StateCase("trust_restarting", InputState.NO_PROMPT, None, busy=False, dialog="folder trust"),
    # After "Trust folder" the CLI restarts in the same pane: a fresh box, no dialog.
    StateCase("trust_accepted", InputState.EMPTY, "", busy=False),
    StateCase("firstrun_auth", InputState.NO_PROMPT, None, busy=False, dialog="login"),
    StateCase("firstrun_apikey", InputState.NO_PROMPT, None, busy=False, dialog="api key"),
    # After /quit: the summary box with `gemini --resume <id>`, tmux's "Pane is dead".
    StateCase("exited", InputState.NO_PROMPT, None, busy=False),
]


def test_every_fixture_state_has_a_case() -> None:
    assert sorted(capture.states("gemini")) == sorted(c.state for c in STATE_CASES)


@pytest.mark.parametrize("case", STATE_CASES, ids=[c.state for c in STATE_CASES])
def test_the_box_busy_input_state_and_dialog_of_each_screen(case: StateCase) -> None:
    screen = shot(case.state)
    assert typed_input(PROFILE, screen) == case.typed
    assert (find_box(PROFILE, screen) is not None) == (case.typed is not None)
    assert is_busy(PROFILE, screen) == case.busy
    assert input_state(PROFILE, screen) == case.input
    found = find_dialog(GEMINI_DIALOGS, screen, None, PROFILE)
    assert (found.name if found else None) == case.dialog


@pytest.mark.parametrize("case", STATE_CASES, ids=[c.state for c in STATE_CASES])
def test_only_the_permission_prompt_is_an_approval(case: StateCase) -> None:
    seen = find_approval(PROFILE, shot(case.state))
    if case.state != "approval":
        assert seen is None
        return
    assert seen is not None
    assert seen.tool == "Shell"  # as the screen names it (the model's run_shell_command)
    assert seen.shown == "Shell"
    # `1` selects "1. Allow once" at once, whichever line is highlighted (measured: the
    # tool ran); Enter would pick the highlighted line.
    assert seen.keys == ("1",)
    assert "Allow execution of [Shell]?" in seen.prompt
    assert "● 1. Allow once" in seen.prompt


def test_the_box_is_the_row_the_cursor_is_in_not_an_echoed_turn() -> None:
    screen = shot("replied3")
    box = find_box(PROFILE, screen)
    assert box is not None and screen.rows[box.row].startswith(BOX_IDLE)
    echoed = [n for n, row in enumerate(screen.rows) if re.search(PROFILE.prompt, row)]
    assert len(echoed) == 4 and echoed[-1] == box.row  # three echoed turns above it
    assert not shows_message(PROFILE, screen, "queued message")


def test_the_rule_above_the_box_and_a_dialog_frame_stop_the_search() -> None:
    rule = "─" * 200
    assert find_box(PROFILE, Screen("\n".join([" > echoed", rule, "", "   x"]), 4, 3)) is None
    framed = [" > echoed", "╭" + "─" * 198 + "╮", "│ ● 1. Allow once", "╰" + "─" * 198 + "╯", ""]
    assert find_box(PROFILE, Screen("\n".join(framed), 0, 4)) is None


def test_a_short_paste_shows_inline_and_is_ours() -> None:
    screen = shot("typed_inline")
    message = "first line\nsecond line\nthird line"
    assert shows_message(PROFILE, screen, message)
    assert input_state(PROFILE, screen, message) == InputState.OURS
    assert input_state(PROFILE, screen, "another message") == InputState.OTHER


def test_a_long_paste_is_recognised_by_the_placeholder_once_we_pasted() -> None:
    screen = shot("typed_multiline")
    message = "\n".join(f"line {i:03d}: " + "x" * 55 for i in range(300))
    assert shows_message(PROFILE, screen, message)
    assert input_state(PROFILE, screen, message, pasted=True) == InputState.OURS
    assert input_state(PROFILE, screen, message) == InputState.OTHER
    assert re.search(PROFILE.paste_placeholder or "", "[Pasted Text: 612 chars]")


def test_a_typed_message_is_ours_in_the_box() -> None:
    assert shows_message(PROFILE, shot("typed"), "hello gemini")
    assert input_state(PROFILE, shot("typed"), "hello gemini") == InputState.OURS
    assert not shows_message(PROFILE, shot("replied"), "hello gemini")  # echoed turn


def test_enter_waits_after_the_paste_for_the_fast_return_window() -> None:
    # An Enter within 30 ms of input is a newline (measured: 20 and 50 ms failed, 100 ms
    # and more submitted every time).
    assert PROFILE.submit_delay_sec >= 0.1
    assert PROFILE.submit_keys == ("Enter",)


# --- readiness and dialogs -----------------------------------------------------------


def _ready_after(
    screens: list[tuple[float, Screen]], started: datetime = STARTED
) -> list[tuple[str, str]]:
    """Ready's (status, reason) after each screen, seen at NOW + seconds, one process
    started at `started`."""
    agent = desired({"id": "w", "provider": "gemini"}).agent("w")
    assert agent is not None
    pane = agent_pane(desired({"id": "w", "provider": "gemini"}), "w")
    prev = AgentStatus()
    out = []
    for seconds, screen in screens:
        b = StatusBuilder(previous=prev, now=NOW + timedelta(seconds=seconds), generation=1)
        plan_readiness(
            agent, pane, b, screen=screen, same_process=True, started_at=format_time(started)
        )
        prev = b.build()
        ready = C.find_condition(prev.conditions, C.READY)
        assert ready is not None
        out.append((ready.status, ready.reason))
    return out


FLASHES = ("trust_preflash", "trust_preflash_nogit", "resume_flash")


@pytest.mark.parametrize("state", FLASHES)
def test_the_bare_box_of_a_start_is_never_ready_however_long_it_stays(state: str) -> None:
    """Every start draws a bare box first; the trust dialog or a resumed conversation
    replaces it, after more than `settle_sec` on a busy machine (measured): never Ready."""
    flash = shot(state)
    assert find_box(PROFILE, flash) is not None  # a box the CLI does not take input in yet
    seen = _ready_after([(0.0, flash), (PROFILE.settle_sec, flash), (10.0, flash)], NOW)
    assert seen == [(C.FALSE, C.STARTING)] * 3


def test_a_started_gemini_is_ready_once_its_box_has_settled() -> None:
    idle = shot("idle")
    assert _ready_after([(0.0, idle), (0.25, idle)], NOW) == [(C.FALSE, C.STARTING)] * 2
    seen = _ready_after(
        [(0.0, shot("trust_preflash")), (0.5, idle), (0.5 + PROFILE.settle_sec, idle)], NOW
    )
    assert seen == [(C.FALSE, C.STARTING), (C.FALSE, C.STARTING), (C.TRUE, C.RUNNING)]


@pytest.mark.parametrize("state", capture.states("gemini"))
def test_only_the_bare_boxes_of_a_start_are_startup_flashes(state: str) -> None:
    """The recogniser against every real screen: exactly the flashes match it."""
    assert PROFILE.startup_flash is not None
    flash = re.match(PROFILE.startup_flash, shot(state).text) is not None
    assert flash == (state in FLASHES)


@pytest.mark.parametrize("state", ["trust", "trust_nogit"])
def test_the_trust_dialog_names_no_path_so_it_is_never_answered(state: str) -> None:
    screen = shot(state)
    dialog = find_dialog(GEMINI_DIALOGS, screen, None, PROFILE)
    assert dialog is not None and dialog.trust
    assert "● 1. Trust folder (ws)" in screen.text  # the folder's name, not its path
    assert dialog_path(dialog, screen.text) is None
    assert dialog.accept_keys == ()
    team = desired({"id": "w", "provider": "gemini"})
    agent = team.agent("w")
    assert agent is not None
    decided = plan_dialog(
        agent,
        AgentStatus(),
        screen,
        pane=PaneId("%1"),
        process=ProcessRef(1001, 1000.0),
        workspace="/work/ws",
        auto_trust=True,
    )
    assert decided is not None and decided.action is None
    assert "shows no folder path" in decided.message


def test_the_old_trust_dialog_above_the_restarted_box_is_stale() -> None:
    # After "Trust folder" the CLI restarts in the same pane; the dialog may stay on screen
    # above the new box (measured), which then is the live one.
    restarting = shot("trust_restarting").rows[:-1]
    accepted = shot("trust_accepted")
    rows = restarting + accepted.rows[13:]
    screen = Screen("\n".join(rows), 3, len(restarting) + accepted.cursor_y - 13)
    assert find_box(PROFILE, screen) is not None
    assert find_dialog(GEMINI_DIALOGS, screen, None, PROFILE) is None
    assert find_dialog(GEMINI_DIALOGS, accepted, None, PROFILE) is None


def test_a_reply_quoting_a_dialog_is_not_a_dialog() -> None:
    text = "✦ It asked: Do you trust the files in this folder?\n" + shot("idle").text
    assert find_dialog(GEMINI_DIALOGS, Screen(text, 3, 22), None, PROFILE) is None


def test_no_dialog_is_ever_answered_but_trust_is_marked() -> None:
    assert [d.name for d in GEMINI_DIALOGS if d.trust] == ["folder trust"]
    assert all(not d.accept_keys and d.path_pattern is None for d in GEMINI_DIALOGS)


# --- permission modes ----------------------------------------------------------------


def test_every_permission_mode_maps_to_flags() -> None:
    assert set(PERMISSION_MODES["gemini"]) == set(PERMISSION_FLAGS)
    for mode in PERMISSION_MODES["gemini"]:
        agent = desired({"id": "w", "provider": "gemini", "permission_mode": mode}).agent("w")
        assert agent is not None and agent.launch is not None
        assert list(agent.launch.argv) == ["gemini", *PERMISSION_FLAGS[mode]]
    assert PERMISSION_FLAGS["restricted"] == ("--approval-mode", "plan")  # read-only
    assert PERMISSION_FLAGS["ask"] == ("--approval-mode", "default")
    assert PERMISSION_FLAGS["trusted"] == ("--approval-mode", "yolo")


# --- sessions ------------------------------------------------------------------------


def test_a_fresh_start_pre_assigns_and_a_restart_resumes() -> None:
    agent = desired(
        {
            "id": "w",
            "provider": "gemini",
            "model": "gemini-2.5-pro",
            "permission_mode": "trusted",
            "initial_prompt": "go",
        }
    ).agent("w")
    assert agent is not None and agent.launch is not None
    support = agent.profile.sessions
    assert support is not None and support.attribution == "preassigned"
    fresh = support.fresh_argv(agent.launch.argv, SID)
    assert list(fresh) == [
        "gemini",
        "--session-id",
        SID,
        "--model",
        "gemini-2.5-pro",
        "--approval-mode",
        "yolo",
        "--prompt-interactive",
        "go",
    ]
    assert list(support.resume_argv(SID)) == [
        "gemini",
        "--resume",
        SID,
        "--model",
        "gemini-2.5-pro",
        "--approval-mode",
        "yolo",
    ]
    assert agent.launch.readiness_pattern is None  # the box is readiness


def _chat(home: Path, cwd: str, slug: str, session_id: str) -> Path:
    gemini = home / ".gemini"
    gemini.mkdir(parents=True, exist_ok=True)
    (gemini / "projects.json").write_text(json.dumps({"projects": {cwd: slug}}))
    chats = gemini / "tmp" / slug / "chats"
    chats.mkdir(parents=True)
    path = chats / f"session-2026-12-07T05-36-{session_id[:8]}.jsonl"
    path.write_text(json.dumps({"sessionId": session_id, "kind": "main"}) + "\n")
    return path


def test_the_chat_folder_is_the_slug_projects_json_gives(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    # Before Gemini registered the folder there is nowhere to look (not captured yet).
    assert T.gemini_project_slug(env, "/work/ws") is None
    assert not locate(T.GEMINI, env, "/work/ws", SID).exists
    # The slug of a second folder named `ws` is `ws-1`: only the registry knows it.
    path = _chat(tmp_path, "/work/ws", "ws-1", SID)
    assert T.gemini_chats_dir(env, "/work/ws") == tmp_path / ".gemini" / "tmp" / "ws-1" / "chats"
    seen = locate(T.GEMINI, env, "/work/ws", SID)
    assert seen.exists and seen.path == str(path)
    # Another id with the same first eight characters is not this session.
    assert not locate(T.GEMINI, env, "/work/ws", SID[:8] + "-ffff-4000-8000-000000000000").exists
    # GEMINI_CLI_HOME moves the whole `.gemini` folder.
    assert T.gemini_dir({"HOME": "/h", "GEMINI_CLI_HOME": "/g"}) == Path("/g/.gemini")


def test_a_broken_registry_finds_nothing(tmp_path: Path) -> None:
    (tmp_path / ".gemini").mkdir()
    for text in ("", "{", '{"projects": []}', '{"projects": {"/work/ws": "../x"}}'):
        (tmp_path / ".gemini" / "projects.json").write_text(text)
        assert T.gemini_project_slug({"HOME": str(tmp_path)}, "/work/ws") is None


def test_a_restart_resumes_once_the_chat_exists_and_never_repeats_the_id(tmp_path: Path) -> None:
    """Gemini writes the chat at startup and exits 42 on `--session-id` of an existing
    one: once the file is there, every start resumes it."""
    team = desired({"id": "w", "provider": "gemini"})
    agent = team.agent("w")
    assert agent is not None
    path = _chat(tmp_path, "/work/ws", "ws", SID)
    prev = AgentStatus(sessionId=SID)  # started with --session-id; the file not seen yet
    plan = plan_start(
        agent, prev, TranscriptSeen(SID, str(path), True), now=NOW, team_id="demo", workspace="/ws"
    )
    assert plan.start is not None and plan.start.mode == "resume"
    assert "--session-id" not in plan.start.argv
    assert list(plan.start.argv[:3]) == ["gemini", "--resume", SID]
    # Restarted again: resumed again, the same id.
    again = AgentStatus(sessionId=SID, sessionFile=str(path))
    plan = plan_start(
        agent, again, TranscriptSeen(SID, str(path), True), now=NOW, team_id="demo", workspace="/ws"
    )
    assert plan.start is not None and list(plan.start.argv[:3]) == ["gemini", "--resume", SID]
    # No file yet (killed before the CLI wrote it): the same id is still free.
    plan = plan_start(
        agent,
        prev,
        TranscriptSeen(SID, str(path.parent / "x"), False),
        now=NOW,
        team_id="demo",
        workspace="/ws",
    )
    assert plan.start is not None and list(plan.start.argv[:3]) == ["gemini", "--session-id", SID]


def test_a_blank_first_row_stays_row_zero_of_a_capture() -> None:
    """Gemini leaves row 0 blank: the capture must keep it, or every row shifts up one
    against the cursor and the box's placeholder reads as typed text."""
    idle = shot("idle")
    output = "\n".join(
        [*idle.rows, JOINED_MARK, *idle.rows, f"{CURSOR_MARK}{idle.cursor_x} {idle.cursor_y}"]
    )
    screen, _ = parse_capture(output)
    assert screen.rows[0] == "" and screen.rows[idle.cursor_y] == idle.rows[idle.cursor_y]
    assert input_state(PROFILE, screen) == InputState.EMPTY

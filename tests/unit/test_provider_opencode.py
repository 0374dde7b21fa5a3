"""OpenCode's adapter against the screens of the real CLI (opencode-ai 1.18.33).

Every recogniser is run on every captured fixture (`tests/fixtures/screens/opencode/`),
with the cursor where the real CLI left it. Plus the permission-mode mapping (checked
against the real binary's flag parser when it is installed), and the session plumbing:
the pre-assigned `ses_…` id, the `opencode import` step and the read-only look into
OpenCode's SQLite database.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
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
from controllers.providers import transcripts as T
from controllers.providers.base import SessionSupport
from controllers.providers.opencode import OPENCODE_INPUT, PERMISSION_FLAGS
from controllers.sessions.dialogs import find_dialog
from controllers.sessions.observe import locate
from controllers.sessions.plan import new_session_id
from reconciler.api.spec import PERMISSION_MODES
from reconciler.observe.screens import Screen
from tests.realcli import capture
from tests.unit.builders import desired

PROFILE = OPENCODE_INPUT


def shot(state: str) -> Screen:
    found = capture.load("opencode", state)
    return Screen(found.text, found.cursor_x, found.cursor_y)


class StateCase(NamedTuple):
    state: str
    input: InputState  # input_state(profile, screen) before anything was pasted
    typed: str | None  # what the box holds; None: no box (not Ready)
    busy: bool


STATE_CASES = [
    # Home screen: the centred box, placeholder after the cursor.
    StateCase("idle", InputState.EMPTY, "", busy=False),
    StateCase("typed", InputState.OTHER, "hello opencode", busy=False),
    # Session view: echoed turns (`┃  hello opencode`) above are not the box.
    StateCase("replied", InputState.EMPTY, "", busy=False),
    StateCase("replied3", InputState.EMPTY, "", busy=False),
    StateCase("resumed", InputState.EMPTY, "", busy=False),
    StateCase("after_approval", InputState.EMPTY, "", busy=False),
    # 400: a red `┃  mock error 400` block in the transcript, the box is back and empty.
    StateCase("error_400", InputState.EMPTY, "", busy=False),
    # A 300-line paste collapsed to its placeholder: not ours until we pasted it.
    StateCase("typed_multiline", InputState.OTHER, "[Pasted ~300 lines]", busy=False),
    # Streaming: the box is drawn (typing is possible and Enter would queue) but delivery
    # waits for the reply to end.
    StateCase("busy", InputState.BUSY, "", busy=True),
    StateCase("busy_typed", InputState.BUSY, "sent while busy", busy=True),
    StateCase("busy_queued", InputState.BUSY, "", busy=True),
    # 429/500/529: retried with a countdown in the footer, still `esc interrupt`.
    StateCase("error_429_retrying", InputState.BUSY, "", busy=True),
    StateCase("error_500_retrying", InputState.BUSY, "", busy=True),
    StateCase("error_529_retrying", InputState.BUSY, "", busy=True),
    # The permission prompt: no box, the cursor parked on the footer under the buttons.
    StateCase("approval", InputState.BUSY, None, busy=False),
    # Exited (Ctrl+C): the `Continue  opencode -s <id>` line, no box.
    StateCase("exited", InputState.NO_PROMPT, None, busy=False),
]


def test_every_fixture_state_has_a_case() -> None:
    assert sorted(capture.states("opencode")) == sorted(c.state for c in STATE_CASES)


@pytest.mark.parametrize("case", STATE_CASES, ids=[c.state for c in STATE_CASES])
def test_the_box_busy_and_input_state_of_each_screen(case: StateCase) -> None:
    screen = shot(case.state)
    assert typed_input(PROFILE, screen) == case.typed
    assert (find_box(PROFILE, screen) is not None) == (case.typed is not None)
    assert is_busy(PROFILE, screen) == case.busy
    assert input_state(PROFILE, screen) == case.input
    assert find_dialog((), screen, None, PROFILE) is None  # OpenCode has no dialogs


@pytest.mark.parametrize("case", STATE_CASES, ids=[c.state for c in STATE_CASES])
def test_only_the_permission_prompt_is_an_approval(case: StateCase) -> None:
    seen = find_approval(PROFILE, shot(case.state))
    if case.state != "approval":
        assert seen is None
        return
    assert seen is not None
    assert seen.tool == "bash"  # the screen says "# Shell command"
    assert seen.keys == ("Enter",)  # "Allow once" is selected when the prompt opens
    assert "touch approval-probe" in seen.prompt


def test_the_approval_needs_none_of_the_glyphs_opencode_may_blank() -> None:
    screen = shot("approval")
    blanked = Screen(
        screen.text.replace("△", " ").replace("⇆", " "), screen.cursor_x, screen.cursor_y
    )
    seen = find_approval(PROFILE, blanked)
    assert seen is not None and seen.tool == "bash"


def test_a_pasted_message_is_recognised_by_the_placeholder_once_we_pasted() -> None:
    screen = shot("typed_multiline")
    message = "\n".join(f"line {i:03d}: lorem ipsum" for i in range(300))
    assert shows_message(PROFILE, screen, message)
    assert input_state(PROFILE, screen, message, pasted=True) == InputState.OURS
    # Before we pasted anything, a placeholder may be a person's paste.
    assert input_state(PROFILE, screen, message) == InputState.OTHER


def test_a_typed_message_is_ours_in_the_box() -> None:
    screen = shot("typed")
    assert shows_message(PROFILE, screen, "hello opencode")
    assert input_state(PROFILE, screen, "hello opencode") == InputState.OURS
    assert not shows_message(PROFILE, shot("replied"), "hello opencode")  # echoed turn


# --- permission modes ----------------------------------------------------------------


def test_every_permission_mode_maps_to_flags() -> None:
    assert set(PERMISSION_MODES["opencode"]) == set(PERMISSION_FLAGS)
    for mode in PERMISSION_MODES["opencode"]:
        agent = desired({"id": "w", "provider": "opencode", "permission_mode": mode}).agent("w")
        assert agent is not None and agent.launch is not None
        assert list(agent.launch.argv) == ["opencode", *PERMISSION_FLAGS[mode]]


# --- sessions ------------------------------------------------------------------------


def support_of(**fields: object) -> SessionSupport:
    agent = desired({"id": "w", "provider": "opencode", **fields}).agent("w")
    assert agent is not None and agent.profile.sessions is not None
    return agent.profile.sessions


def test_a_fresh_start_imports_the_preassigned_session_then_opens_it() -> None:
    support = support_of(model="mock/m", initial_prompt="go")
    sid = support.id_prefix + new_session_id("t", "/ws", "w", now=datetime.now(), previous=None)
    assert sid.startswith("ses_")
    fresh = support.fresh_argv(("opencode", "--model", "mock/m", "--prompt", "go"), sid)
    assert list(fresh) == ["opencode", "--session", sid, "--model", "mock/m", "--prompt", "go"]
    prepare, text = support.fresh_prepare(sid, 1_700_000_000_000)
    assert list(prepare) == ["opencode", "import", "{file}"]
    info = json.loads(text)["info"]
    assert info["id"] == sid and info["directory"] == "/ws"
    assert info["time"] == {"created": 1_700_000_000_000, "updated": 1_700_000_000_000}
    assert json.loads(text)["messages"] == []


def test_a_resume_opens_the_session_and_never_repeats_the_prompt() -> None:
    support = support_of(model="mock/m", permission_mode="trusted", initial_prompt="go")
    assert list(support.resume_argv("ses_x")) == [
        "opencode",
        "--session",
        "ses_x",
        "--model",
        "mock/m",
        "--auto",
    ]
    assert support.fresh_prepare(None, 0) == ((), "")


def _database(path: Path, ids: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE session (id TEXT PRIMARY KEY, directory TEXT)")
        conn.executemany("INSERT INTO session VALUES (?, '/ws')", [(i,) for i in ids])
    conn.close()


def test_the_session_is_found_in_opencodes_database(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    db = tmp_path / ".local" / "share" / "opencode" / "opencode.db"
    assert T.opencode_db(env) == db
    assert not locate(T.OPENCODE, env, "/ws", "ses_a").exists  # no database yet
    _database(db, ["ses_a"])
    found = locate(T.OPENCODE, env, "/ws", "ses_a")
    assert found.exists and found.path == str(db) and found.session_id == "ses_a"
    assert not locate(T.OPENCODE, env, "/ws", "ses_b").exists
    assert T.opencode_db({"HOME": "/h", "XDG_DATA_HOME": "/x"}) == Path("/x/opencode/opencode.db")


def test_an_unreadable_database_is_not_taken_for_a_lost_session(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    db = T.opencode_db(env)
    db.parent.mkdir(parents=True)
    db.write_text("not a database")
    assert locate(T.OPENCODE, env, "/ws", "ses_a").exists


def test_now_is_utc_safe() -> None:
    """The start time in the import file is the plan's `now`, in milliseconds."""
    support = support_of()
    now = datetime(2026, 1, 2, tzinfo=timezone.utc)
    _, text = support.fresh_prepare("ses_x", int(now.timestamp() * 1000))
    assert json.loads(text)["info"]["time"]["created"] == int(now.timestamp() * 1000)

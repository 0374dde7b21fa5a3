# ruff: noqa: RUF001, RUF002  (literal screens of the CLIs, their glyphs included)
"""Reading a CLI's screen for messaging: empty box, ours, someone else's, busy, approval.

The screens are literal `capture-pane -p -J` texts. The fake agent's and the stub CLIs'
were captured from the programs running in a private tmux server (100x30): `-J` keeps
the blank a prompt was printed with (`fake> `, `❯ `, `┃ `), the stubs echo typed input
on the line after their footer, the fake echoes a bracketed paste across lines after
`fake> `. The Claude and Codex shapes follow `controllers.providers.inputs` (the box
between rules, the paste placeholder, "esc to interrupt", the permission menu).
"""

from __future__ import annotations

from typing import NamedTuple

import pytest

from controllers.messages.screen import (
    BUSY_LINES,
    InputState,
    find_approval,
    input_state,
    is_busy,
    shows_anywhere,
    shows_message,
    squeeze,
    typed_input,
)
from controllers.providers.base import InputProfile
from controllers.providers.inputs import (
    CLAUDE_INPUT,
    CODEX_INPUT,
    FAKE_INPUT,
    INPUTS,
    input_profile,
)
from tests.unit.builders import CLAUDE_PERMISSION_MENU

RULE = "─" * 60
COPILOT_FOOTER = " ← open sidebar · Interactive · Manual Approval · / commands · ? help"
BLANK = "\n" * 12  # the empty rows below the cursor in a 30-row pane
MESSAGE = "[team-agent] msg-7 from leader task=T1\nplease review\nthe patch"
OTHER_MESSAGE = "[team-agent] msg-8 from leader task=T2\nplease review\nthe tests"

# --- the fake agent ---------------------------------------------------------------------

FAKE_BANNER = "fake-agent 0.3.0 ready (agent=impl, session=6492c96c-af94-439f-9080-df4732fc0cf1)"
FAKE_IDLE = f"{FAKE_BANNER}\nfake> {BLANK}"
FAKE_TYPED = f"{FAKE_BANNER}\nfake> hello there{BLANK}"
FAKE_PASTED = f"{FAKE_BANNER}\nfake> hello there\nfake: hello there\nfake> {MESSAGE}{BLANK}"
FAKE_SUBMITTED = (
    f"{FAKE_BANNER}\nfake> hello there\nfake: hello there\nfake> {MESSAGE}\n"
    "fake: [team-agent] msg-7 from leader task=T1 (+2 lines, 23 bytes, sha256 7fa0725db51c)\n"
    f"fake> {BLANK}"
)
FAKE_WORKING = f"{FAKE_BANNER}\nfake> please\n[sleep:3]\nworking...{BLANK}"
FAKE_WORKED = (
    f"{FAKE_BANNER}\nfake> please\n[sleep:3]\nworking...\n"
    f"fake: please (+1 lines, 16 bytes, sha256 fe0e8f81be4c)\nfake> {BLANK}"
)
FAKE_ASKING = f"{FAKE_BANNER}\nfake> do it\n[tool:Bash]\nAllow tool Bash? [y/n] {BLANK}"
# Answered `y`; the message's next directive keeps the fake busy: no prompt yet.
FAKE_ANSWERED_WORKING = (
    f"{FAKE_BANNER}\nfake> do it\n[tool:Bash]\n[sleep:5]\nAllow tool Bash? [y/n] y\n"
    f"tool Bash approved\nworking...{BLANK}"
)
FAKE_ANSWERED = (
    f"{FAKE_BANNER}\nfake> do it\n[tool:Bash]\nAllow tool Bash? [y/n] y\ntool Bash approved\n"
    f"fake: do it (+1 lines, 17 bytes, sha256 0c5d1e6b8a3f)\nfake> {BLANK}"
)


def long_message(lines: int = 500, *, last: str = "x") -> str:
    """A ~95 KB task message: a header and `lines - 1` lines of 190 characters."""
    body = [f"line {i:03d} " + last * 180 for i in range(1, lines)]
    return "\n".join(["[team-agent] msg-12 from leader task=T9", *body])


def scrolled(message: str, rows: int = 15) -> str:
    """The fake's screen while `message` sits in its input box, its head scrolled away.

    A 190-character line wraps to two rows of a 100-column pane and `-J` joins them, so
    a 30-row pane shows the message's last 15 lines and not the `fake> ` prompt (this is
    byte for byte what tmux captured for the 500-line message above).
    """
    return "\n".join(message.split("\n")[-rows:]) + "\n"


class Case(NamedTuple):
    profile: InputProfile
    screen: str
    message: str | None
    state: InputState


CASES = {
    "fake-idle": Case(FAKE_INPUT, FAKE_IDLE, None, InputState.EMPTY),
    "fake-idle-for-a-message": Case(FAKE_INPUT, FAKE_IDLE, MESSAGE, InputState.EMPTY),
    "fake-typed": Case(FAKE_INPUT, FAKE_TYPED, MESSAGE, InputState.OTHER),
    "fake-pasted-ours": Case(FAKE_INPUT, FAKE_PASTED, MESSAGE, InputState.OURS),
    "fake-pasted-not-ours": Case(FAKE_INPUT, FAKE_PASTED, OTHER_MESSAGE, InputState.OTHER),
    "fake-pasted-any": Case(FAKE_INPUT, FAKE_PASTED, None, InputState.OTHER),
    "fake-submitted": Case(FAKE_INPUT, FAKE_SUBMITTED, MESSAGE, InputState.EMPTY),
    "fake-working": Case(FAKE_INPUT, FAKE_WORKING, MESSAGE, InputState.BUSY),
    "fake-worked": Case(FAKE_INPUT, FAKE_WORKED, MESSAGE, InputState.EMPTY),
    "fake-asking": Case(FAKE_INPUT, FAKE_ASKING, MESSAGE, InputState.BUSY),
    "fake-answered-working": Case(FAKE_INPUT, FAKE_ANSWERED_WORKING, None, InputState.BUSY),
    "fake-answered": Case(FAKE_INPUT, FAKE_ANSWERED, MESSAGE, InputState.EMPTY),
    "fake-long-ours": Case(FAKE_INPUT, scrolled(long_message()), long_message(), InputState.OURS),
    "fake-long-not-ours": Case(
        FAKE_INPUT, scrolled(long_message()), long_message(last="y"), InputState.NO_PROMPT
    ),
    "fake-starting": Case(FAKE_INPUT, "\n\n", MESSAGE, InputState.NO_PROMPT),
    "fake-crashed": Case(
        FAKE_INPUT, "Traceback (most recent call last):\n  boom\n", None, InputState.NO_PROMPT
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_the_fake_agents_screens_are_classified(case: Case) -> None:
    assert input_state(case.profile, case.screen, case.message) is case.state


def test_what_the_fake_holds_in_its_input_box() -> None:
    assert typed_input(FAKE_INPUT, FAKE_IDLE) == ""
    assert typed_input(FAKE_INPUT, FAKE_TYPED) == "hello there"
    # A multi-line paste runs from the prompt to the end of the screen.
    assert typed_input(FAKE_INPUT, FAKE_PASTED) == squeeze(MESSAGE)
    assert typed_input(FAKE_INPUT, FAKE_SUBMITTED) == ""
    assert typed_input(FAKE_INPUT, scrolled(long_message())) is None


def test_a_long_paste_is_recognised_by_its_tail_when_its_head_scrolled_off() -> None:
    message = long_message()
    screen = scrolled(message)
    assert message.split("\n", 1)[0] not in screen  # the header is gone
    assert shows_message(FAKE_INPUT, screen, message)
    # Same header, same length, another ending: not ours.
    assert not shows_message(FAKE_INPUT, screen, long_message(last="y"))
    # A message that ends like ours but is missing lines still matches by its tail only:
    # what identifies a message on screen is its end.
    assert shows_message(FAKE_INPUT, screen, "\n".join(message.split("\n")[-3:]))


def test_a_message_shows_only_while_it_ends_the_screen() -> None:
    assert shows_message(FAKE_INPUT, FAKE_PASTED, MESSAGE)
    assert not shows_message(FAKE_INPUT, FAKE_SUBMITTED, MESSAGE)
    assert not shows_message(FAKE_INPUT, FAKE_IDLE, MESSAGE)
    assert not shows_message(FAKE_INPUT, "", MESSAGE)
    # After Enter the reply follows it, but it stays on screen as evidence.
    assert shows_anywhere(FAKE_SUBMITTED, MESSAGE)
    assert not shows_anywhere(FAKE_IDLE, MESSAGE)


def test_a_paste_echoed_with_cr_lf_or_wrapped_still_matches() -> None:
    echoed = f"{FAKE_BANNER}\nfake> " + MESSAGE.replace("\n", "\r\n  ") + "   \n\n"
    assert shows_message(FAKE_INPUT, echoed, MESSAGE)
    assert input_state(FAKE_INPUT, echoed, MESSAGE) is InputState.OURS


def test_the_fake_is_busy_only_while_working_is_its_last_line() -> None:
    assert is_busy(FAKE_INPUT, FAKE_WORKING)
    assert is_busy(FAKE_INPUT, FAKE_ANSWERED_WORKING)
    # Done: the reply and a new prompt follow, though `working...` is still in view.
    assert not is_busy(FAKE_INPUT, FAKE_WORKED)
    assert not is_busy(FAKE_INPUT, FAKE_IDLE)


def test_the_fakes_approval_prompt_is_found_until_answered() -> None:
    seen = find_approval(FAKE_INPUT, FAKE_ASKING)
    assert seen is not None
    assert (seen.tool, seen.prompt, seen.keys) == ("Bash", "Allow tool Bash? [y/n]", ("y", "Enter"))
    # Answered: the `y` follows it on its line, even before the fake shows a prompt again
    # (a second answer would be typed into the fake as a message).
    assert find_approval(FAKE_INPUT, FAKE_ANSWERED_WORKING) is None
    # A stale prompt followed by the input box was answered.
    assert find_approval(FAKE_INPUT, FAKE_ANSWERED) is None
    assert find_approval(FAKE_INPUT, FAKE_IDLE) is None
    # A later prompt after an answered one is a new question.
    again = FAKE_ANSWERED.rstrip("\n") + "again\n[tool:Write]\nAllow tool Write? [y/n] \n"
    later = find_approval(FAKE_INPUT, again)
    assert later is not None and later.tool == "Write"


# --- the stub CLIs (tests/stubs/bin/*) --------------------------------------------------


class Stub(NamedTuple):
    idle: str  # the prompt as `render_prompt` draws it, after the banner
    reply: str  # how a reply starts


# Claude 2.1.197's box is U+276F + U+00A0 (echoed turns use a plain space); the stub prints
# the footer above it so the cursor ends in the box.
CLAUDE_BOX = "❯\u00a0"
CLAUDE_STUB_PROMPT = f"  ? for shortcuts · ← for agents\n{RULE}\n{CLAUDE_BOX}"
STUBS = {
    "claude": Stub(
        f"\n ✻ Welcome to Claude Code!\n\n   cwd: /ws\n\n{CLAUDE_STUB_PROMPT}",
        "● Stub reply to: ",
    ),
    "codex": Stub(
        ">_ OpenAI Codex (v0.171.0)\n\n  model: gpt-5-codex\n  directory: /ws\n\n\n"
        "› \n\n  gpt-5-codex default · /ws\n  ← for agents · ? for shortcuts",
        "• Stub reply to: ",
    ),
    "gemini": Stub(
        "\n ▝▜▄     Gemini CLI v0.61.0 (stub)\n\nTips for getting started:\n"
        f"1. Create GEMINI.md files to customize your interactions\n\n\n{RULE}\n"
        " Shift+Tab to accept edits\n\n > ",
        "✦ Stub reply to: ",
    ),
    "copilot": Stub(
        "\n Welcome to GitHub Copilot CLI (stub) Version 1.0.102\n\n\n /ws\n"
        f"{COPILOT_FOOTER}\n{RULE}\n❯ ",
        "● Stub reply to: ",
    ),
    "opencode": Stub(
        "\n  ┃  Build · stub mock\n  ╹▀▀▀▀▀▀▀▀▀▀\n   /work   ctrl+p commands   • OpenCode 1.18.33"
        "\n\n  ┃\n  ┃  ",
        "     Stub reply to: ",
    ),
}
PROMPT_OF = {
    "claude": CLAUDE_STUB_PROMPT,
    "codex": "\n› \n\n  gpt-5-codex default · /ws\n  ← for agents · ? for shortcuts",
    "gemini": f"\n{RULE}\n Shift+Tab to accept edits\n\n > ",
    "copilot": f"\n /ws\n{COPILOT_FOOTER}\n{RULE}\n❯ ",
    "opencode": "\n  ┃  Build · stub mock\n  ╹▀▀▀▀▀▀▀▀▀▀\n   /work   ctrl+p commands"
    "   • OpenCode 1.18.33\n\n  ┃\n  ┃  ",
}


def stub_profile(cli: str) -> InputProfile:
    profile = input_profile(cli)
    assert profile is not None, cli
    return profile


@pytest.mark.parametrize("cli", STUBS)
def test_each_profile_reads_its_stubs_idle_screen_as_empty(cli: str) -> None:
    profile = stub_profile(cli)
    screen = STUBS[cli].idle + BLANK
    assert typed_input(profile, screen) == ""
    assert input_state(profile, screen) is InputState.EMPTY
    assert input_state(profile, screen, MESSAGE) is InputState.EMPTY


@pytest.mark.parametrize("cli", STUBS)
def test_each_profile_reads_typed_text_after_its_stubs_footer(cli: str) -> None:
    profile = stub_profile(cli)
    screen = f"{STUBS[cli].idle}\nfix the bug{BLANK}"
    assert typed_input(profile, screen) == "fix the bug"
    assert input_state(profile, screen) is InputState.OTHER
    assert input_state(profile, screen, MESSAGE) is InputState.OTHER


@pytest.mark.parametrize("cli", STUBS)
def test_each_profile_sees_a_pasted_message_then_its_submission(cli: str) -> None:
    profile = stub_profile(cli)
    stub = STUBS[cli]
    pasted = f"{stub.idle}\n{MESSAGE}{BLANK}"
    assert input_state(profile, pasted, MESSAGE) is InputState.OURS
    assert input_state(profile, pasted, OTHER_MESSAGE) is InputState.OTHER
    assert typed_input(profile, pasted) == squeeze(MESSAGE)
    submitted = f"{stub.idle}\n{MESSAGE}\n{stub.reply}{MESSAGE}\n{PROMPT_OF[cli]}{BLANK}"
    assert not shows_message(profile, submitted, MESSAGE)
    assert shows_anywhere(submitted, MESSAGE)
    assert input_state(profile, submitted, MESSAGE) is InputState.EMPTY


def test_every_provider_but_shell_has_a_profile() -> None:
    assert set(INPUTS) == {"fake", "claude", "codex", "gemini", "copilot", "opencode"}
    assert input_profile("shell") is None


# --- Claude and Codex as the real CLIs draw them -----------------------------------------

CLAUDE_TOP = (
    "╭───────────────────────────────────────────────────╮\n"
    "│ ✻ Welcome to Claude Code!                         │\n"
    "╰───────────────────────────────────────────────────╯\n\n"
    "> earlier question\n\n● An earlier answer.\n\n"
)
CLAUDE_FOOTER = f"{RULE}\n  ? for shortcuts"


def claude(box: str, *, above: str = "") -> str:
    """Claude's screen: the transcript, `above` (a status line), the box between rules."""
    return f"{CLAUDE_TOP}{above}{RULE}\n{box}\n{CLAUDE_FOOTER}\n"


CLAUDE_MENU = CLAUDE_PERMISSION_MENU


def test_claudes_box_between_rules() -> None:
    idle = claude(CLAUDE_BOX)
    assert typed_input(CLAUDE_INPUT, idle) == ""
    assert input_state(CLAUDE_INPUT, idle) is InputState.EMPTY
    # The suggestion an empty box shows is not input.
    suggesting = claude(CLAUDE_BOX + 'Try "refactor the parser"')
    assert typed_input(CLAUDE_INPUT, suggesting) == ""
    assert input_state(CLAUDE_INPUT, suggesting, MESSAGE) is InputState.EMPTY
    typed = claude(CLAUDE_BOX + "fix the flaky test")
    assert typed_input(CLAUDE_INPUT, typed) == "fix the flaky test"
    assert input_state(CLAUDE_INPUT, typed, MESSAGE) is InputState.OTHER
    # A multi-line paste fills the box; the rule and footer below it are decoration.
    boxed = claude(CLAUDE_BOX + MESSAGE.replace("\n", "\n  "))
    assert typed_input(CLAUDE_INPUT, boxed) == squeeze(MESSAGE)
    assert input_state(CLAUDE_INPUT, boxed, MESSAGE) is InputState.OURS
    assert input_state(CLAUDE_INPUT, boxed, OTHER_MESSAGE) is InputState.OTHER


def test_a_message_with_lines_that_look_like_chrome_still_shows() -> None:
    message = "[team-agent] msg-9 from leader\nSwitch the mode:\nno bypass permissions, please"
    boxed = claude(CLAUDE_BOX + message.replace("\n", "\n  "))
    assert shows_message(CLAUDE_INPUT, boxed, message)
    assert input_state(CLAUDE_INPUT, boxed, message) is InputState.OURS
    message = "[team-agent] msg-3 from a\nrun it\nthen press enter send"
    opencode = stub_profile("opencode")
    assert shows_message(opencode, f"{STUBS['opencode'].idle}\n{message}{BLANK}", message)


def test_claudes_paste_placeholder_is_proof_only_of_a_paste_we_made() -> None:
    collapsed = claude(CLAUDE_BOX + "[Pasted text #1 +500 lines]")
    message = long_message()
    # Right after our paste, the placeholder is all Claude shows of it.
    assert shows_message(CLAUDE_INPUT, collapsed, message)
    # Found in the box before any paste of ours, it is someone else's: never submit it.
    assert input_state(CLAUDE_INPUT, collapsed, message) is InputState.OTHER
    # After an attempt of ours pasted into this pane (a delivery cut short), it is ours.
    assert input_state(CLAUDE_INPUT, collapsed, message, pasted=True) is InputState.OURS
    assert input_state(CLAUDE_INPUT, claude(CLAUDE_BOX), message, pasted=True) is InputState.EMPTY
    assert typed_input(CLAUDE_INPUT, collapsed) == "[Pasted text #1 +500 lines]"
    assert not shows_message(CLAUDE_INPUT, claude(CLAUDE_BOX), message)


def test_claude_is_busy_while_esc_to_interrupt_shows_near_the_bottom() -> None:
    status = "✻ Thinking… (12s · ↑ 340 tokens · esc to interrupt)\n\n"
    working = claude(CLAUDE_BOX, above=status)
    assert is_busy(CLAUDE_INPUT, working)
    assert input_state(CLAUDE_INPUT, working, MESSAGE) is InputState.BUSY
    # Old text far above the bottom does not count.
    old = claude(CLAUDE_BOX, above=status + "".join(f"● line {i}\n" for i in range(BUSY_LINES)))
    assert not is_busy(CLAUDE_INPUT, old)
    assert input_state(CLAUDE_INPUT, old, MESSAGE) is InputState.EMPTY


def test_claudes_permission_menu_is_an_approval_not_an_input_box() -> None:
    screen = CLAUDE_TOP + CLAUDE_MENU
    seen = find_approval(CLAUDE_INPUT, screen)
    assert seen is not None
    assert seen.tool == "Bash"
    assert seen.keys == ("1",)
    assert seen.prompt.split("\n")[:3] == [
        " Bash command",
        "   rm -rf build",
        "   Remove the build directory",
    ]
    assert " ❯ 1. Yes" in seen.prompt.split("\n")
    assert input_state(CLAUDE_INPUT, screen, MESSAGE) is InputState.BUSY
    # The menu's pointer is not an input box.
    assert typed_input(CLAUDE_INPUT, CLAUDE_MENU) is None
    # Answered: the tool ran and the box is back below; the old header no longer counts.
    after = (
        CLAUDE_TOP
        + "● Bash(rm -rf build)\n  ⎿  (no output)\n\n"
        + claude(CLAUDE_BOX)[len(CLAUDE_TOP) :]
    )
    assert find_approval(CLAUDE_INPUT, after) is None
    stale = CLAUDE_TOP + CLAUDE_MENU + "\n● Done.\n\n" + claude(CLAUDE_BOX)[len(CLAUDE_TOP) :]
    assert find_approval(CLAUDE_INPUT, stale) is None
    assert input_state(CLAUDE_INPUT, stale, MESSAGE) is InputState.EMPTY


def test_claudes_trust_dialog_is_no_input_box() -> None:
    dialog = (
        " Accessing workspace:\n\n /ws\n\n Quick safety check: Is this a project you created "
        "or one you trust?\n\n❯ 1. Yes, I trust this folder\n  2. No, exit\n\n"
        " Enter to confirm · Esc to cancel\n"
    )
    assert input_state(CLAUDE_INPUT, dialog, MESSAGE) is InputState.NO_PROMPT


def test_a_tool_name_alone_is_no_approval() -> None:
    # "Bash" on its own line without the question below it is transcript, not a menu.
    screen = claude(CLAUDE_BOX, above="Bash\n\n● I ran it.\n\n")
    assert find_approval(CLAUDE_INPUT, screen) is None


def test_codex_composer_placeholder_and_paste() -> None:
    # codex 0.171.0's rows (tests/fixtures/screens/codex/0.171.0/), without a cursor.
    top = ">_ OpenAI Codex (v0.171.0)\n\n     /ws\n\n"
    footer = "\n\n  gpt-5-codex default · /ws\n  ← for agents · ? for shortcuts\n"
    for idle in ("Ask Codex to do anything", ""):
        screen = f"{top}› {idle}{footer}"
        assert input_state(CODEX_INPUT, screen, MESSAGE) is InputState.EMPTY, idle
    typed = f"{top}› explain this{footer}"
    assert typed_input(CODEX_INPUT, typed) == "explain this"
    pasted = f"{top}› [Pasted Content 95012 chars]{footer}"
    assert shows_message(CODEX_INPUT, pasted, long_message())
    assert input_state(CODEX_INPUT, pasted, long_message()) is InputState.OTHER
    working = f"{top}• Working (3s • esc to interrupt)\n\n› {footer}"
    assert input_state(CODEX_INPUT, working, MESSAGE) is InputState.BUSY
    assert find_approval(CODEX_INPUT, working) is None

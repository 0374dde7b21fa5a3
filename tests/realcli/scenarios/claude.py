"""Claude Code's screens (`@anthropic-ai/claude-code`), captured against the mock model.

The main pane runs with a fixed `--session-id` and `CLAUDE_CODE_MAX_RETRIES=2` (errors give
up after 3 requests, ~2 s, instead of 11 requests over ~3 minutes; the screens are the same
apart from the attempt counter). Other panes provoke the first-run screens: the folder-trust
dialog (git and plain folder), the onboarding theme picker and security notes, the "Detected
a custom API key" question, the offline connectivity check, and the bypass-permissions
warning (which needs `IS_SANDBOX=1` when running as root).
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
import time
from pathlib import Path

from tests.mockmodel.replies import Error, Text, ToolCall
from tests.mockmodel.server import MockModel
from tests.realcli.capture import FIXTURES, CliPane, Shot, version_of

BOX = "\u276f\u00a0"  # the input box: U+276F + U+00A0 (echoed user turns use a plain space)
SESSION = "5e55104d-c1a0-4de0-8000-00000000c1a0"
RETRIES = {"CLAUDE_CODE_MAX_RETRIES": "2"}
SLOW = " ".join(f"word{i}" for i in range(60))
PASTE = "\n".join(
    f"line {i:03d}: lorem ipsum dolor sit amet, consectetur adipiscing elit sed do"
    for i in range(300)
)
ERRORS = (
    (429, "Number of request tokens has exceeded your per-minute rate limit", "rejected \\(429\\)"),
    (529, "Overloaded", "API Error: 529 Overloaded"),
    (500, "Internal server error", "API Error: 500 Internal server error"),
)


def _root() -> Path:
    return Path(tempfile.mkdtemp(prefix="ta-cap-"))


def _done(cli: CliPane, pattern: str, timeout: float = 30.0) -> Shot:
    """Wait for `pattern`, then for the turn's `✻ <Verb>ed for Ns` line and an idle footer."""
    cli.wait_for(pattern + r"[\s\S]*\n\u273b \S+ for \d", timeout=timeout)
    cli.wait_for("esc to interrupt", timeout=timeout, absent=True)
    return cli.settle(quiet=0.8)


def _dead(cli: CliPane, timeout: float = 10.0) -> Shot:
    """Wait until the CLI's process has exited (tmux's "Pane is dead" line may land in the
    scrollback when the screen is full, so ask tmux)."""
    deadline = time.monotonic() + timeout
    while cli.tmux("display-message", "-p", "-t", cli.pane, "#{pane_dead}").strip() != "1":
        if time.monotonic() > deadline:
            raise TimeoutError(f"claude: still running:\n{cli.text()}")
        time.sleep(0.1)
    return cli.shot()


def _scrub_port(mock: MockModel, states: list[str]) -> None:
    """Claude names the gateway in its 5xx errors (`check your inference gateway
    (127.0.0.1:PORT)`): a fixed port keeps the fixtures stable."""
    folder = FIXTURES / "claude" / version_of("claude")
    real, fixed = f"127.0.0.1:{mock.port}", "127.0.0.1:" + "0" * len(str(mock.port))
    for state in states:
        for path in (folder / f"{state}.txt", folder / f"{state}.ansi"):
            path.write_text(path.read_text().replace(real, fixed))


def _send(cli: CliPane, text: str) -> None:
    cli.type(text)
    time.sleep(0.3)
    cli.keys("Enter")


def _main(mock: MockModel, saved: list[str]) -> None:
    with CliPane("claude", url=mock.url, root=_root(), extra_env=RETRIES) as cli:
        cli.start(["--session-id", SESSION])
        cli.wait_for(BOX, timeout=30)
        cli.save("idle", "empty box after start", cli.settle())
        cli.type("hello claude")
        cli.save("typed", "short text typed, not submitted", cli.settle(quiet=0.5))
        mock.script(Text("reply one"))
        cli.keys("Enter")
        cli.save("replied", "idle after one exchange", _done(cli, "● reply one"))

        mock.script(Text(SLOW, chunks=20, chunk_delay=0.3), Text("reply three"))
        _send(cli, "a slow one")
        cli.wait_for(r"word\d", timeout=10)
        cli.save("busy", "mid-stream: spinner line and `esc to interrupt`", cli.shot())
        cli.type("queued text")
        shot = cli.wait_for(r"\u276f\u00a0queued text", timeout=5)
        cli.save("busy_typed", "text typed while the reply streams", shot)
        cli.keys("Enter")
        shot = cli.wait_for("Press up to edit queued messages", timeout=5)
        cli.save("busy_queued", "Enter while busy: the message is queued above the box", shot)
        shot = _done(cli, "● reply three", timeout=30)
        if mock.count_turns_with("queued text") != 1:
            raise RuntimeError("claude: the queued message did not reach the model once")
        cli.save("replied3", "idle after three exchanges (the third was queued)", shot)

        mock.script(Text("reply four " + SLOW, chunks=20, chunk_delay=0.2))
        cli.paste(PASTE)
        shot = cli.wait_for(r"\[Pasted text #1 \+299 lines\]", timeout=10)
        cli.save("typed_multiline", "300-line paste before Enter", cli.settle(quiet=0.5))
        cli.keys("Enter")
        cli.wait_for(r"reply four word\d", timeout=10)
        time.sleep(1.0)
        note = "a reply streams right after a paste: footer `paste again to expand`, no `esc`"
        cli.save("busy_after_paste", note, cli.shot())
        shot = _done(cli, "● reply four")
        if mock.turns()[-1].user_texts()[-1] != PASTE:
            raise RuntimeError("claude: the pasted message did not arrive intact")
        cli.save("replied_after_paste", "idle after the paste: its footer hint stays", shot)

        mock.script(ToolCall("touch approval-probe"), Text("created the file"))
        _send(cli, "make a file")
        cli.wait_for("Do you want to proceed", timeout=20)
        cli.save("approval", "Bash permission prompt for `touch`", cli.settle(quiet=0.5))
        cli.keys("Enter")
        cli.save("after_approval", "after 1. Yes", _done(cli, "● created the file"))
        if not (cli.workspace / "approval-probe").exists():
            raise RuntimeError("claude: the approved command did not run")

        for status, message, expect in ERRORS:
            mock.script(*[Error(status, message)] * 3)
            _send(cli, f"error {status}")
            if status == 529:
                shot = cli.wait_for(r"Retrying in \d+s · attempt 1/2", timeout=10)
                cli.save("error_529_retrying", "first retry: `API error · Retrying …`", shot)
                shot = cli.wait_for(r"529 Overloaded · Retrying in \d+s · attempt 2/2", timeout=10)
                cli.save("error_529_retrying_last", "last retry names the error", shot)
            cli.save(f"error_{status}", f"{status} after giving up", _done(cli, expect))

        mock.reset()
        os.kill(cli.pid(), signal.SIGKILL)
        _dead(cli)
        cli.start(["--resume", SESSION])
        cli.wait_for(BOX, timeout=30)
        cli.save("resumed", "`--resume <id>` after kill -9", cli.settle())
        mock.script(Text("after resume"))
        _send(cli, "after the restart")
        _done(cli, "● after resume")
        if "hello claude" not in mock.turns()[-1].user_texts()[0]:
            raise RuntimeError("claude: the resumed session did not carry the earlier turns")

        _send(cli, "/exit")
        shot = _dead(cli)
        cli.save("exited", "after /exit (exit status 0): the resume hint", shot)
    saved += [
        "idle",
        "typed",
        "replied",
        "busy",
        "busy_typed",
        "busy_queued",
        "replied3",
        "typed_multiline",
        "busy_after_paste",
        "replied_after_paste",
        "approval",
        "after_approval",
        "error_429",
        "error_529_retrying",
        "error_529_retrying_last",
        "error_529",
        "error_500",
        "resumed",
        "exited",
    ]


def _choose(cli: CliPane, key: str) -> None:
    """Move a dialog's selection, then confirm (sent together, Enter wins the race)."""
    cli.keys(key)
    time.sleep(0.3)
    cli.keys("Enter")


def _edit_state(cli: CliPane, onboarding: bool = True, key: bool = True) -> None:
    """Undo what `homes` pre-answers: onboarding (and the theme) and the key's approval."""
    path = cli.home / ".claude.json"
    state = json.loads(path.read_text())
    if not onboarding:
        state["hasCompletedOnboarding"] = False
        (cli.home / ".claude" / "settings.json").write_text("{}")
    if not key:
        state.pop("customApiKeyResponses", None)
    path.write_text(json.dumps(state))


def _first_run(mock: MockModel, saved: list[str]) -> None:
    with CliPane("claude", url=mock.url, root=_root(), trusted=False, git=True) as cli:
        cli.start()
        shot = cli.wait_for("Yes, I trust this folder", timeout=30)
        if BOX in shot.text:
            raise RuntimeError("claude: the normal prompt showed before the trust dialog")
        cli.save("trust", "git repository, untrusted: the first screen drawn", cli.settle(0.5))
        cli.keys("Enter")
        cli.wait_for(BOX, timeout=20)
        cli.save("after_trust", "after 1. Yes, I trust this folder", cli.settle())

    with CliPane("claude", url=mock.url, root=_root(), trusted=False) as cli:
        _edit_state(cli, onboarding=False)
        cli.start()
        cli.wait_for("Choose the text style", timeout=30)
        cli.save("firstrun_theme", "onboarding: theme picker", cli.settle(0.5))
        cli.keys("Enter")
        cli.wait_for("Press Enter to continue", timeout=10)
        cli.save("firstrun_security", "onboarding: security notes", cli.settle(0.5))
        cli.keys("Enter")
        cli.wait_for("Yes, I trust this folder", timeout=10)
        cli.save("trust_nogit", "plain folder, untrusted (after onboarding)", cli.settle(0.5))

    with CliPane("claude", url=mock.url, root=_root()) as cli:
        _edit_state(cli, key=False)
        cli.start()
        cli.wait_for("Detected a custom API key", timeout=30)
        cli.save("firstrun_api_key", "ANTHROPIC_API_KEY not yet approved", cli.settle(0.5))
        _choose(cli, "Up")  # the default is "2. No (recommended)"
        shot = cli.wait_for(BOX, timeout=20)
        if "Not logged in" in cli.settle().text:
            raise RuntimeError("claude: the API key was not approved")

    with CliPane("claude", url=mock.url, root=_root()) as cli:
        _edit_state(cli, onboarding=False, key=False)
        cli.start()
        shot = _dead(cli, timeout=30)
        cli.save("firstrun_offline", "onboarding + unapproved key: exits 1", shot)

    with CliPane("claude", url=mock.url, root=_root(), extra_env={"IS_SANDBOX": "1"}) as cli:
        cli.start(["--dangerously-skip-permissions"])
        cli.wait_for("Yes, I accept", timeout=30)
        cli.save("firstrun_bypass", "--dangerously-skip-permissions warning", cli.settle(0.5))
        _choose(cli, "Down")  # the default is "1. No, exit"
        cli.wait_for("bypass permissions on", timeout=20)
    saved += [
        "trust",
        "after_trust",
        "firstrun_theme",
        "firstrun_security",
        "trust_nogit",
        "firstrun_api_key",
        "firstrun_offline",
        "firstrun_bypass",
    ]


def capture(mock: MockModel) -> list[str]:
    saved: list[str] = []
    _main(mock, saved)
    _scrub_port(mock, saved)
    mock.reset()
    _first_run(mock, saved)
    return saved

"""GitHub Copilot CLI's screens (bring-your-own-key mode against the mock, Chat Completions).

Four panes run side by side so the slow parts overlap:

* `main` (session `SESSION`, trusted folder): the idle box, typing, exchanges, a pasted
  message, a slow stream, the shell tool's approval prompt, a 500 error, then a restart
  after `kill -9` of its native process (`resumed`) and `/exit`;
* `other` (a second trusted HOME): a message answered by six 429s. Copilot retries a 429
  five times with back-off (about 58 s in all) and shows only `Working` meanwhile, so this
  runs while `main` makes no model request (the mock's reply script is shared);
* `twin` (`main`'s HOME, `--session-id SESSION` while `main` holds it): "Session in use";
* `trust`, `trust_git` (untrusted folder, without and with git): the folder-trust dialog.

The 529 screen is not captured: Copilot treats it as it treats a 500 (five retries, each
announced "Request failed due to a transient API error. Retrying...").
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import tempfile
import time
from pathlib import Path

from tests.mockmodel.replies import Error, Text, ToolCall
from tests.mockmodel.server import MockModel
from tests.realcli.capture import CliPane, Shot

SESSION = "5e55a0c0-0000-4000-8000-00000000c0de"
PROMPT = "\u276f"  # the box's prompt, at column 0; an echoed user turn has it at column 1
BOX = rf"^{PROMPT} *$"  # the empty input box
IDLE = r"/ commands · \? help"  # the footer of an idle, empty box
BUSY = r"Working"
TRUST = r"Do you trust the files in this folder\?"
FAILED = r"✗ Failed to get response from the AI model"
STARTUP = 60.0


def _pastable() -> str:
    """A 300-line message of about 20 KB."""
    return "\n".join(f"line {i:03d}: " + "x" * 55 for i in range(300))


def _native_pid(cli: CliPane) -> int:
    """The native `copilot` binary: the only child of the pane's `node` wrapper."""
    children = Path(f"/proc/{cli.pid()}/task/{cli.pid()}/children").read_text().split()
    if len(children) != 1:
        raise RuntimeError(f"copilot: expected one native child of the wrapper, got {children}")
    return int(children[0])


def _dead(cli: CliPane, timeout: float = 60.0) -> Shot:
    """The screen once the pane's process has exited."""
    deadline = time.monotonic() + timeout
    while cli.tmux("display-message", "-p", "-t", cli.pane, "#{pane_dead}").strip() != "1":
        if time.monotonic() > deadline:
            raise TimeoutError(f"copilot: still running:\n{cli.text()}")
        time.sleep(0.1)
    return cli.settle(quiet=0.5)


def _exchange(mock: MockModel, cli: CliPane, message: str, reply: str) -> Shot:
    mock.script(Text(reply))
    cli.type(message)
    cli.wait_for(f"^{PROMPT} {message}")
    cli.keys("Enter")
    cli.wait_for(f"● {reply}")
    return _idle(cli)


def _idle(cli: CliPane, timeout: float = 30.0) -> Shot:
    cli.wait_for(IDLE, timeout=timeout)
    return cli.settle(quiet=0.7)


def _trust_timings(panes: list[CliPane]) -> list[str]:
    """Poll the just-started panes until each shows the trust dialog; for each, when it did
    and whether the input box was drawn before it."""
    started = time.monotonic()
    box_at: list[float | None] = [None] * len(panes)
    dialog_at: list[float | None] = [None] * len(panes)
    while None in dialog_at:
        if time.monotonic() - started > STARTUP:
            raise TimeoutError(f"copilot: no trust dialog:\n{panes[0].text()}")
        for i, cli in enumerate(panes):
            if dialog_at[i] is not None:
                continue
            text = cli.text()
            now = time.monotonic() - started
            if "Confirm folder trust" in text:
                dialog_at[i] = now
            elif box_at[i] is None and re.search(BOX, text, re.MULTILINE):
                box_at[i] = now
        time.sleep(0.1)
    return [
        f"dialog {d:.1f} s after start; input box before it: "
        + ("never" if b is None else f"at {b:.1f} s")
        for d, b in zip(dialog_at, box_at, strict=True)
    ]


def capture(mock: MockModel) -> list[str]:
    root = Path(tempfile.mkdtemp(prefix="ta-cap-copilot-"))
    saved: list[str] = []

    def save(cli: CliPane, state: str, note: str, shot: Shot | None = None) -> None:
        # Copilot hides the cursor in its dialogs and leaves it anywhere; say so in the note
        shown = cli.tmux("display-message", "-p", "-t", cli.pane, "#{cursor_flag}").strip()
        cli.save(state, f"{note} [cursor {'shown' if shown == '1' else 'hidden'}]", shot)
        saved.append(state)

    main = CliPane("copilot", url=mock.url, root=root / "main", args=[f"--session-id={SESSION}"])
    other = CliPane(
        "copilot", url=mock.url, root=root / "other", args=["-i", "please fail with 429"]
    )
    twin = CliPane("copilot", url=mock.url, root=root / "main", args=[f"--session-id={SESSION}"])
    trust = CliPane("copilot", url=mock.url, root=root / "trust", trusted=False)
    trust_git = CliPane("copilot", url=mock.url, root=root / "trust-git", trusted=False, git=True)
    panes = (main, other, twin, trust, trust_git)
    try:
        # --- 429, slowly, in `other` (`-i` sends its message at start); meanwhile nothing
        # in `main` calls the model
        mock.script(*[Error(429, "rate limited")] * 6)
        for cli in (other, main, trust, trust_git):
            cli.start()
        timings = _trust_timings([trust, trust_git])
        save(
            other,
            "busy_retrying",
            "a 429 being retried (message sent with -i): only the Working line",
            other.wait_for(r"Working esc esc", timeout=STARTUP),
        )

        save(main, "idle", "empty input box after start (trusted folder)", _idle(main, STARTUP))
        main.type("hello copilot")
        save(
            main,
            "typed",
            "short text typed, not submitted",
            main.wait_for(f"^{PROMPT} hello copilot"),
        )
        main.keys("C-c")  # clears the box; the footer says "ctrl+c again to exit"
        save(
            main,
            "typed_ctrl_c",
            "after one ctrl+c on a non-empty box: box cleared, footer 'ctrl+c again to exit'",
            main.wait_for(r"ctrl\+c again to exit"),
        )
        main.wait_for(IDLE, timeout=10)

        for cli, state, git, timing in (
            (trust, "trust", "no git", timings[0]),
            (trust_git, "trust_git", "git repo", timings[1]),
        ):
            save(cli, state, f"folder-trust dialog, untrusted folder ({git}); {timing}")
            cli.close()

        twin.start()
        save(
            twin,
            "firstrun_session_in_use",
            "--session-id of a session whose inuse.<pid>.lock names a live process",
            twin.wait_for(r"1\. Resume anyway", timeout=STARTUP),
        )
        twin.keys("Escape")  # "2. Go back (Esc)": Copilot opens a new, empty session instead
        twin.wait_for(BOX, timeout=30)
        twin.close()

        save(
            other,
            "error_429",
            "after six 429s: 'retried 5 times (total retry wait time: N seconds)'",
            other.wait_for(FAILED, timeout=120),
        )
        other.close()
        mock.reset()

        # --- exchanges in `main` -------------------------------------------------------
        save(main, "replied", "idle box after one exchange", _exchange(mock, main, "one", "r1"))
        _exchange(mock, main, "two", "r2")
        save(main, "replied3", "idle box after three exchanges", _exchange(mock, main, "3", "r3"))

        pasted = _pastable()
        main.paste(pasted)
        save(
            main,
            "typed_multiline",
            f"a {len(pasted)}-character, 300-line bracketed paste, before Enter",
            main.wait_for(rf"^{PROMPT} \[Paste #1 - 300 lines\]"),
        )
        mock.script(Text("got the paste"))
        main.keys("Enter")
        main.wait_for("● got the paste")
        _idle(main)
        if (main_texts := mock.turns()[-1].user_texts())[-1] != pasted:
            raise RuntimeError(f"copilot: the paste arrived as {len(main_texts[-1])} chars")

        words = " ".join(f"word{i}" for i in range(80))
        mock.script(Text(words, chunks=20, chunk_delay=0.3), Text("queued answered"))
        main.type("stream slowly")
        main.keys("Enter")
        save(main, "busy", "a slow reply streaming", main.wait_for(r"Working · \d+ B esc esc"))
        main.type("typed while busy")
        save(
            main,
            "busy_typed",
            "text typed while busy stays in the box; footer adds 'ctrl+q enqueue'",
            main.wait_for(f"^{PROMPT} typed while busy"),
        )
        main.keys("Enter")  # Enter while busy: the message waits for the current turn
        save(
            main,
            "busy_queued",
            "Enter pressed while busy: box empties, the message is sent after the turn ends",
            main.wait_for(BOX, timeout=10),
        )
        main.wait_for("● queued answered", timeout=30)
        _idle(main)

        mock.script(ToolCall("touch mock-approval-probe"), Text("approved and done"))
        main.type("make a file")
        main.keys("Enter")
        save(
            main,
            "approval",
            "the bash tool's permission prompt",
            main.wait_for(r"Do you want to run this command\?"),
        )
        main.keys("Enter")  # "1. Yes"
        main.wait_for("● approved and done")
        save(main, "after_approval", "after '1. Yes': the command ran", _idle(main))
        if not (main.workspace / "mock-approval-probe").exists():
            raise RuntimeError("copilot: the approved command did not run")

        mock.script(*[Error(500, "mock 500")] * 6)
        main.type("please fail with 500")
        main.keys("Enter")
        save(
            main,
            "error_retrying",
            "a 500 being retried: each retry prints a 'Retrying...' line",
            main.wait_for(r"transient API error\. Retrying\.\.\.", timeout=20),
        )
        main.wait_for(FAILED, timeout=60)
        save(main, "error_500", "after six 500s (five retries)", _idle(main))

        mock.script(Error(400, "mock 400"))
        main.type("please fail with 400")
        main.keys("Enter")
        main.wait_for(r"✗ 400 mock 400")
        save(main, "error_400", "a 400 is not retried", _idle(main))

        # --- kill -9 and resume --------------------------------------------------------
        lock = (
            main.home / ".copilot" / "session-state" / SESSION / f"inuse.{_native_pid(main)}.lock"
        )
        os.kill(_native_pid(main), signal.SIGKILL)
        _dead(main, 10)
        if not lock.exists():
            raise RuntimeError("copilot: no stale inuse lock after kill -9")
        main.start([f"--session-id={SESSION}"])
        save(main, "resumed", "restarted with the same --session-id after kill -9", _idle(main))
        _exchange(mock, main, "after restart", "still here")
        texts = mock.turns()[-1].user_texts()
        if texts[:3] != ["one", "two", "3"] or texts[-1] != "after restart":
            raise RuntimeError(f"copilot: the resumed request lacks earlier turns: {texts[:3]}")

        main.type("/exit")
        main.keys("Enter")
        save(main, "exited", "after /exit (tmux's 'Pane is dead' line)", _dead(main))
    finally:
        for cli in panes:
            cli.close()
        shutil.rmtree(root, ignore_errors=True)
    return saved

"""Gemini CLI's screens, captured from the real CLI against the mock model.

One main pane walks a conversation (idle, typed, replied, busy, queued input, a long
paste, the shell-tool approval, the loop detector, error screens, kill -9 and resume,
/quit); further panes show the folder-trust dialog (with and without git), the first-run
authentication dialogs, how the box holds a short paste, a wrapped line and shell mode, and
the box under `--approval-mode yolo` and `plan`. HTTP 429/500 are retried silently for
minutes, so their screens are the busy spinner during the retries and the box after Esc.

Gemini survives its pane being killed (the node launcher and its relaunched child ignore
the pane's SIGHUP), so every pane's process group is killed with SIGKILL when done.

Checks made on the way (a failure raises): a message queued while busy reaches the model
exactly once; a 20 KB paste arrives intact; `--session-id` with an existing id exits 42;
after kill -9 and `--resume <id>` the next request carries the earlier turns.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from tests.mockmodel.replies import Error, Text, ToolCall
from tests.mockmodel.server import MockModel
from tests.realcli.capture import CliPane, Shot

BOX = r"^ >   Type your message or @path/to/file"  # the empty input box (placeholder)
BANNER = r"Gemini CLI v\d"
TURN = r"^ > \S|^✦ "  # an echoed user turn (the box has 3 spaces) or a reply
BUSY = r"Thinking\.\.\. \(esc to cancel"
SLOW = Text(
    "Once upon a time a mock model told a slow story, one small piece at a time, "
    "so that the CLI stays busy for a few seconds.",
    chunks=20,
    chunk_delay=0.3,
)
LOOP = Text("I will keep saying the very same sentence again now. " * 30, chunks=30)
QUOTA = "Quota exceeded for metric: generate_content_free_tier_requests, limit: 0"


def _paste_text() -> str:
    line = "lorem ipsum dolor sit amet " * 3
    return "\n".join(f"line {n:03d}: {line[:56]}" for n in range(300))


class _Saver:
    def __init__(self) -> None:
        self.saved: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, cli: CliPane, state: str, note: str, shot: Shot | None = None) -> Shot:
        shot = cli.save(state, note, shot)
        with self._lock:
            self.saved.append(state)
        return shot


def _stop(cli: CliPane) -> None:
    """Close the pane's tmux server and SIGKILL the CLI's process group (it outlives it)."""
    pgid = None
    with contextlib.suppress(RuntimeError, ValueError):
        pgid = cli.pid()
    cli.close()
    if pgid:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)


def _submit(cli: CliPane, text: str) -> None:
    """Type `text` and press Enter. An Enter less than 30 ms after other input becomes a
    newline (Gemini's FAST_RETURN_TIMEOUT), so wait until the text is drawn first."""
    cli.type(text)
    cli.wait_for(r"^ > " + re.escape(text[:40]), timeout=10)
    time.sleep(0.2)
    cli.keys("Enter")


def _busy(cli: CliPane, timeout: float = 20.0) -> Shot:
    """The busy screen with the cursor in the box. While the spinner redraws, the cursor
    is sometimes caught elsewhere for a moment (measured: 3 of 80 shots, at the end of a
    footer row), so a shot with the cursor off the box is skipped."""
    deadline = time.monotonic() + timeout
    while True:
        shot = cli.wait_for(BUSY, timeout=max(0.1, deadline - time.monotonic()))
        rows = shot.text.split("\n")
        row = rows[shot.cursor_y] if shot.cursor_y < len(rows) else ""
        if row.startswith(" > ") or time.monotonic() > deadline:
            return shot
        time.sleep(0.05)


def _idle(cli: CliPane, timeout: float = 30.0) -> Shot:
    cli.wait_for(BOX, timeout=timeout)
    cli.wait_for(BUSY, timeout=timeout, absent=True)
    return cli.settle(quiet=1.0)


def _wait_dead(cli: CliPane, timeout: float = 20.0) -> str:
    """Wait until the pane's process has exited; its exit status as tmux tells it (tmux
    3.3a sometimes leaves `#{pane_dead_status}` empty for gemini)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = cli.tmux("display-message", "-p", "-t", cli.pane, "#{pane_dead} #{pane_dead_status}")
        dead, _, status = out.strip().partition(" ")
        if dead == "1":
            return status
        time.sleep(0.1)
    raise TimeoutError("gemini: the pane's process did not exit")


def _box_after_restart(text: str) -> bool:
    rows = text.split("\n")
    box = [n for n, row in enumerate(rows) if re.match(BOX, row)]
    note = [n for n, row in enumerate(rows) if "restarting to apply" in row]
    return bool(box) and (not note or box[-1] > note[-1])


def _history(cli: CliPane) -> str:
    return cli.tmux("capture-pane", "-p", "-S", "-5000", "-t", cli.pane)


def _main_pane(mock: MockModel, save: _Saver) -> None:
    session = str(uuid.uuid4())
    root = Path(tempfile.mkdtemp(prefix="ta-cap-"))
    cli = CliPane(
        "gemini",
        url=mock.url,
        root=root,
        args=["--session-id", session],
        extra_env={"TEAM_AGENT_CAPTURE": "gemini"},
    )
    try:
        cli.start()
        cli.wait_for(BOX, timeout=40)
        cli.wait_for(BANNER, timeout=20)  # the banner is drawn after the box
        save(cli, "idle", "fresh start, empty box", cli.settle(quiet=1.0))

        cli.type("hello gemini")
        save(cli, "typed", "short text typed, not submitted", cli.wait_for(r"^ > hello gemini"))

        mock.script(Text("Hello from the mock model."))
        time.sleep(0.2)
        cli.keys("Enter")
        cli.wait_for(r"Hello from the mock model\.", timeout=30)
        save(cli, "replied", "idle box after one exchange", _idle(cli))

        mock.script(SLOW, Text("Reply to the queued message."))
        _submit(cli, "tell me a slow story")
        save(cli, "busy", "while a slow reply streams", _busy(cli))
        cli.type("queued message")
        shot = cli.wait_for(r"^ > queued message", timeout=10)
        save(cli, "busy_typed", "text typed while busy, before Enter", shot)
        time.sleep(0.2)
        cli.keys("Enter")
        shot = cli.wait_for(r"Queued \(press", timeout=10)
        save(cli, "busy_queued", "Enter while busy: the text is queued above the spinner", shot)
        cli.wait_for(r"Reply to the queued message\.", timeout=40)
        save(cli, "replied3", "idle box after three exchanges (the third was queued)", _idle(cli))
        queued = mock.count_turns_with("queued message")
        if queued != 1:
            raise AssertionError(f"queued message reached the model {queued} times, not once")

        text = _paste_text()
        cli.paste(text)
        shot = cli.wait_for(r"\[Pasted Text: 300 lines\]", timeout=10)
        save(cli, "typed_multiline", "a 300-line 20 KB bracketed paste, before Enter", shot)
        mock.script(Text("Got the long message."))
        time.sleep(0.3)
        cli.keys("Enter")
        cli.wait_for(r"Got the long message\.", timeout=30)
        got = (mock.turns()[-1].user_texts() or [""])[-1]
        if got != text:
            raise AssertionError(f"the paste arrived changed: {len(got)} of {len(text)} chars")
        _idle(cli)

        mock.script(ToolCall("touch mock-approval-probe"), Text("The file is there."))
        _submit(cli, "make a file")
        shot = cli.wait_for(r"● 1\. Allow once", timeout=30)
        save(cli, "approval", "run_shell_command permission prompt", cli.settle(quiet=0.7))
        cli.keys("Enter")
        cli.wait_for(r"The file is there\.", timeout=30)
        save(cli, "after_approval", "after 'Allow once': tool ran, reply shown", _idle(cli))

        mock.script(LOOP, Text("ok"))  # the second is the reply to its silent recovery turn
        _submit(cli, "say it again")
        cli.wait_for(r"A potential loop was detected", timeout=30)
        save(cli, "loop_detected", "content loop detector dialog", cli.settle(quiet=0.7))
        cli.keys("Enter")  # 1. Keep loop detection enabled
        cli.wait_for(r"The request has been halted", timeout=15)
        save(cli, "loop_halted", "after keeping loop detection on", _idle(cli))

        mock.script(Error(400, "mock bad request"))
        _submit(cli, "trigger a 400")
        cli.wait_for(r"API Error", timeout=30)
        save(cli, "error_400", "HTTP 400: shown at once, not retried", _idle(cli))

        mock.script(Error(429, QUOTA))
        _submit(cli, "trigger a quota 429")
        cli.wait_for(r"Usage limit reached", timeout=30)
        note = "HTTP 429 whose message says 'limit: 0' (terminal quota): a dialog, not retried"
        save(cli, "error_429_quota", note, cli.settle(quiet=0.7))
        cli.keys("Down")
        time.sleep(0.3)
        cli.keys("Enter")  # 2. Stop
        save(cli, "error_429_quota_stopped", "after choosing '2. Stop'", _idle(cli))

        for status in (500, 429):
            # Retried silently (5 s, 10 s, 20 s, 30 s ... apart, ten and more attempts):
            # the screen stays busy. Save it after the first retry, then cancel with Esc.
            mock.script(*[Error(status, f"mock {status}")] * 50)
            _submit(cli, f"trigger a {status}")
            deadline = time.monotonic() + 30
            while sum(1 for r in mock.turns() if r.status == status) < 2:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"gemini: no retry after HTTP {status}")
                time.sleep(0.2)
            note = f"HTTP {status}, being retried: only the spinner shows"
            save(cli, f"error_{status}", note, _busy(cli))
            cli.keys("Escape")
            cli.wait_for(BUSY, timeout=15, absent=True)
            save(cli, f"error_{status}_cancelled", "after Esc during the retries", _idle(cli))
            mock.reset()

        # kill -9 of the launcher (the pane's process) ends its child too: the pane dies.
        os.kill(cli.pid(), signal.SIGKILL)
        _wait_dead(cli)
        cli.start(["--session-id", session])
        status = _wait_dead(cli)
        if status not in ("42", "") or "already exists" not in _history(cli):
            raise AssertionError(f"--session-id with an existing id: status {status!r}")
        turns_before = len(mock.turns())
        cli.start(["--resume", session])
        # First a bare box with nothing above it, then (0.5 s to more than 1 s later, the
        # longer the conversation or the busier the machine) the header and the replayed
        # turns over a new box: the bare one must never count as Ready.
        flash = cli.wait_for(BOX, timeout=40)
        if re.search(rf"{BANNER}|{TURN}", flash.text, re.MULTILINE):
            raise AssertionError(f"gemini: no bare box before the resume:\n{flash.text}")
        save(cli, "resume_flash", "the bare box drawn before --resume replays the turns", flash)
        cli.wait_for(rf"{BANNER}|{TURN}", timeout=40)
        shot = _idle(cli, timeout=40)
        if "> hello gemini" not in _history(cli):
            raise AssertionError("the resumed screen does not replay the earlier turns")
        save(cli, "resumed", "after kill -9 and --resume <id>: earlier turns replayed", shot)
        mock.script(Text("Reply after resume."))
        _submit(cli, "message after resume")
        cli.wait_for(r"Reply after resume\.", timeout=30)
        texts = mock.turns()[turns_before].user_texts()
        if not any("hello gemini" in t for t in texts):
            raise AssertionError(f"the resumed request lacks the earlier turns: {texts}")
        _idle(cli)

        _submit(cli, "/quit")
        cli.wait_for(r"Agent powering down", timeout=20)
        _wait_dead(cli)
        save(cli, "exited", "after /quit (summary box with the resume command)", cli.settle())
    finally:
        _stop(cli)


def _trust_pane(mock: MockModel, save: _Saver, git: bool) -> None:
    root = Path(tempfile.mkdtemp(prefix="ta-cap-"))
    cli = CliPane("gemini", url=mock.url, root=root, trusted=False, git=git)
    try:
        cli.start()
        preflash: Shot | None = None
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            shot = cli.shot()
            if "Do you trust the files in this folder?" in shot.text:
                break
            if preflash is None and re.search(BOX, shot.text, re.MULTILINE):
                preflash = shot
            time.sleep(0.02)
        else:
            raise TimeoutError("gemini: no trust dialog")
        suffix = "" if git else "_nogit"
        where = "in a git repository" if git else "outside git"
        if preflash is not None:
            note = f"the normal prompt, drawn ~0.25 s before the trust dialog ({where})"
            save(cli, f"trust_preflash{suffix}", note, preflash)
        save(cli, f"trust{suffix}", f"folder-trust dialog ({where})", cli.settle(quiet=0.7))
        if not git:
            return
        launcher = cli.pid()
        cli.keys("Enter")  # 1. Trust folder
        shot = cli.wait_for(r"restarting to apply the trust changes", timeout=10)
        save(cli, "trust_restarting", "right after 'Trust folder'", shot)
        # The launcher starts a new child, which draws a new box below the old screen (or
        # on a cleared one).
        deadline = time.monotonic() + 40
        while not _box_after_restart(cli.shot().text):
            if time.monotonic() > deadline:
                raise TimeoutError("gemini: no prompt after the trust restart")
            time.sleep(0.1)
        time.sleep(1.0)
        shot = _idle(cli, timeout=40)
        if cli.pid() != launcher:
            raise AssertionError("the pane's process changed across the trust restart")
        save(cli, "trust_accepted", "idle after the in-pane restart (new child process)", shot)
    finally:
        _stop(cli)


def _firstrun_pane(mock: MockModel, save: _Saver) -> None:
    root = Path(tempfile.mkdtemp(prefix="ta-cap-"))
    cli = CliPane("gemini", url=mock.url, root=root)
    settings = cli.home / ".gemini" / "settings.json"
    data = json.loads(settings.read_text())
    data.pop("security", None)  # no auth type chosen yet: the first-run auth dialog
    settings.write_text(json.dumps(data))
    try:
        cli.start()
        cli.wait_for(r"How would you like to authenticate", timeout=40)
        save(cli, "firstrun_auth", "no security.auth.selectedType", cli.settle(quiet=0.7))
        cli.keys("Enter")  # 2. Use Gemini API Key (preselected: GEMINI_API_KEY is set)
        cli.wait_for(r"Please enter your Gemini API key", timeout=15)
        save(cli, "firstrun_apikey", "API key entry, prefilled from GEMINI_API_KEY", cli.settle())
        cli.keys("Enter")
        _idle(cli)
    finally:
        _stop(cli)


def _input_pane(mock: MockModel, save: _Saver) -> None:
    """How the box holds a short multi-line paste, a wrapped line, and shell mode."""
    root = Path(tempfile.mkdtemp(prefix="ta-cap-"))
    cli = CliPane("gemini", url=mock.url, root=root)
    try:
        cli.start()
        cli.wait_for(BOX, timeout=40)
        cli.settle(quiet=1.0)
        cli.paste("first line\nsecond line\nthird line")
        cli.wait_for(r"^   third line", timeout=10)
        note = "a 3-line bracketed paste shown inline (5 lines or fewer, 500 chars or fewer)"
        save(cli, "typed_inline", note + ", before Enter", cli.settle(quiet=0.5))
        cli.keys("C-c")
        cli.wait_for(BOX, timeout=10)
        cli.type("word " * 60)
        cli.wait_for(r"^   word", timeout=10)
        note = "300 typed characters wrapped onto a second row of the box"
        save(cli, "typed_wrapped", note, cli.settle(quiet=0.5))
        cli.keys("C-c")
        cli.wait_for(BOX, timeout=10)
        cli.settle(quiet=0.5)
        cli.type("!")
        cli.wait_for(r"^ !   Type your shell command", timeout=10)
        note = "after typing `!`: shell mode, a message pasted here would run as a command"
        save(cli, "shell_mode", note, cli.settle(quiet=0.7))
    finally:
        _stop(cli)


def _mode_pane(mock: MockModel, save: _Saver, mode: str) -> None:
    """The box under `--approval-mode yolo` (its sign is `*`) and `plan`."""
    root = Path(tempfile.mkdtemp(prefix="ta-cap-"))
    cli = CliPane("gemini", url=mock.url, root=root, args=["--approval-mode", mode])
    try:
        cli.start()
        cli.wait_for(r"^ [>*]   Type your message", timeout=40)
        notes = {
            "yolo": "--approval-mode yolo: the box's sign is `*`",
            "plan": "--approval-mode plan (read-only: no shell tool offered)",
        }
        save(cli, f"idle_{mode}", notes[mode], cli.settle(quiet=1.0))
    finally:
        _stop(cli)


def capture(mock: MockModel) -> list[str]:
    save = _Saver()
    errors: list[BaseException] = []

    def run(step: Callable[[], None]) -> None:
        try:
            step()
        except BaseException as err:  # re-raised below
            errors.append(err)

    # The trust and first-run panes never reach the model: run them beside the others.
    side = [
        threading.Thread(target=run, args=(lambda: _trust_pane(mock, save, True),)),
        threading.Thread(target=run, args=(lambda: _trust_pane(mock, save, False),)),
        threading.Thread(target=run, args=(lambda: _firstrun_pane(mock, save),)),
        threading.Thread(target=run, args=(lambda: _input_pane(mock, save),)),
        threading.Thread(target=run, args=(lambda: _mode_pane(mock, save, "yolo"),)),
        threading.Thread(target=run, args=(lambda: _mode_pane(mock, save, "plan"),)),
    ]
    for thread in side:
        thread.start()
    run(lambda: _main_pane(mock, save))
    for thread in side:
        thread.join()
    if errors:
        raise errors[0]
    return sorted(save.saved)

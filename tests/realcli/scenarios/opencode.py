"""OpenCode's screens (`opencode-ai`), captured against the mock model (Chat Completions).

OpenCode has no trust dialog and no first-run screen; it takes 5-25 s to draw its box (on
a fresh HOME it first installs `@opencode-ai/plugin` into `~/.config/opencode`), and keys
typed before the box is drawn are lost and garble its glyphs (`·`, `…`, `▣` become blanks)
for the whole run, so the scenario types only once the box is there. The box (`┃`) is
centred on the home screen (`idle`) and at the bottom left once the session has messages;
echoed user turns, tool output and errors in the transcript are drawn with `┃` too.

One pane: home screen, three exchanges (a typed one, a 300-line paste with a slow reply,
a message queued while busy), a bash permission prompt answered "Allow once" (Enter),
errors (400 is shown at once; 429/500/529 are retried with a countdown in the footer, the
scenario lets the first retry succeed), then `kill -9` and a restart with `-s <id>` (the id
read from the SQLite database), and Ctrl+C, which prints the session's `Continue` line.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import tempfile
import time
from pathlib import Path

from tests.mockmodel.replies import Error, Text, ToolCall
from tests.mockmodel.server import MockModel
from tests.realcli.capture import CliPane, Shot

READY = r"ctrl\+p commands"  # footer hint, drawn with the box
HOME_BOX = r"┃  Ask anything"  # the centred box on the home screen (placeholder after `…`)
BUSY = r"esc interrupt"
SLOW = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi"
PASTE = "\n".join(
    f"line {i:03d}: lorem ipsum dolor sit amet, consectetur adipiscing elit sed do"
    for i in range(300)
)


def _idle(cli: CliPane, reply: str, timeout: float = 60.0) -> Shot:
    """Wait until `reply` is drawn and the busy footer is gone, then for a still screen."""
    cli.wait_for(re.escape(reply), timeout=timeout)
    cli.wait_for(BUSY, absent=True, timeout=timeout)
    return cli.settle(quiet=1.0)


def _submit(cli: CliPane, text: str) -> None:
    cli.type(text)
    cli.wait_for(r"┃  " + re.escape(text), timeout=10)
    cli.keys("Enter")


def _exchange(cli: CliPane, mock: MockModel, text: str, reply: str) -> Shot:
    mock.script(Text(reply))
    _submit(cli, text)
    return _idle(cli, reply)


def _session_id(cli: CliPane) -> str:
    """The newest session of this workspace, from OpenCode's database."""
    db = cli.home / ".local" / "share" / "opencode" / "opencode.db"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        row = conn.execute(
            "SELECT id FROM session WHERE directory = ? ORDER BY time_created DESC LIMIT 1",
            (str(cli.workspace.resolve()),),
        ).fetchone()
    if row is None:
        raise RuntimeError("opencode: no session row for the workspace")
    return str(row[0])


def _error(cli: CliPane, mock: MockModel, status: int, saved: list[str]) -> None:
    """A retried status: save the footer's retry countdown, let the retry succeed."""
    message = f"mock error {status}"
    mock.script(Error(status, message), Text(f"recovered after {status}"))
    _submit(cli, f"provoke {status}")
    shot = cli.wait_for(re.escape(message) + r" \[retrying", timeout=30)
    cli.save(f"error_{status}_retrying", f"HTTP {status}, first retry pending", shot)
    saved.append(f"error_{status}_retrying")
    _idle(cli, f"recovered after {status}")


def capture(mock: MockModel) -> list[str]:
    saved: list[str] = []

    def save(state: str, note: str, shot: Shot | None = None) -> None:
        cli.save(state, note, shot)
        saved.append(state)

    root = Path(tempfile.mkdtemp(prefix="ta-cap-"))
    with CliPane("opencode", url=mock.url, root=root) as cli:
        cli.start()
        cli.wait_for(HOME_BOX + r"[\s\S]*" + READY, timeout=90)
        save("idle", "home screen: empty box centred, placeholder after the cursor", cli.settle())

        cli.type("hello opencode")
        save("typed", "home screen box with text, not submitted", cli.wait_for("hello opencode"))

        mock.script(Text("first reply from the mock"))
        cli.keys("Enter")
        save("replied", "session view after one exchange", _idle(cli, "first reply from the mock"))

        cli.paste(PASTE)
        cli.wait_for(r"\[Pasted ~300 lines\]", timeout=10)
        save("typed_multiline", "300-line bracketed paste, before Enter", cli.settle(quiet=0.5))
        mock.script(Text(SLOW, chunks=20, chunk_delay=0.3))
        cli.keys("Enter")
        cli.wait_for(BUSY, timeout=30)
        save("busy", "slow reply streaming", cli.wait_for(r"alpha beta", timeout=30))
        cli.type("sent while busy")
        save("busy_typed", "text typed while busy (stays in the box)", cli.wait_for("while busy"))
        mock.script(Text("answer to the queued message"))
        cli.keys("Enter")
        save("busy_queued", "Enter while busy: message QUEUED", cli.wait_for(r"QUEUED"))
        save("replied3", "after three exchanges", _idle(cli, "answer to the queued message"))
        pasted = [
            t for t in (r.user_texts()[-1:] for r in mock.turns()) if t and "line 299" in t[0]
        ]
        if not pasted or len(pasted[0][0].rstrip()) != len(PASTE):
            raise RuntimeError("opencode: the 300-line paste did not reach the model intact")

        mock.script(ToolCall("touch approval-probe"), Text("tool finished"))
        _submit(cli, "run a tool")
        cli.wait_for(r"Permission required[\s\S]*Allow once", timeout=60)
        save("approval", "bash permission prompt, Allow once selected", cli.settle(quiet=0.5))
        cli.keys("Enter")  # the highlighted choice, "Allow once"
        save(
            "after_approval", "after Allow once: tool output and reply", _idle(cli, "tool finished")
        )
        if not (cli.workspace / "approval-probe").exists():
            raise RuntimeError("opencode: the approved command did not run")

        mock.script(Error(400, "mock error 400"))
        _submit(cli, "provoke 400")
        cli.wait_for(r"┃  mock error 400", timeout=30)
        save("error_400", "HTTP 400: not retried, error block", _idle(cli, "mock error 400"))
        for status in (429, 500, 529):
            _error(cli, mock, status, saved)

        session = _session_id(cli)
        os.kill(cli.pid(), signal.SIGKILL)
        _wait_dead(cli)
        cli.start(["-s", session])
        cli.wait_for(r"recovered after 529[\s\S]*" + READY, timeout=90)
        save("resumed", "restarted with -s after kill -9", cli.settle())
        before = len(mock.turns())
        _exchange(cli, mock, "after the restart", "resumed reply")
        texts = mock.turns()[before].user_texts()
        if "hello opencode" not in texts or texts[-1] != "after the restart":
            raise RuntimeError(f"opencode: resumed request lacks the earlier turns: {texts}")

        cli.keys("C-c")
        cli.wait_for(r"Continue  opencode -s " + re.escape(session), timeout=20)
        _wait_dead(cli)
        save("exited", "after Ctrl+C on an empty box (exit 0; tmux remain-on-exit)", cli.settle())
    return saved


def _wait_dead(cli: CliPane, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while cli.tmux("display-message", "-p", "-t", cli.pane, "#{pane_dead}").strip() != "1":
        if time.monotonic() > deadline:
            raise RuntimeError("opencode: still running")
        time.sleep(0.1)

"""A multi-line message pasted through tmux arrives as one message, in the fake and a stub.

The messages executor loads a message into a named tmux buffer, pastes it with
`paste-buffer -p` (bracketed: tmux wraps it in `ESC[200~` ... `ESC[201~` because the CLI
turned the mode on) and presses Enter once. These tests do exactly that against a real
tmux server on a private socket, and check what the CLI received: one message holding the
whole text, not one message per line.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, retry_until

pytestmark = pytest.mark.e2e

STUBS_BIN = REPO / "tests" / "stubs" / "bin"
HEADER = "[team-agent] msg-1 from leader task=T9"
BODY = "\n".join(f"body line {i:03d}: " + "word " * 12 for i in range(199))
TEXT = f"{HEADER}\n{BODY}"  # 200 lines
RECORDER = "import sys; open(sys.argv[1], 'a').write(sys.stdin.read() + '\\n')"


def squeeze(text: str) -> str:
    """Whitespace runs as one space: tmux drops trailing blanks and `-J` joins wrapped lines."""
    return " ".join(text.split())


def tmux(socket: str, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        ["tmux", "-L", socket, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    return done.stdout


def start(socket: str, argv: list[str], *, cwd: Path, env: dict[str, str]) -> str:
    """Run `argv` in a new session of the private server; its pane id."""
    flags = [f for k, v in env.items() for f in ("-e", f"{k}={v}")]
    out = tmux(
        socket,
        *("new-session", "-d", "-x", "200", "-y", "50", "-c", str(cwd), *flags),
        *("-P", "-F", "#{pane_id}", "--", *argv),
    )
    return out.strip()


def screen(socket: str, pane: str) -> str:
    return tmux(socket, "capture-pane", "-p", "-J", "-t", pane)


def paste_and_enter(socket: str, pane: str, text: str) -> None:
    """What the executor does: buffer, bracketed paste, wait for the tail, one Enter."""
    tmux(socket, "load-buffer", "-b", "ta-msg-1", "-", stdin=text)
    tmux(socket, "paste-buffer", "-p", "-d", "-b", "ta-msg-1", "-t", pane)
    tail = squeeze(text)[-120:]
    retry_until(lambda: squeeze(screen(socket, pane)).endswith(tail))
    tmux(socket, "send-keys", "-t", pane, "Enter")


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def sha12(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def test_fake_takes_a_200_line_paste_as_one_message(tmux_socket: str, tmp_path: Path) -> None:
    home, reports = tmp_path / "fake-home", tmp_path / "reports.jsonl"
    env = {
        "FAKE_AGENT_HOME": str(home),
        "TEAM_AGENT_ID": "impl",
        "TEAM_AGENT_FAKE_REPORT_CMD": json.dumps([sys.executable, "-c", RECORDER, str(reports)]),
    }
    fake = [sys.executable, "-m", "reconciler.fakeagent.agent"]
    pane = start(tmux_socket, fake, cwd=REPO, env=env)
    retry_until(lambda: "fake> " in screen(tmux_socket, pane))

    paste_and_enter(tmux_socket, pane, TEXT)

    reply = f"fake: {HEADER} (+199 lines, {len(TEXT.encode())} bytes, sha256 {sha12(TEXT)})"
    shown = retry_until(lambda: "reported T9" in (s := screen(tmux_socket, pane)) and s)
    assert f"{reply}\nreported T9\nfake> " in shown
    (transcript,) = (home / "sessions").iterdir()
    assert [r["text"] for r in jsonl(transcript) if r["type"] == "user"] == [TEXT]
    (envelope,) = jsonl(reports)
    assert envelope["task_id"] == "T9"
    assert envelope["summary"] == (
        f"fake handled msg-1: 199 lines, {len(BODY.encode())} bytes, sha256 {sha12(BODY)}"
    )


def test_claude_stub_takes_a_200_line_paste_as_one_input(tmux_socket: str, tmp_path: Path) -> None:
    home, work, log = tmp_path / "home", tmp_path / "work", tmp_path / "argv.jsonl"
    home.mkdir()
    work.mkdir()
    trust = {"projects": {str(work): {"hasTrustDialogAccepted": True}}}
    (home / ".claude.json").write_text(json.dumps(trust))
    env = {"HOME": str(home), "STUB_ARGV_LOG": str(log), "CLAUDE_CONFIG_DIR": ""}
    pane = start(tmux_socket, [sys.executable, str(STUBS_BIN / "claude")], cwd=work, env=env)
    retry_until(lambda: "? for shortcuts" in screen(tmux_socket, pane))

    paste_and_enter(tmux_socket, pane, TEXT)

    inputs = retry_until(lambda: [r["text"] for r in jsonl(log) if r["kind"] == "input"])
    assert inputs == [TEXT]
    last = BODY.rsplit("\n", 1)[-1].strip()
    # The reply quotes the whole message; the prompt is drawn again after it.
    retry_until(lambda: "? for shortcuts" in screen(tmux_socket, pane).rsplit(last, 1)[-1])

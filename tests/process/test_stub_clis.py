"""The stub CLIs themselves: the real refusals and messages, and files where the CLIs put them.

The end-to-end tests trust the stubs to behave as the real CLIs do; these pin the parts
team-agent's correctness depends on (an existing `--session-id` is refused, an unknown
resume fails with the real message, a transcript appears only at the first message and at
the real path). They run the stubs as processes with a pipe for stdin, no tmux.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

BIN = REPO / "tests" / "stubs" / "bin"
SID = "11111111-2222-4333-8444-555555555555"


def run(
    cli: str, *args: str, home: Path, cwd: Path, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAUDE", "CODEX", "STUB"))}
    env["HOME"] = str(home)
    return subprocess.run(
        [sys.executable, str(BIN / cli), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=30,
        check=False,
    )


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    home, cwd = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    cwd.mkdir()
    trust = {"projects": {str(cwd): {"hasTrustDialogAccepted": True}}}
    (home / ".claude.json").write_text(json.dumps(trust))
    (home / ".codex").mkdir()
    (home / ".codex" / "config.toml").write_text(f'[projects."{cwd}"]\ntrust_level = "trusted"\n')
    return home, cwd


def claude_file(home: Path, cwd: Path, sid: str) -> Path:
    return home / ".claude" / "projects" / re.sub(r"[^A-Za-z0-9]", "-", str(cwd)) / f"{sid}.jsonl"


def test_claude_writes_the_transcript_at_the_first_message_only(folders: tuple[Path, Path]) -> None:
    home, cwd = folders
    idle = run("claude", "--session-id", SID, home=home, cwd=cwd, stdin="/exit\n")
    assert idle.returncode == 0 and not claude_file(home, cwd, SID).exists()

    talked = run("claude", "--session-id", SID, home=home, cwd=cwd, stdin="hi\n/exit\n")

    lines = [json.loads(x) for x in claude_file(home, cwd, SID).read_text().splitlines()]
    assert talked.returncode == 0
    assert [line["type"] for line in lines] == ["file-history-snapshot", "user", "assistant"]
    assert {line["sessionId"] for line in lines[1:]} == {SID}
    assert lines[1]["cwd"] == str(cwd)


def test_claude_refusals_use_the_real_messages(folders: tuple[Path, Path]) -> None:
    home, cwd = folders
    run("claude", "--session-id", SID, home=home, cwd=cwd, stdin="hi\n")

    reused = run("claude", "--session-id", SID, home=home, cwd=cwd)
    unknown = run("claude", "--resume", "00000000-0000-4000-8000-000000000000", home=home, cwd=cwd)
    both = run("claude", "--session-id", SID, "--resume", SID, home=home, cwd=cwd)
    resumed = run("claude", "--resume", SID, home=home, cwd=cwd, stdin="again\n")

    assert (reused.returncode, reused.stderr.strip()) == (
        1,
        f"Error: Session ID {SID} is already in use.",
    )
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == (
        "No conversation found with session ID: 00000000-0000-4000-8000-000000000000"
    )
    assert both.returncode == 1 and "--fork-session" in both.stderr
    assert resumed.returncode == 0
    assert "again" in claude_file(home, cwd, SID).read_text()


def test_codex_rollout_and_resume(folders: tuple[Path, Path]) -> None:
    home, cwd = folders
    dev = 'developer_instructions="tag: team-agent:abc"'
    run("codex", "-c", dev, home=home, cwd=cwd, stdin="/exit\n")
    assert not list((home / ".codex").glob("sessions/*/*/*/*.jsonl"))

    run("codex", "-c", dev, home=home, cwd=cwd, stdin="hello\n")
    (rollout,) = (home / ".codex").glob("sessions/*/*/*/rollout-*.jsonl")
    lines = [json.loads(x) for x in rollout.read_text().splitlines()]
    sid = lines[0]["payload"]["id"]
    unknown = run("codex", "resume", "nope", home=home, cwd=cwd)
    resumed = run("codex", "resume", sid, home=home, cwd=cwd, stdin="more\n")

    assert lines[0]["type"] == "session_meta" and lines[0]["payload"]["cwd"] == str(cwd)
    assert rollout.name.endswith(f"-{sid}.jsonl") and sid[14] == "7"  # a UUIDv7
    assert lines[1]["payload"]["content"][0]["text"] == "tag: team-agent:abc"
    assert unknown.returncode == 1
    assert unknown.stderr.startswith("ERROR: No saved session found with ID nope.")
    assert resumed.returncode == 0 and "more" in rollout.read_text()


def test_a_bracketed_paste_is_one_input(folders: tuple[Path, Path], tmp_path: Path) -> None:
    """tmux's `paste-buffer -p` (LF sent as CR, inside the paste markers) is one message."""
    home, cwd = folders
    log = tmp_path / "argv.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAUDE", "STUB"))}
    env.update(HOME=str(home), STUB_ARGV_LOG=str(log))
    keys = "\x1b[200~first\rsecond\r\nthird\x1b[201~\r\x1b[Aafter\r/exit\r"
    subprocess.run(
        [sys.executable, str(BIN / "claude")],
        input=keys,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=30,
        check=True,
    )
    logged = [json.loads(x) for x in log.read_text().splitlines()]
    inputs = [r["text"] for r in logged if r["kind"] == "input"]
    assert inputs == ["first\nsecond\nthird", "after", "/exit"]

"""Claude Code against the real CLI (@anthropic-ai/claude-code, pinned): what the shared
suite does not check.

* Pre-assigned sessions: the id team-agent chose is the transcript Claude writes, at the
  first message and not before; every restart (kill -9, twice) resumes that same
  conversation with `--resume <id>`, and the model sees the earlier turns each time.
* What Claude leaves behind: a Bash tool still running when Claude is killed survives it
  in a session of its own (pgid = sid = the bash pid), reparented away from the pane,
  carrying the agent's `TEAM_AGENT_*` variables. The orphans controller finds it as ours
  (its pane is gone) and `orphans --reap` removes it; `down` of a Claude that is running a
  tool leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import statistics
import time
import uuid
from pathlib import Path

import psutil
import pytest

from controllers.providers import transcripts
from reconciler.api import conditions as C
from tests.conftest import retry_until
from tests.mockmodel.replies import Text, ToolCall
from tests.realcli.clis import CLIS
from tests.realcli.team import RealTeam

pytestmark = [pytest.mark.e2e, pytest.mark.realcli]

CLI = CLIS["claude"]


def transcript_of(real: RealTeam, session_id: str) -> Path:
    return transcripts.claude_transcript(
        {"HOME": str(real.home)}, str(real.root.resolve()), session_id
    )


def restarted(real: RealTeam, count: int) -> None:
    real.until(
        lambda r: (
            r.status.agents["worker"].restartCount == count
            and C.is_true(r.status.agents["worker"].conditions, C.READY)
        ),
        timeout=CLI.ready_sec,
    )


def test_the_preassigned_session_is_resumed_at_every_restart(real_team: RealTeam) -> None:
    real = real_team
    real.spec("claude")
    started = time.monotonic()
    real.until_ready(timeout=CLI.ready_sec)
    ready_after = time.monotonic() - started
    sid = real.team.status().agents["worker"].sessionId
    assert sid is not None and uuid.UUID(sid)
    path = transcript_of(real, sid)
    assert not path.exists()  # Claude writes it at the first message, not at start

    words: list[str] = []
    delivered: list[float] = []
    for restart in range(3):
        word = f"turn{restart}-{uuid.uuid4().hex[:8]}"
        sent = time.monotonic()
        real.until_delivered(real.send(f"remember {word}"))
        delivered.append(time.monotonic() - sent)
        real.until_model_saw(word)
        turn = next(t for t in real.mock.turns() if word in t.user_texts()[-1])
        # Every earlier message is in this request, not necessarily as a turn of its own:
        # a kill before Claude recorded its reply leaves the resumed history ending in
        # that message, which then joins the next one (as Gemini does, measured there).
        sent_texts = " ".join(turn.user_texts())
        assert all(w in sent_texts for w in words), f"not resumed: {words} / {sent_texts}"
        words.append(word)
        real.until(
            lambda r: C.is_true(r.status.agents["worker"].conditions, C.SESSION_CAPTURED),
            timeout=30,
        )
        status = real.team.status().agents["worker"]
        assert status.sessionId == sid and status.sessionFile == str(path) and path.exists()
        if restart == 2:
            break
        real.kill_cli()
        restarted(real, restart + 1)
        cmdline = psutil.Process(real.pane_pid()).cmdline()
        assert cmdline[cmdline.index("--resume") + 1] == sid and "--session-id" not in cmdline
    assert not C.is_true(real.team.status().agents["worker"].conditions, C.CRASH_LOOP_BACK_OFF)
    print(
        f"\nclaude: create->Ready {ready_after:.1f}s, send->delivered median "
        f"{statistics.median(delivered):.2f}s ({', '.join(f'{d:.2f}' for d in delivered)})"
    )


def test_a_transcript_without_a_message_is_neither_resumed_nor_reused(
    real_team: RealTeam,
) -> None:
    """Claude writes `ai-title`, `mode` and `permission-mode` lines ~0.1 s after the first
    Enter and the message itself ~0.3 s after it; killed in between, the file holds no
    conversation: `--resume` fails ("No conversation found") and `--session-id` too
    ("already in use"). Such a session is not Captured, and the restart takes a new id."""
    real = real_team
    real.spec("claude")
    real.until_ready(timeout=CLI.ready_sec)
    sid = real.team.status().agents["worker"].sessionId
    assert sid is not None
    path = transcript_of(real, sid)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [  # what 2.1.197 had written when killed 0.2 s after the first Enter
        {"type": "ai-title", "sessionId": sid, "aiTitle": "Mock session"},
        {"type": "mode", "mode": "normal", "sessionId": sid},
        {"type": "permission-mode", "permissionMode": "default", "sessionId": sid},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    real.kill_cli()
    restarted(real, 1)
    status = real.team.status().agents["worker"]
    assert status.sessionId not in (None, sid)
    assert not C.is_true(status.conditions, C.SESSION_CAPTURED)
    cmdline = psutil.Process(real.pane_pid()).cmdline()
    assert cmdline[cmdline.index("--session-id") + 1] == status.sessionId
    word = f"fresh-{uuid.uuid4().hex[:8]}"
    real.until_delivered(real.send(f"remember {word}"))
    real.until_model_saw(word)
    real.until(
        lambda r: C.is_true(r.status.agents["worker"].conditions, C.SESSION_CAPTURED),
        timeout=30,
    )


def sleepers(real: RealTeam, marker: str) -> list[psutil.Process]:
    """Our processes running the tool's command (the bash Claude started and its child)."""
    found = []
    for proc in real.ours():
        try:
            if marker in " ".join(proc.cmdline()):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def start_a_long_tool(real: RealTeam, marker: str) -> list[psutil.Process]:
    real.spec("claude", fields="    auto_approve: [Bash]")
    real.until_ready(timeout=CLI.ready_sec)
    real.mock.script(ToolCall(f"sleep 600 # {marker}"), Text("slept"))
    real.send("please run the long command")
    real.until(lambda _: bool(sleepers(real, marker)), timeout=60)  # delivered, approved
    return sleepers(real, marker)


def test_a_bash_tool_outliving_a_killed_claude_is_an_orphan_of_ours(real_team: RealTeam) -> None:
    real = real_team
    marker = f"ta-{uuid.uuid4().hex[:8]}"
    tools = start_a_long_tool(real, marker)
    claude_pid = real.pane_pid()
    for proc in tools:  # a session of its own: the pane's process group does not hold it
        assert proc.pid != claude_pid and psutil.Process(proc.pid).environ()["TEAM_AGENT_ID"]
        assert os.getsid(proc.pid) != os.getsid(claude_pid)

    real.kill_cli()
    restarted(real, 1)
    assert {p.pid for p in sleepers(real, marker)} == {p.pid for p in tools}  # still running

    listed = real.cli("orphans", "-o", "json")
    orphans = json.loads(listed.stdout)["orphans"]
    found = {int(o["pid"]) for o in orphans if o["kind"] == "process" and o.get("pid")}
    assert {p.pid for p in tools} <= found, orphans
    assert all("its pane is gone" in o["reason"] for o in orphans if o["kind"] == "process")

    reaped = real.cli("orphans", "--reap")
    assert reaped.returncode in (0, 1), reaped.stderr
    retry_until(lambda: not sleepers(real, marker), timeout=20)
    assert real.ready() is not None and real.ready().status == C.TRUE  # the agent is untouched

    done = real.cli("down")
    assert done.returncode == 0, done.stderr
    retry_until(lambda: not real.ours(), timeout=15)


def test_down_while_claude_runs_a_tool_leaves_nothing(real_team: RealTeam) -> None:
    real = real_team
    marker = f"ta-{uuid.uuid4().hex[:8]}"
    start_a_long_tool(real, marker)
    done = real.cli("down")
    assert done.returncode == 0, done.stderr
    assert "orphan/process/" in done.stdout  # the tool, reaped by down itself
    retry_until(lambda: not real.ours(), timeout=30)

"""Gemini CLI's sessions and leftovers, against the real CLI (@google/gemini-cli 0.61.0).

Measured: Gemini writes its chat file at startup and refuses `--session-id` of an id whose
file exists (exit 42), so every restart must resume; its launcher and worker child
outlive the tmux server. These tests prove that an agent killed again and again resumes
the same conversation each time, and that `down` stops a Gemini that outlived its tmux
server.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest

from reconciler.api import conditions as C
from tests.conftest import retry_until
from tests.realcli.team import RealTeam
from tests.realcli.test_real_clis import exchange

pytestmark = [pytest.mark.e2e, pytest.mark.realcli]


def test_every_restart_resumes_the_same_session(real_team: RealTeam) -> None:
    real = real_team
    real.spec("gemini")
    real.until_ready()
    first = real.team.status().agents["worker"]
    # Written at startup: captured before any message.
    real.until(lambda r: C.is_true(r.status.agents["worker"].conditions, C.SESSION_CAPTURED))
    sid = real.team.status().agents["worker"].sessionId
    assert sid is not None and sid == first.sessionId
    chat = Path(str(real.team.status().agents["worker"].sessionFile))
    assert chat.parent == real.home / ".gemini" / "tmp" / "ws" / "chats"
    assert json.loads(chat.read_text().split("\n", 1)[0])["sessionId"] == sid

    words = [exchange(real, "before")]
    for round_ in (1, 2):
        before = real.pane_pid()
        real.kill_cli()
        real.until(
            lambda r, before=before: (
                r.status.agents["worker"].pid not in (None, before)
                and C.is_true(r.status.agents["worker"].conditions, C.READY)
            ),
            timeout=60,
        )
        status = real.team.status().agents["worker"]
        assert status.restartCount == round_
        assert status.sessionId == sid and status.sessionFile == str(chat)
        assert not C.is_true(status.conditions, C.CRASH_LOOP_BACK_OFF)
        words.append(exchange(real, f"after{round_}"))
        turn = next(t for t in real.mock.turns() if words[-1] in (t.user_texts() or [""])[-1])
        # Every earlier message is in this request. Not necessarily as its own turn: when
        # the kill came before Gemini recorded its reply, the resumed history ends with that
        # message, and Gemini joins it with the next one into one user turn (measured).
        sent = " ".join(turn.user_texts())
        assert all(word in sent for word in words), f"not the same conversation: {words} / {sent}"
    # One conversation, never a second session. Measured: a `--resume` started in a later
    # minute than the chat file's name first writes a metadata-only file of the same id
    # under the new minute (in the same minute it appends to the same file), then goes on
    # in the original; Gemini's own resume skips such a file (no resumable content).
    talked = sorted(p.name for p in chat.parent.glob("session-*.jsonl") if _has_user_turn(p))
    assert talked == [chat.name], f"chat files with messages {talked}, expected {chat.name}"


def _has_user_turn(chat: Path) -> bool:
    """A message record of the user's (not the `$set` of Gemini's startup context)."""
    records = (json.loads(line) for line in chat.read_text().splitlines() if line.strip())
    return any(record.get("type") == "user" for record in records)


def test_down_stops_a_gemini_that_outlived_its_tmux_server(real_team: RealTeam) -> None:
    """The tmux server is lost: the old Gemini lives on (measured), the agent comes back
    in a new server resuming its session, and `down` stops both, the old one as a process
    of this team whose pane is gone (its server a zombie until pid 1 reaps it)."""
    real = real_team
    real.spec("gemini")
    real.until_ready()
    word = exchange(real, "before")
    sid = real.team.status().agents["worker"].sessionId
    time.sleep(1.5)  # idle: a Gemini drawing at that moment may die of the write instead
    old = {p.pid for p in real.ours()}
    real.team.tmux.kill_server()
    time.sleep(1.0)
    # Measured: an idle launcher and its child survive the loss of their terminal.
    assert len(old) == 2 and {p.pid for p in real.ours()} == old
    real.team.engine_ = None  # a new reconciler, as after a reboot of team-agent
    real.until_ready()
    assert real.team.status().agents["worker"].sessionId == sid
    after = exchange(real, "after")
    turn = next(t for t in real.mock.turns() if after in (t.user_texts() or [""])[-1])
    assert word in " ".join(turn.user_texts()[:-1]), "the new server's agent did not resume"
    done = real.cli("down")
    assert done.returncode == 0, done.stderr
    retry_until(lambda: not real.ours(), timeout=20)


def test_a_reconciler_run_by_ci_does_not_make_gemini_headless(
    real_team: RealTeam, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`reconcile --once` in a CI job: the reconciler (and the tmux server it starts) has
    `CI=true` and `CI_*` variables. Gemini CLI 0.61 reads them as "no terminal" and exits
    at once (42, or 55 in an untrusted folder; measured). team-agent keeps them from its
    agents, so the agent is Ready and takes a message as anywhere else."""
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("CI_JOB_TOKEN", "secret")
    real = real_team
    real.spec("gemini")
    real.until_ready(timeout=60)
    status = real.team.status().agents["worker"]
    assert status.restartCount == 0
    word = f"ci-{uuid.uuid4().hex[:8]}"
    real.until_delivered(real.send(f"please answer: {word}"))
    real.until_model_saw(word)

"""What only Codex needs proven against the real CLI (@openai/codex 0.171.0).

* Enter while a reply streams interrupts it (measured), and mid-stream the screen looks
  idle: only the pane title's spinner says Codex is busy. A message sent meanwhile must
  wait for the turn to end and then go once, leaving the streamed reply whole.
* Codex starts a shared `codex app-server` daemon that outlives its pane unless told not
  to (`--no-daemon`, or any `-c`, both of which team-agent passes): after `down` nothing
  started with the agent's HOME may be left running.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

from tests.conftest import retry_until
from tests.mockmodel.replies import Text
from tests.realcli.team import RealTeam

pytestmark = [pytest.mark.e2e, pytest.mark.realcli]

SLOW_WORDS = 40
SLOW = Text("streaming " * SLOW_WORDS, chunks=SLOW_WORDS, chunk_delay=0.15)


def token(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:10]}"


def test_a_message_sent_while_codex_streams_waits_for_the_turn_to_end(
    real_team: RealTeam,
) -> None:
    real = real_team
    real.spec("codex")
    real.until_ready()
    real.mock.script(SLOW)
    slow = token("slow")
    slow_id = real.send(f"answer slowly: {slow}")
    real.until_delivered(slow_id)
    real.until_model_saw(slow)
    retry_until(lambda: "streaming streaming" in real.screen(), timeout=15)

    second = token("second")
    second_id = real.send(f"and this: {second}")
    for _ in range(5):  # passes while the reply streams: the message waits
        real.team.reconcile()
        time.sleep(0.2)
    assert real.message(second_id).state == "queued", real.message(second_id)
    real.until_delivered(second_id, timeout=60)
    real.until_model_saw(second)

    assert real.turns_with(slow) == 1 and real.turns_with(second) == 1
    turns = real.mock.turns()
    first = next(t for t in turns if slow in t.user_texts()[-1])
    later = next(t for t in turns if second in t.user_texts()[-1])
    assert later.at - first.at >= SLOW_WORDS * 0.15 * 0.9, "sent before the reply ended"
    history = json.dumps(later.body)
    assert history.count("streaming") >= SLOW_WORDS, "the streamed reply was cut short"
    assert "Conversation interrupted" not in real.screen()


def test_down_leaves_no_codex_process_or_daemon(real_team: RealTeam) -> None:
    real = real_team
    real.spec("codex")
    real.until_ready()
    word = token("hello")
    real.until_delivered(real.send(f"please answer briefly: {word}"))
    real.until_model_saw(word)
    running = real.under_home()
    assert running, "the codex agent should run with the test's HOME"
    assert not any("app-server" in " ".join(p.cmdline()) for p in running), "a daemon started"

    done = real.cli("down")
    assert done.returncode == 0, done.stderr
    retry_until(lambda: not real.ours() and not real.under_home(), timeout=15)
    assert not (real.home / ".codex" / "app-server-daemon" / "daemon.pid").exists()

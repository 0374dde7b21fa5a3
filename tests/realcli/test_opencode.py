"""OpenCode's pre-assigned sessions against the real CLI (opencode-ai, pinned).

OpenCode takes no id for a new session; team-agent has the pane run `opencode import`
with its own `ses_…` id right before `opencode --session <id>`. This checks, on the real
CLI, what the shared suite does not: the id team-agent chose is the one OpenCode writes
the conversation under (its SQLite database, read read-only), it is Captured before any
message, and a restart opens that same session rather than a new one.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from contextlib import closing
from pathlib import Path

import pytest

from reconciler.api import conditions as C
from tests.realcli.clis import CLIS
from tests.realcli.team import RealTeam

pytestmark = [pytest.mark.e2e, pytest.mark.realcli]

CLI = CLIS["opencode"]


def sessions_in(db: Path) -> dict[str, list[str]]:
    """Session id -> the JSON of its messages, from OpenCode's database (read-only)."""
    with closing(sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=1)) as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM session")]
        return {
            sid: [
                str(row[0])
                for row in conn.execute("SELECT p.data FROM part p WHERE p.session_id = ?", (sid,))
            ]
            for sid in ids
        }


def test_the_preassigned_session_holds_the_conversation_across_a_restart(
    real_team: RealTeam,
) -> None:
    real = real_team
    real.spec("opencode")
    started = time.monotonic()
    real.until_ready(timeout=CLI.ready_sec)
    ready_after = time.monotonic() - started
    status = real.team.status().agents["worker"]
    sid = status.sessionId
    assert sid is not None and sid.startswith("ses_")
    db = real.home / ".local" / "share" / "opencode" / "opencode.db"
    real.until(
        lambda r: C.is_true(r.status.agents["worker"].conditions, C.SESSION_CAPTURED),
        timeout=30,
    )
    assert real.team.status().agents["worker"].sessionFile == str(db)
    assert list(sessions_in(db)) == [sid]  # imported before the CLI started, nothing else

    word = f"first-{uuid.uuid4().hex[:8]}"
    sent = time.monotonic()
    real.until_delivered(real.send(f"remember {word}"))
    delivered_after = time.monotonic() - sent
    real.until_model_saw(word)
    print(f"\nopencode: create->Ready {ready_after:.1f}s, send->delivered {delivered_after:.1f}s")

    real.kill_cli()
    real.until(
        lambda r: (
            r.status.agents["worker"].restartCount == 1
            and C.is_true(r.status.agents["worker"].conditions, C.READY)
        ),
        timeout=CLI.ready_sec,
    )
    assert real.team.status().agents["worker"].sessionId == sid
    later = f"second-{uuid.uuid4().hex[:8]}"
    real.until_delivered(real.send(f"and {later}"))
    real.until_model_saw(later)

    found = sessions_in(db)
    assert list(found) == [sid], "a restart created another session"
    text = " ".join(found[sid])
    assert word in text and later in text

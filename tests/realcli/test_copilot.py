"""Copilot CLI's session locks, against the real CLI (@github/copilot 1.0.102).

A running Copilot holds `session-state/<id>/inuse.<pid>.lock` (and a flock'ed
`inuse.<pid>.hold`). Measured: a lock whose pid is dead is deleted by the next start,
silently; a lock naming a live process shows "Session in use" (the CLI checks the pid
only, so a reused pid shows it too). team-agent leaves dead locks to Copilot, reports
"Session in use" as a dialog and never answers it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from reconciler.api import conditions as C
from tests.conftest import retry_until
from tests.realcli.team import RealTeam
from tests.realcli.test_real_clis import exchange

pytestmark = [pytest.mark.e2e, pytest.mark.realcli]


def session_dir(real: RealTeam) -> Path:
    sid = real.team.status().agents["worker"].sessionId
    assert sid is not None
    return real.home / ".copilot" / "session-state" / sid


def locks(real: RealTeam) -> list[str]:
    return sorted(p.name for p in session_dir(real).glob("inuse.*"))


def native_pid(real: RealTeam) -> int:
    """The native binary: the only child of the pane's `node` wrapper."""
    wrapper = real.pane_pid()
    (child,) = Path(f"/proc/{wrapper}/task/{wrapper}/children").read_text().split()
    return int(child)


def test_a_killed_native_binary_leaves_a_lock_the_restart_removes(real_team: RealTeam) -> None:
    real = real_team
    real.spec("copilot")
    real.until_ready()
    words = [exchange(real, "before")]
    # Copilot appends to events.jsonl after the request; a kill before that loses the turn.
    events = session_dir(real) / "events.jsonl"
    retry_until(lambda: events.is_file() and words[0] in events.read_text(), timeout=30)
    native = native_pid(real)
    assert locks(real) == [f"inuse.{native}.hold", f"inuse.{native}.lock"]

    os.kill(native, signal.SIGKILL)  # the wrapper exits 1; the lock stays behind
    before = real.pane_pid()
    real.until(
        lambda r: (
            r.status.agents["worker"].pid not in (None, before)
            and C.is_true(r.status.agents["worker"].conditions, C.READY)
        ),
        timeout=90,
    )
    after = exchange(real, "after")
    turn = next(t for t in real.mock.turns() if after in (t.user_texts() or [""])[-1])
    assert all(word in " ".join(turn.user_texts()[:-1]) for word in words)
    assert f"inuse.{native}.lock" not in locks(real)

    done = real.cli("down")
    assert done.returncode == 0, done.stderr
    retry_until(lambda: not real.ours(), timeout=15)
    assert locks(real) == []  # `down` lets Copilot remove its own lock


def test_session_in_use_is_awaiting_input_and_never_answered(
    real_team: RealTeam, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = real_team
    real.spec("copilot")
    real.until_ready()
    exchange(real, "first")
    monkeypatch.setenv("TEAM_AGENT_AUTO_TRUST_OWN_WORKSPACE", "1")
    folder = session_dir(real)
    holder = subprocess.Popen(["sleep", "300"])  # a live process the lock names
    try:
        before = real.kill_cli()  # the wrapper: the native binary exits and removes its lock
        retry_until(lambda: not list(folder.glob("inuse.*")), timeout=15)
        (folder / f"inuse.{holder.pid}.lock").write_text(str(holder.pid))
        (folder / f"inuse.{holder.pid}.hold").write_text("")

        def at_dialog(_: object) -> bool:
            agent = real.team.status().agents["worker"]
            ready = C.find_condition(agent.conditions, C.READY)
            return (
                agent.pid not in (None, before)
                and ready is not None
                and (ready.reason == C.AWAITING_INPUT)
            )

        real.until(at_dialog, timeout=90)
        for _ in range(5):
            real.team.reconcile()
        ready = real.ready()
        assert ready is not None and ready.reason == C.AWAITING_INPUT
        assert "session in use" in ready.message
        assert "Session in use" in real.screen()
        events = json.loads(real.cli("events", "-o", "json").stdout)
        assert not [e for e in events if e.get("reason") == "DialogAnswered"]
    finally:
        holder.kill()
        holder.wait()

"""The request files between a verb and a running `run` (`reconciler.engine.requests`).

Real files in a temp state folder, real processes as requesters; no tmux. The loop's
side and the verb's side are called directly, in the orders that matter: answered,
withdrawn before the claim, withdrawn too late, requester gone, a file that is not a
request.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from reconciler.engine.requests import (
    DOWN,
    REAP_ORPHANS,
    RUN_ACCEPTS,
    Answer,
    answer,
    await_answer,
    claim_pending,
    requests_dir,
    submit,
    withdraw,
)
from reconciler.engine.wake import wake_path
from reconciler.store.lock import LockHolder, WorkspaceLock, describe_holder, read_holder


@pytest.fixture
def state(tmp_path: Path) -> Path:
    folder = tmp_path / ".team"
    folder.mkdir(mode=0o700)
    return folder


def test_a_request_is_claimed_answered_and_read_once(state: Path) -> None:
    request = submit(state, DOWN)
    assert wake_path(state).exists(), "the loop is woken as `send` wakes it"
    assert (requests_dir(state) / f"{request.id}.request").stat().st_mode & 0o777 == 0o600

    claimed, dropped = claim_pending(state)
    assert (claimed, dropped) == ([request], [])
    assert claim_pending(state) == ([], []), "a claimed request is performed once"
    assert not withdraw(state, request), "too late to withdraw a claimed request"

    reply = Answer(id=request.id, kind=DOWN, by=1234, stopped=["agent/a (%1)"], runExits=True)
    answer(state, reply)
    assert await_answer(state, request, deadline=time.monotonic()) == reply
    assert sorted(p.name for p in requests_dir(state).iterdir()) == [], "nothing is left"


def test_a_withdrawn_request_is_never_claimed(state: Path) -> None:
    request = submit(state, REAP_ORPHANS)
    assert await_answer(state, request, deadline=time.monotonic() + 0.05) is None
    assert withdraw(state, request)
    assert claim_pending(state) == ([], [])


def test_waiting_ends_when_the_loop_is_gone(state: Path) -> None:
    request = submit(state, DOWN)
    began = time.monotonic()
    assert await_answer(state, request, deadline=began + 10, alive=lambda: False) is None
    assert time.monotonic() - began < 1


def test_stale_leftovers_are_removed(state: Path) -> None:
    folder = requests_dir(state)
    folder.mkdir()
    old, fresh = folder / "x.answer", folder / "y.answer"
    old.write_text("{}")
    fresh.write_text("{}")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    claim_pending(state)
    assert sorted(p.name for p in folder.iterdir()) == ["y.answer"]


def test_run_advertises_what_it_answers_in_the_lock_record(state: Path) -> None:
    lock = WorkspaceLock(state, verb="run", accepts=RUN_ACCEPTS)
    with lock:
        holder = read_holder(lock.path)
        assert holder is not None
        assert (holder.verb, holder.accepts) == ("run", ("down", "reap-orphans"))
        assert describe_holder(holder) == f"`team-agent run` (pid {os.getpid()})"
    old = LockHolder(pid=42)  # a record written before verbs were recorded
    assert (old.verb, old.accepts, describe_holder(old)) == (None, (), "pid 42")
    assert describe_holder(None) == "another process"

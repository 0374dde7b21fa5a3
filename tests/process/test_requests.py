"""Requests whose requester is gone: a reaped child's pid and create time name no live
process, so its request is dropped. The rest of the protocol: tests/unit/test_requests.py.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import msgspec

from reconciler.engine.requests import (
    DOWN,
    REAP_ORPHANS,
    Request,
    claim_pending,
    requests_dir,
    submit,
)


def test_requests_of_requesters_gone_and_foreign_files_are_dropped(state: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # reaped: its pid and create time name no live process
    folder = requests_dir(state)
    folder.mkdir()
    orphaned = Request(id="a" * 16, kind=DOWN, pid=child.pid, createTime=time.time() - 5)
    (folder / f"{orphaned.id}.request").write_bytes(msgspec.json.encode(orphaned))
    (folder / "junk.request").write_text("{not json")
    mine = submit(state, REAP_ORPHANS)

    claimed, dropped = claim_pending(state)

    assert claimed == [mine]
    assert sorted((d.name, d.why) for d in dropped) == [
        (f"{orphaned.id}.request", f"its requester (pid {child.pid}) no longer waits"),
        ("junk.request", "not a request this version understands"),
    ]
    assert sorted(p.name for p in folder.iterdir()) == [f"{mine.id}.claimed"]

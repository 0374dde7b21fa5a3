"""The message store written by several processes at once (forked children): unique ids,
nothing lost, one transaction per send. The store in one process: tests/unit/test_store.py.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

from reconciler.store.messages import (
    MessageStore,
)
from tests.unit.test_store import T0


def _send_many(state: str, worker: int, count: int, barrier: Any) -> None:
    barrier.wait()
    with MessageStore.open(Path(state)) as store:
        for n in range(count):
            store.send(
                sender=f"w{worker}",
                recipients=["impl", "review"],
                body=f"{worker}:{n}",
                task=None,
                now=T0 + n,
            )


def test_concurrent_sends_from_processes_get_unique_ids_and_lose_nothing(state: Path) -> None:
    """Four processes send at once into a store none of them has created yet."""
    workers, count = 4, 25
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(workers)
    procs = [
        ctx.Process(target=_send_many, args=(str(state), w, count, barrier)) for w in range(workers)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=60)
    assert [proc.exitcode for proc in procs] == [0] * workers
    with MessageStore.open(state) as store:
        rows = store.inbox("impl") + store.inbox("review")
    total = workers * count * 2
    assert sorted(r.seq for r in rows) == list(range(1, total + 1))
    assert all(r.id == f"msg-{r.seq}" for r in rows)
    for to in ("impl", "review"):
        bodies = sorted(r.body for r in rows if r.recipient == to)
        assert bodies == sorted(f"{w}:{n}" for w in range(workers) for n in range(count))
    # each send's two rows are adjacent: one transaction per send, never interleaved
    by_seq = sorted(rows, key=lambda r: r.seq)
    pairs = zip(by_seq[::2], by_seq[1::2], strict=True)
    assert all(a.body == b.body and a.sender == b.sender for a, b in pairs)

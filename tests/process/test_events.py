"""The event log appended by several processes at once (forked children) while it rotates:
no line interleaved, nothing lost, each writer in order. In one process: tests/unit/test_events.py.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from reconciler.api.events import Event
from reconciler.store.eventlog import EventLog


def _append_many(state_dir: str, writer: int, count: int, max_bytes: int) -> None:
    log = EventLog(Path(state_dir), max_bytes=max_bytes, backups=50)
    for n in range(count):
        log.append(
            Event(
                time="2026-11-25T09:00:00Z",
                type="Normal",
                reason="Stress",
                object=f"writer/{writer}",
                message=f"{writer}:{n}:" + str(writer) * 4000,
            )
        )


def test_concurrent_appends_never_interleave(state: Path) -> None:
    writers, count = 4, 150
    max_bytes = 100_000  # rotates about 24 times while the writers race
    ctx = multiprocessing.get_context("fork")
    procs = [
        ctx.Process(target=_append_many, args=(str(state), w, count, max_bytes))
        for w in range(writers)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0
    files = sorted(state.glob("events.jsonl*"))
    raw_lines = [line for path in files for line in path.read_bytes().splitlines()]
    assert len(raw_lines) == writers * count
    for line in raw_lines:
        event = Event.model_validate_json(line)  # every line is one whole event
        writer_s, _, body = event.message.split(":")
        assert body == writer_s * 4000
        assert event.object == f"writer/{writer_s}"
    for path in files:
        assert path.stat().st_size <= max_bytes
    # Read back across rotated files: nothing lost, each writer's events in order.
    events = EventLog(state, backups=50).read()
    order: dict[int, list[int]] = {w: [] for w in range(writers)}
    for event in events:
        writer_s, n_s, _ = event.message.split(":")
        order[int(writer_s)].append(int(n_s))
    assert order == {w: list(range(count)) for w in range(writers)}

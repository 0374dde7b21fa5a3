"""The event log: one intact JSON line per event, bounded by rotation, safe to share."""

from __future__ import annotations

import json
import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

from reconciler.api.clock import format_time
from reconciler.api.errors import StateUnwritable
from reconciler.api.events import Event
from reconciler.store.eventlog import EventLog
from reconciler.store.statusfile import ensure_state_dir

T0 = datetime(2026, 11, 25, 9, 0, 0, tzinfo=timezone.utc)


def ev(n: int, *, message: str | None = None, at: datetime | None = None) -> Event:
    return Event(
        time=format_time(at or T0 + timedelta(seconds=n)),
        type="Normal",
        reason="Started",
        object=f"agent/a{n}",
        message=message if message is not None else f"event {n}",
        generation=1,
        reconcileId=f"r-{n}",
    )


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return ensure_state_dir(tmp_path)


def test_append_then_read(state: Path) -> None:
    log = EventLog(state)
    assert log.read() == []
    events = [ev(n) for n in range(5)]
    for event in events:
        log.append(event)
    assert log.read() == events
    assert log.read(limit=2) == events[-2:]
    assert log.read(limit=0) == []
    assert log.read(since="2026-11-25T09:00:03Z") == events[3:]
    assert log.read(since="2026-11-25T09:00:01Z", limit=1) == events[-1:]
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600
    lines = log.path.read_text().splitlines()
    assert [json.loads(line)["reconcileId"] for line in lines] == [f"r-{n}" for n in range(5)]
    assert set(json.loads(lines[0])) == {
        "time",
        "type",
        "reason",
        "object",
        "message",
        "generation",
        "reconcileId",
    }


def test_event_validation() -> None:
    with pytest.raises(ValidationError):
        Event(time="2026-11-25T09:00:00Z", type="Normal", reason="started", object="x", message="")
    with pytest.raises(ValidationError):
        Event.model_validate({**ev(0).model_dump(), "type": "Error"})


def test_rotation_bounds_size_and_drops_oldest(state: Path) -> None:
    line_size = len(ev(0, message="x" * 100).to_line())
    log = EventLog(state, max_bytes=line_size * 10, backups=2)
    for n in range(100):
        log.append(ev(n, message="x" * 100))
    files = log.files()
    assert [p.name for p in files] == ["events.jsonl.2", "events.jsonl.1", "events.jsonl"]
    assert not (state / "events.jsonl.3").exists()
    for path in files:
        assert path.stat().st_size <= line_size * 10
    kept = log.read()
    numbers = [int(e.reconcileId.removeprefix("r-")) for e in kept if e.reconcileId]
    assert numbers == list(range(100 - len(numbers), 100)), "kept the newest, in order"
    assert 20 < len(numbers) <= 30


def test_rotation_with_no_backups_starts_over(state: Path) -> None:
    line_size = len(ev(0).to_line())
    log = EventLog(state, max_bytes=line_size * 3, backups=0)
    for n in range(10):
        log.append(ev(n))
    assert [p.name for p in log.files()] == ["events.jsonl"]
    assert [e.message for e in log.read()] == ["event 9"]


def test_oversized_event_still_written_alone(state: Path) -> None:
    log = EventLog(state, max_bytes=50, backups=1)
    log.append(ev(1, message="y" * 200))
    log.append(ev(2, message="z" * 200))
    assert [e.message[0] for e in log.read()] == ["y", "z"]


def test_truncated_line_is_skipped_and_next_append_is_intact(state: Path) -> None:
    log = EventLog(state)
    log.append(ev(1))
    with log.path.open("ab") as f:
        f.write(ev(2).to_line()[:25])  # a write cut short by a crash
    assert log.read() == [ev(1)]
    log.append(ev(3))
    assert log.read() == [ev(1), ev(3)]


def test_foreign_lines_are_skipped(state: Path) -> None:
    log = EventLog(state)
    log.path.write_bytes(b'not json\n{"time": "nope"}\n\n' + ev(1).to_line())
    assert log.read() == [ev(1)]


def test_unwritable_raises_state_unwritable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StateUnwritable, match="ENOTDIR"):
        EventLog(blocker).append(ev(1))

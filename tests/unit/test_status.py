"""The status model's JSON shape and the store's atomic, private writes."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import resource
import signal
import stat
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

import msgspec
import pytest
from msgspec import ValidationError

from controllers.agents.status import StatusBuilder
from reconciler.api import status as status_module
from reconciler.api.conditions import Condition
from reconciler.api.errors import SpecIssue, StateUnwritable
from reconciler.api.status import AgentStatus, SpecErrorStatus, TeamStatus
from reconciler.api.structs import StatusStruct, Timestamp
from reconciler.store.statusfile import StatusCorrupt, StatusStore, ensure_state_dir

# DESIGN.md's example, with its placeholders filled in (and the reconcile id added).
DESIGN_EXAMPLE: dict[str, Any] = {
    "apiVersion": "team-agent/v1",
    "kind": "TeamStatus",
    "team": "demo",
    "generation": 4,
    "observedGeneration": 4,
    "specHash": "sha256:0f1e",
    "conditions": [
        {
            "type": "Ready",
            "status": "True",
            "reason": "AllAgentsReady",
            "message": "",
            "lastTransitionTime": "2026-11-25T09:00:00Z",
            "observedGeneration": 4,
        }
    ],
    "agents": {
        "impl": {
            "conditions": [],
            "paneId": "%3",
            "windowId": "@2",
            "pid": 4242,
            "configHash": "sha256:abcd",
            "restartCount": 0,
            "sessionId": None,
            "lastExitCode": None,
            "startedAt": "2026-11-25T08:59:58Z",
        }
    },
    "leader": {"conditions": [], "paneId": None},
    "orphans": [],
    "lastReconcile": {
        "id": "r-000001",
        "startedAt": "2026-11-25T09:00:00Z",
        "durationMs": 12,
        "actions": [],
    },
}


def _load(doc: Any) -> TeamStatus:
    return msgspec.convert(doc, TeamStatus)


def _assert_subset(want: Any, got: Any, where: str = "$") -> None:
    if isinstance(want, dict):
        assert isinstance(got, dict), where
        for key, value in want.items():
            assert key in got, f"{where}.{key} missing"
            _assert_subset(value, got[key], f"{where}.{key}")
    else:
        assert got == want, where


def test_design_example_round_trips_with_exact_keys() -> None:
    status = _load(DESIGN_EXAMPLE)
    dumped = json.loads(status.to_json())
    _assert_subset(DESIGN_EXAMPLE, dumped)
    assert list(dumped) == [
        "apiVersion",
        "kind",
        "team",
        "generation",
        "observedGeneration",
        "specHash",
        "conditions",
        "agents",
        "leader",
        "orphans",
        "messages",
        "lastReconcile",
        "specError",
    ]
    assert list(dumped["agents"]["impl"]) == [
        "conditions",
        "paneId",
        "windowId",
        "pid",
        "pidCreateTime",
        "configHash",
        "restartCount",
        "sessionId",
        "sessionFile",
        "dialogAnsweredPid",
        "lastExitCode",
        "startedAt",
        "lastExitAt",
        "backoffUntil",
        "backoffSec",
        "provider",
        "approval",
        "lastOutputAt",
        "inputSeenAt",
        "restartedAt",
    ]
    assert list(dumped["leader"]) == [
        "conditions",
        "paneId",
        "socket",
        "serverPid",
        "panePid",
        "uuid",
        "expectedUuid",
        "boundVia",
        "provider",
        "epoch",
        "apiErrors",
    ]
    assert _load(dumped) == status


def test_to_json_is_indented_and_newline_terminated() -> None:
    text = TeamStatus.empty("demo").to_json()
    assert text.startswith('{\n  "apiVersion": "team-agent/v1",\n')
    assert text.endswith("}\n") and not text.endswith("\n\n")


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("surprise",), 1),
        (("agents", "impl", "pane_id"), "%3"),
        (("apiVersion",), "team-agent/v2"),
        (("agents", "impl", "startedAt"), "yesterday"),
        (("agents", "impl", "restartCount"), -1),
    ],
    ids=["unknown-top-key", "snake-case-key", "wrong-api-version", "bad-time", "negative-count"],
)
def test_model_rejects(path: tuple[str, ...], value: Any) -> None:
    doc = json.loads(json.dumps(DESIGN_EXAMPLE))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ValidationError):
        _load(doc)


def test_duplicate_condition_types_are_rejected() -> None:
    doc = json.loads(json.dumps(DESIGN_EXAMPLE))
    doc["conditions"] = doc["conditions"] * 2
    with pytest.raises(ValidationError, match="more than once"):
        _load(doc)


def test_empty_and_spec_error() -> None:
    empty = TeamStatus.empty("demo")
    assert (empty.team, empty.generation, empty.observedGeneration) == ("demo", 0, 0)
    assert empty.agents == {} and empty.conditions == [] and empty.lastReconcile is None
    issue = SpecIssue(Path("team.spec.yaml"), 7, 5, "unknown key 'agnets'")
    err = SpecErrorStatus.from_issue(issue)
    assert msgspec.to_builtins(err) == {
        "file": "team.spec.yaml",
        "line": 7,
        "column": 5,
        "message": "unknown key 'agnets'",
    }


def test_a_status_is_frozen() -> None:
    """Built whole and validated, never patched field by field (what validate_assignment
    guarded when the models were pydantic's)."""
    agent = AgentStatus()
    with pytest.raises(AttributeError):
        agent.startedAt = "not a time"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("value", "complaint"),
    [("yesterday", "of the form"), ("2026-02-30T09:00:00Z", "not a real date")],
    ids=["shape", "impossible-date"],
)
def test_a_timestamp_is_checked_when_built(value: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        AgentStatus(startedAt=value)


class BadField(NamedTuple):
    test_id: str
    agent: dict[str, Any]
    complaint: str


BAD_FIELDS = [
    BadField("negative-count", {"restartCount": -1}, ">= 0"),
    BadField("wrong-type", {"pid": "4242"}, "Expected `int | null`, got `str`"),
    BadField("lowercase-reason", {"conditions": [{"reason": "running"}]}, "matching regex"),
]


@pytest.mark.parametrize("case", BAD_FIELDS, ids=[c.test_id for c in BAD_FIELDS])
def test_to_json_refuses_what_would_not_read_back(state: Path, case: BadField) -> None:
    """Built structs are not checked against their constraints; the writer checks them,
    before the file is touched, and names the field."""
    store = StatusStore(state)
    good = _load(DESIGN_EXAMPLE)
    store.write(good)
    fields = dict(case.agent)
    if "conditions" in fields:
        base = good.conditions[0]
        fields["conditions"] = [msgspec.structs.replace(base, **c) for c in fields["conditions"]]
    bad = msgspec.structs.replace(good, agents={"impl": AgentStatus(**fields)})
    with pytest.raises(ValidationError, match=re.escape(case.complaint)):
        store.write(bad)
    assert store.read() == good


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        (b"{", "truncated"),
        (b'{"apiVersion": "team-agent/v1"}', "missing required field `team`"),
        (
            b'{"team": "t", "generation": 0, "observedGeneration": 0, "specHash": "", "x": 1}',
            "unknown field `x`",
        ),
    ],
    ids=["truncated", "missing-field", "unknown-field"],
)
def test_corrupt_status_names_the_problem(state: Path, content: bytes, complaint: str) -> None:
    store = StatusStore(state)
    store.path.write_bytes(content)
    with pytest.raises(StatusCorrupt, match=f"not a valid TeamStatus: .*{re.escape(complaint)}"):
        store.read()


@pytest.mark.parametrize(
    ("field", "value", "complaint"),
    [
        ("startedAt", "2026-02-30T09:00:00Z", "not a real date and time: '2026-02-30T09:00:00Z'"),
        ("restartCount", -1, "Expected `int` >= 0"),
    ],
    ids=["impossible-date", "negative-count"],
)
def test_corrupt_status_names_the_agent(
    state: Path, field: str, value: object, complaint: str
) -> None:
    """msgspec's paths leave dictionary keys out (`$.agents[...]`); the message names the
    agent, as pydantic's did."""
    doc = json.loads(json.dumps(DESIGN_EXAMPLE))
    doc["agents"]["other"] = {}
    doc["agents"]["impl"][field] = value
    store = StatusStore(state)
    store.path.write_text(json.dumps(doc))
    with pytest.raises(StatusCorrupt) as caught:
        store.read()
    assert complaint in caught.value.problem
    assert '$.agents["impl"]' in caught.value.problem


# --- the store ---------------------------------------------------------------------------


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return ensure_state_dir(tmp_path)


def _leftovers(state: Path) -> list[str]:
    return sorted(p.name for p in state.iterdir() if p.name.startswith(".status."))


def test_write_then_read(state: Path) -> None:
    store = StatusStore(state)
    assert store.path == state / "status.json"
    assert store.read() is None
    status = _load(DESIGN_EXAMPLE)
    store.write(status)
    assert store.read() == status
    assert store.path.read_text() == status.to_json()
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert _leftovers(state) == []


@pytest.mark.parametrize(
    "content",
    [b"", b"{", b"not json", b'{"apiVersion": "team-agent/v1"}', b"[]"],
    ids=["empty", "truncated", "garbage", "missing-fields", "wrong-type"],
)
def test_read_corrupt_raises(state: Path, content: bytes) -> None:
    store = StatusStore(state)
    store.path.write_bytes(content)
    with pytest.raises(StatusCorrupt, match=r"status\.json"):
        store.read()


def test_read_unreadable_raises(state: Path) -> None:
    store = StatusStore(state)
    store.path.mkdir()  # a folder where the file should be: EISDIR
    with pytest.raises(StatusCorrupt, match="cannot read"):
        store.read()


def _failing_on_call(
    real: Callable[..., Any], fail_on: int, err: int = errno.ENOSPC
) -> Callable[..., Any]:
    calls = 0

    def fake(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == fail_on:
            raise OSError(err, os.strerror(err))
        return real(*args, **kwargs)

    return fake


@pytest.mark.parametrize(
    ("function", "fail_on"),
    [("replace", 1), ("fsync", 1), ("write", 1)],
    ids=["rename-fails", "file-fsync-fails", "write-fails"],
)
def test_failed_write_keeps_old_file_and_cleans_up(
    state: Path, monkeypatch: pytest.MonkeyPatch, function: str, fail_on: int
) -> None:
    # The store calls os.replace / os.fsync / os.write through the os module: the seam.
    store = StatusStore(state)
    old = _load(DESIGN_EXAMPLE)
    store.write(old)
    monkeypatch.setattr(os, function, _failing_on_call(getattr(os, function), fail_on))
    with pytest.raises(StateUnwritable, match=r"status\.json.*ENOSPC"):
        store.write(TeamStatus.empty("demo"))
    monkeypatch.undo()
    assert store.read() == old
    assert _leftovers(state) == []


def test_failed_directory_fsync_reports_but_new_file_is_in_place(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = StatusStore(state)
    monkeypatch.setattr(os, "fsync", _failing_on_call(os.fsync, 2, errno.EIO))
    with pytest.raises(StateUnwritable, match="EIO"):
        store.write(TeamStatus.empty("demo"))
    monkeypatch.undo()
    assert store.read() == TeamStatus.empty("demo")
    assert _leftovers(state) == []


@contextlib.contextmanager
def file_size_limit(limit: int) -> Iterator[None]:
    """Make the kernel refuse writes past `limit` bytes (EFBIG), as a full disk would."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def test_real_write_failure_keeps_old_file(state: Path) -> None:
    store = StatusStore(state)
    old = TeamStatus.empty("demo")
    store.write(old)
    big = msgspec.structs.replace(
        _load(DESIGN_EXAMPLE),
        agents={f"agent-{n}": AgentStatus(paneId=f"%{n}") for n in range(100)},
    )
    assert len(big.to_json()) > 4096 > len(old.to_json())
    with file_size_limit(4096), pytest.raises(StateUnwritable, match="EFBIG"):
        store.write(big)
    assert store.read() == old
    assert _leftovers(state) == []


def test_unwritable_state_path(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    store = StatusStore(not_a_dir)  # mkstemp under a regular file: ENOTDIR
    with pytest.raises(StateUnwritable, match="ENOTDIR"):
        store.write(TeamStatus.empty("demo"))


def test_concurrent_reader_never_sees_a_partial_file(state: Path) -> None:
    store = StatusStore(state)
    writes = 200
    done = threading.Event()
    errors: list[BaseException] = []
    seen: list[int] = []

    def writer() -> None:
        try:
            for generation in range(1, writes + 1):
                status = msgspec.structs.replace(
                    _load(DESIGN_EXAMPLE),
                    generation=generation,
                    agents={f"a{n}": AgentStatus(pid=generation) for n in range(generation % 7)},
                )
                store.write(status)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    while not done.is_set():
        got = store.read()  # raises StatusCorrupt on any partial file
        if got is not None:
            seen.append(got.generation)
    thread.join()
    assert errors == []
    assert seen == sorted(seen), "a reader went back in time"
    assert len(seen) > 0
    final = store.read()
    assert final is not None and final.generation == writes
    assert _leftovers(state) == []


# --- the state folder --------------------------------------------------------------------


def test_ensure_state_dir_creates_private_folder(tmp_path: Path) -> None:
    state = ensure_state_dir(tmp_path)
    assert state == tmp_path / ".team"
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert ensure_state_dir(tmp_path) == state  # idempotent


def test_ensure_state_dir_narrows_wide_permissions(tmp_path: Path) -> None:
    (tmp_path / ".team").mkdir(mode=0o755)
    (tmp_path / ".team").chmod(0o755)
    state = ensure_state_dir(tmp_path)
    assert stat.S_IMODE(state.stat().st_mode) == 0o700


def test_ensure_state_dir_refuses_a_file_in_the_way(tmp_path: Path) -> None:
    (tmp_path / ".team").write_text("")
    with pytest.raises(StateUnwritable, match=r"\.team"):
        ensure_state_dir(tmp_path)


def test_ensure_state_dir_needs_the_workspace(tmp_path: Path) -> None:
    with pytest.raises(StateUnwritable, match="ENOENT"):
        ensure_state_dir(tmp_path / "missing")


def test_the_agents_status_builder_checks_what_it_builds() -> None:
    """The builder converts through the type (as `model_validate` did): a plan that
    computes a wrong value fails in its own pass, naming the field."""
    now = datetime(2026, 11, 25, 9, 0, 0, tzinfo=timezone.utc)
    builder = StatusBuilder(previous=AgentStatus(pid=7), now=now, generation=1)
    assert builder.build(restartCount=2) == AgentStatus(pid=7, restartCount=2)
    with pytest.raises(ValidationError, match=r"restartCount"):
        builder.build(restartCount=-1)
    with pytest.raises(ValidationError, match=r"startedAt"):
        builder.build(startedAt="2026-11-25 09:00")


def _struct_classes() -> list[type[StatusStruct]]:
    models = [getattr(status_module, name) for name in dir(status_module)]
    models.append(Condition)
    return [m for m in models if isinstance(m, type) and issubclass(m, StatusStruct)]


def test_the_post_init_checks_cover_every_timestamp_and_condition_list() -> None:
    """`StatusStruct` finds its fields from the annotations as written; the resolved types
    must agree, or a field spelled differently would escape the date or uniqueness check."""
    checked = _struct_classes()
    assert TeamStatus in checked and AgentStatus in checked and Condition in checked
    for model in checked:
        fields = msgspec.structs.fields(model)
        timestamps = [f.name for f in fields if f.type in (Timestamp, Timestamp | None)]
        condition_lists = [f.name for f in fields if f.type == list[Condition]]
        assert model._timestamp_fields == tuple(timestamps), model.__name__
        assert model._condition_list_fields == tuple(condition_lists), model.__name__

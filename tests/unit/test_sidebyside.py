"""The side-by-side benchmark's pure logic: turns, the table, limits, the reference's output.

`bench/reference.py` runs both systems; what it computes from their runs is checked here
with made-up runs and the reference's JSON as it prints it (taken from real runs of
`@team-agent/cli-linux-x64@0.5.99`, trimmed), without starting anything.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import pytest

from bench.harness import BenchError
from bench.refbinary import npm_error_summary, parse_pack_output
from bench.reference import Collected
from bench.refteam import (
    check_ready,
    check_started,
    shutdown_status,
    shutdown_verdicts,
    status_names,
    workers_socket,
)
from bench.sidebyside import (
    ProcessRun,
    Row,
    Side,
    Stat,
    alternate,
    fraction_limit,
    render_table,
    verb_limit,
)


def printed(data: object, returncode: int = 0) -> ProcessRun:
    return ProcessRun(0.05, 0.02, returncode, json.dumps(data), "")


def runs(*pairs: tuple[float, float]) -> list[ProcessRun]:
    """Runs with these (wall ms, CPU ms)."""
    return [ProcessRun(w / 1000, c / 1000, 0, "", "") for w, c in pairs]


def test_rounds_alternate_direction_and_results_stay_per_function() -> None:
    calls: list[str] = []

    def recorder(name: str) -> object:
        def call() -> str:
            calls.append(name)
            return f"{name}{sum(1 for c in calls if c == name)}"

        return call

    results = alternate([recorder("a"), recorder("b"), recorder("c")], 3)  # type: ignore[list-item]
    assert calls == ["a", "b", "c", "c", "b", "a", "a", "b", "c"]
    assert results == [["a1", "a2", "a3"], ["b1", "b2", "b3"], ["c1", "c2", "c3"]]


def test_the_table_shows_both_systems_and_the_ratios() -> None:
    status = Row(
        "`status --json` vs `status -o json`",
        5,
        Side.of(runs((47, 19), (50, 20), (45, 18))),
        Side.of(runs((405, 401), (410, 399), (400, 402))),
    )
    report = Row("— vs `report`", 5, None, Side.of(runs((120, 110))))
    idle = Row(
        "idle daemon CPU",
        20,
        Side(cpu=Stat((5.2,))),
        Side(cpu=Stat((0.41,))),
        unit="% of a core",
    )
    assert render_table([status, report, idle]).splitlines() == [
        "| call | N | reference (Rust) wall / CPU | team-agent wall / CPU | ratio (ours / ref) |",
        "| --- | ---: | ---: | ---: | --- |",
        "| `status --json` vs `status -o json` | 5 | 47 / 19 ms | 405 / 401 ms "
        "| 8.6x wall, 21.1x CPU |",
        "| — vs `report` | 5 | (no such command) | 120 / 110 ms | — |",
        "| idle daemon CPU | 20 | 5.20 % of a core | 0.41 % of a core | 0.08x CPU |",
    ]


class SpreadCase(NamedTuple):
    test_id: str
    side: Side
    expected: str


SPREAD_CASES = [
    SpreadCase(
        "wall-and-cpu", Side.of(runs((47, 19), (40, 15), (52, 25))), "median of 3; min 40 / 15 ms"
    ),
    SpreadCase("one-window-says-nothing", Side(cpu=Stat((5.2,))), ""),
    SpreadCase("nothing-measured", Side(), ""),
]


@pytest.mark.parametrize("case", SPREAD_CASES, ids=[c.test_id for c in SPREAD_CASES])
def test_spread(case: SpreadCase) -> None:
    assert case.side.spread("ms") == case.expected


class LimitCase(NamedTuple):
    test_id: str
    reference_status_ms: float
    floor_ms: float
    limit: float


LIMIT_CASES = [
    LimitCase("reference-status-is-tighter", 47, 20, 47),
    LimitCase("three-floors-are-tighter", 75, 20, 60),
    LimitCase("rounded-to-a-tenth", 100, 14.44, 43.3),
]


@pytest.mark.parametrize("case", LIMIT_CASES, ids=[c.test_id for c in LIMIT_CASES])
def test_a_verb_is_held_to_the_tighter_of_the_two_bounds(case: LimitCase) -> None:
    limit = verb_limit(case.reference_status_ms, case.floor_ms)
    assert limit.value == case.limit
    assert "reference `status`" in limit.reason and "3 x `python -c pass`" in limit.reason


def test_fraction_limit() -> None:
    assert fraction_limit(338, 0.5, "tick").value == 169
    assert fraction_limit(338, 0.5, "tick").reason == "limit 0.5 x the reference's tick 338 ms"
    assert fraction_limit(628, 1, "cold start").reason == "limit the reference's cold start 628 ms"


def test_our_figure_carries_the_target_and_the_ratio_the_reference_none() -> None:
    row = Row(
        "`status --json` vs `status -o json`",
        5,
        Side.of(runs((47, 19), (47, 19), (47, 19))),
        Side.of(runs((94, 38), (90, 40), (99, 30))),
    )
    out = Collected()
    out.add(row, "reference: status", "team-agent: status", verb_limit(47, 20))
    ref, ours = out.figures
    assert (ref.name, ref.value, ref.target, ref.passed) == ("reference: status", 47, None, None)
    assert (ours.name, ours.value, ours.passed) == ("team-agent: status", 94, False)
    assert ours.target is not None and ours.target.limit == 47
    assert ours.detail.startswith("CPU 38.0 ms; median of 3; min 90 / 30 ms; ")
    assert "ours ÷ reference 2.0x wall, 2.0x CPU" in ours.detail
    assert out.rows == [row]


PACKED = {
    "id": "@team-agent/cli-linux-x64@0.5.99",
    "name": "@team-agent/cli-linux-x64",
    "version": "0.5.99",
    "filename": "team-agent-cli-linux-x64-0.5.99.tgz",
    "files": [{"path": "bin/team-agent", "size": 13345984, "mode": 420}],
}


class PackCase(NamedTuple):
    test_id: str
    stdout: str
    filename: str | None  # None: refused


PACK_CASES = [
    PackCase("the-pinned-tarball", json.dumps([PACKED]), "team-agent-cli-linux-x64-0.5.99.tgz"),
    PackCase("another-version", json.dumps([{**PACKED, "version": "0.6.0"}]), None),
    PackCase("another-package", json.dumps([{**PACKED, "name": "evil"}]), None),
    PackCase("a-path-not-a-name", json.dumps([{**PACKED, "filename": "../x.tgz"}]), None),
    PackCase("two-packages", json.dumps([PACKED, PACKED]), None),
    PackCase("npm-noise", "npm warn config\n", None),
]


@pytest.mark.parametrize("case", PACK_CASES, ids=[c.test_id for c in PACK_CASES])
def test_npm_pack_output(case: PackCase) -> None:
    if case.filename is None:
        with pytest.raises(BenchError):
            parse_pack_output(case.stdout)
    else:
        assert parse_pack_output(case.stdout) == case.filename


NPM_UNREACHABLE = """\
npm error code ECONNREFUSED
npm error syscall connect
npm error errno ECONNREFUSED
npm error FetchError: request to http://127.0.0.1:9/@team-agent%2fcli-linux-x64 failed
npm error     at ClientRequest.<anonymous> (/usr/lib/node_modules/npm/lib/index.js:130:14)
npm error   code: 'ECONNREFUSED',
npm error A complete log of this run can be found in: /root/.npm/_logs/x-debug-0.log
"""


def test_an_npm_failure_is_summed_up_without_its_stack() -> None:
    assert npm_error_summary(NPM_UNREACHABLE) == (
        "code ECONNREFUSED; syscall connect; errno ECONNREFUSED; FetchError: request to "
        "http://127.0.0.1:9/@team-agent%2fcli-linux-x64 failed"
    )
    assert npm_error_summary("sh: 1: npm: Permission denied\n") == "sh: 1: npm: Permission denied"


STARTED = {
    "ok": True,
    "ready": True,
    "status": "pending_tool_load",
    "reason": "team started; leader bound; send a task next (worker tool load unverified)",
    "session_name": "team-bench",
}


def test_quick_start_must_report_ok_and_ready() -> None:
    check_started(printed(STARTED))
    refused = {**STARTED, "ok": False, "ready": False, "reason": "caller_pane_missing"}
    with pytest.raises(BenchError, match="caller_pane_missing"):
        check_started(printed(refused, returncode=1))
    with pytest.raises(BenchError, match="no JSON"):
        check_started(ProcessRun(0.1, 0.1, 0, "not json", ""))


def test_wait_ready_must_say_ready() -> None:
    check_ready(printed({"ok": True, "status": "ready", "summary": "workers ready"}))
    with pytest.raises(BenchError, match="workers_not_ready"):
        check_ready(printed({"ok": False, "status": "workers_not_ready"}, returncode=1))


def test_status_lists_the_workers_by_name() -> None:
    nodes = [{"name": "w001", "provider": "fake"}, {"name": "w000", "provider": "fake"}]
    assert status_names(printed({"nodes": nodes})) == ["w000", "w001"]
    with pytest.raises(BenchError):
        status_names(printed({"error": "no team"}, returncode=1))


SHUTDOWN_OK = {
    "ok": True,
    "status": "ok",
    "error": None,
    "residuals": {"owned_files": [], "processes": [], "sessions": []},
}
SHUTDOWN_RACED = {
    **SHUTDOWN_OK,
    "ok": False,
    "status": "failed",
    "residuals": {
        "owned_files": [],
        "processes": [{"command": "", "pgid": None, "pid": 12039, "ppid": 0, "session": None}],
        "sessions": [],
    },
}


SHUTDOWN_PARTIAL = {
    **SHUTDOWN_OK,
    "ok": False,
    "status": "partial",
    "coordinator": {"pid": 32272, "status": "timeout", "stop_reason": "bare_shutdown"},
}


class ShutdownCase(NamedTuple):
    test_id: str
    data: object
    returncode: int
    verdict: str | None  # None: no report at all, an error


SHUTDOWN_CASES = [
    ShutdownCase("ok", SHUTDOWN_OK, 0, "ok"),
    ShutdownCase("failed-over-an-unreaped-zombie", SHUTDOWN_RACED, 1, "failed"),
    ShutdownCase("partial-coordinator-slow-to-stop", SHUTDOWN_PARTIAL, 1, "partial"),
    ShutdownCase("no-status-field", {"ok": False}, 1, "exit 1"),
    ShutdownCase("not-an-object", ["ok"], 0, None),
]


@pytest.mark.parametrize("case", SHUTDOWN_CASES, ids=[c.test_id for c in SHUTDOWN_CASES])
def test_shutdown_verdict(case: ShutdownCase) -> None:
    run = printed(case.data, case.returncode)
    if case.verdict is None:
        with pytest.raises(BenchError):
            shutdown_status(run)
    else:
        assert shutdown_status(run) == case.verdict


def test_the_stop_figure_quotes_the_reference_s_own_verdicts() -> None:
    stops = [printed(SHUTDOWN_OK), printed(SHUTDOWN_RACED, 1), printed(SHUTDOWN_RACED, 1)]
    assert shutdown_verdicts(stops) == (
        "its own verdict: 2 `failed` of 3, though nothing of the team ran after"
    )
    assert shutdown_verdicts([printed(SHUTDOWN_OK)]) == ""


SOCKETS = Path("/tmp/tmux-0")


class SocketCase(NamedTuple):
    test_id: str
    state_text: str
    socket: Path | None


SOCKET_CASES = [
    SocketCase(
        "the-reference-s-own",
        json.dumps({"tmux_socket": "/tmp/tmux-0/ta-e40982cfd6fb"}),
        SOCKETS / "ta-e40982cfd6fb",
    ),
    SocketCase("default-server-never", json.dumps({"tmux_socket": "/tmp/tmux-0/default"}), None),
    SocketCase("another-folder", json.dumps({"tmux_socket": "/run/x/ta-e40982cfd6fb"}), None),
    SocketCase("not-json", "{", None),
    SocketCase("no-socket", json.dumps({"agents": {}}), None),
]


@pytest.mark.parametrize("case", SOCKET_CASES, ids=[c.test_id for c in SOCKET_CASES])
def test_the_workers_socket_is_taken_only_when_it_is_the_reference_s(case: SocketCase) -> None:
    assert workers_socket(case.state_text, SOCKETS) == case.socket

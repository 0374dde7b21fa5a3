"""The install scripts and `deploy/` files: they parse, agree with the CLI, and can fail.

These files are not imported by anything, so nothing else notices when one stops parsing or
drifts from the CLI: the systemd unit must stay INI with a `run` ExecStart, the plist a
plist, the workflow YAML that validates and reconciles a spec the loader accepts, and the
monitoring check must map status JSON to the plugin exit codes (run against a `team-agent`
shim on PATH, so no tmux is involved).
"""

from __future__ import annotations

import configparser
import json
import plistlib
import shlex
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from ruamel.yaml import YAML

from reconciler.specfile.load import load_spec_text

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
UNIT = DEPLOY / "systemd" / "team-agent@.service"
PLIST = DEPLOY / "launchd" / "dev.team-agent.run.plist"
WORKFLOW = DEPLOY / "ci" / "github-actions.yml"
CHECK = DEPLOY / "monitoring" / "check_team.sh"


# --- shell scripts ------------------------------------------------------------------------


def test_ci_runs_the_readme_test_command() -> None:
    text = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    commands = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert "exec ./scripts/test" in commands
    # Nothing may run after the tests: their exit code must be CI's.
    assert commands[-1] == "exec ./scripts/test"


def test_test_script_fails_when_pytest_collects_nothing() -> None:
    text = (REPO / "scripts" / "test").read_text(encoding="utf-8")
    assert '.venv/bin/pytest -q -n "$workers" "${dist[@]}" "$@"' in text
    assert "dist=(--dist worksteal)" in text
    assert '"$rc" -eq 5' in text


# --- systemd --------------------------------------------------------------------------------


def _unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep CamelCase keys
    parser.read_string(UNIT.read_text(encoding="utf-8"), source=str(UNIT))
    return parser


def test_systemd_unit_runs_the_loop_of_the_instance_workspace() -> None:
    service = _unit()["Service"]
    argv = shlex.split(service["ExecStart"])
    assert argv[-1] == "run"
    assert argv[argv.index("-f") + 1] == "%f/team.spec.yaml"
    assert "team-agent" in {Path(arg).name for arg in argv}
    assert service["WorkingDirectory"] == "%f"


class UnitSetting(NamedTuple):
    section: str
    key: str
    value: str


UNIT_SETTINGS = [
    UnitSetting("Service", "Restart", "on-failure"),
    UnitSetting("Service", "RestartSec", "2"),
    UnitSetting("Service", "KillSignal", "SIGTERM"),
    UnitSetting("Service", "TimeoutStopSec", "15"),
    # The default (control-group) would kill the tmux server the loop started, and every agent.
    UnitSetting("Service", "KillMode", "process"),
    UnitSetting("Install", "WantedBy", "default.target"),
]


@pytest.mark.parametrize("want", UNIT_SETTINGS, ids=[s.key for s in UNIT_SETTINGS])
def test_systemd_unit_setting(want: UnitSetting) -> None:
    assert _unit()[want.section].get(want.key) == want.value


def test_systemd_unit_has_no_ordering_cycle_with_its_target() -> None:
    # WantedBy=default.target orders the unit before default.target; After= it is a cycle.
    assert "default.target" not in _unit()["Unit"].get("After", "")


def test_systemd_unit_explains_the_install() -> None:
    text = UNIT.read_text(encoding="utf-8")
    assert 'systemctl --user enable --now "team-agent@$(systemd-escape --path' in text


# --- launchd --------------------------------------------------------------------------------


def test_launchd_plist_runs_the_loop_and_restarts_on_crash() -> None:
    with PLIST.open("rb") as handle:
        job = plistlib.load(handle)
    assert job["Label"] == PLIST.name.removesuffix(".plist")
    argv = job["ProgramArguments"]
    assert Path(argv[0]).name == "team-agent"
    assert argv[-1] == "run"
    assert argv[argv.index("-f") + 1].endswith("/team.spec.yaml")
    assert job["KeepAlive"] == {"SuccessfulExit": False, "Crashed": True}
    assert job["AbandonProcessGroup"] is True  # the agents outlive the loop


# --- GitHub Actions ---------------------------------------------------------------------------


def _workflow() -> Any:
    with WORKFLOW.open(encoding="utf-8") as handle:
        return YAML(typ="safe", pure=True).load(handle)


def _runs(job: Any) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


def test_workflow_validates_then_reconciles_with_a_deadline() -> None:
    (job,) = _workflow()["jobs"].values()
    runs = "\n".join(_runs(job))
    assert "reconcile --once --wait 60s" in runs
    assert runs.index(" validate") < runs.index("reconcile --once")


def test_workflow_uploads_status_and_events() -> None:
    (job,) = _workflow()["jobs"].values()
    (upload,) = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/upload")]
    paths = upload["with"]["path"].split()
    assert any(p.endswith(".team/status.json") for p in paths)
    assert any(p.endswith(".team/events.jsonl") for p in paths)
    assert upload["with"]["include-hidden-files"] is True  # .team/ is hidden
    assert upload["if"] == "always()"


def test_workflow_spec_is_valid_and_needs_no_ai_cli() -> None:
    (job,) = _workflow()["jobs"].values()
    (writer,) = [run for run in _runs(job) if "<<'SPEC'" in run]
    body = writer.split("<<'SPEC'\n", 1)[1].split("\nSPEC", 1)[0]
    loaded = load_spec_text(body, Path("/ci/ci-team/team.spec.yaml"))
    assert {a.provider for a in loaded.spec.agents} <= {"fake", "shell"}
    assert loaded.spec.runtime.tmux_socket  # never the runner's default server


# --- monitoring check -----------------------------------------------------------------------


def _cond(kind: str, status: str, reason: str) -> dict[str, Any]:
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": "",
        "lastTransitionTime": "2026-11-25T09:00:00Z",
        "observedGeneration": 1,
    }


def _status(
    *,
    ready: str = "True",
    reconciling: str = "False",
    stalled: str = "False",
    crash_loop: str = "False",
    started: datetime | None = None,
    agent: tuple[dict[str, Any], ...] = (),
    observation: dict[str, Any] | None = None,
) -> dict[str, Any]:
    started = started or datetime.now(timezone.utc)
    seen = {"observation": observation} if observation is not None else {}
    return {
        **seen,
        "apiVersion": "team-agent/v1",
        "kind": "TeamStatus",
        "team": "demo",
        "generation": 1,
        "observedGeneration": 1,
        "conditions": [
            _cond("Ready", ready, "AllAgentsReady" if ready == "True" else "AgentsNotReady"),
            _cond("Reconciling", reconciling, "Applying" if reconciling == "True" else "Converged"),
            _cond("Stalled", stalled, "TmuxUnavailable" if stalled == "True" else "Converged"),
        ],
        "agents": {
            "impl": {
                "conditions": list(agent)
                or [
                    _cond("Ready", "True", "Running"),
                    _cond("CrashLoopBackOff", crash_loop, "BackOff"),
                ],
                "restartCount": 3,
            },
        },
        "lastReconcile": {"startedAt": started.strftime("%Y-%m-%dT%H:%M:%SZ")},
    }


class CheckCase(NamedTuple):
    name: str
    output: Callable[[datetime], str]  # what the shim prints for `status -o json`, as of now
    status_exit: int  # the shim's exit code
    args: tuple[str, ...]
    code: int
    line: str  # the start of the check's one line
    status_args: tuple[str, ...] = ("status", "-o", "json")  # how the check runs team-agent


def _json(*, age: timedelta | None = None, **kwargs: Any) -> Callable[[datetime], str]:
    """A status whose last pass started `age` before the moment the test runs (default 0).

    Stamped when the test runs, never when this file is imported: a suite that takes longer
    than --max-age to reach the test must not turn a fresh status stale (issue 12, D20).
    """
    return lambda now: json.dumps(_status(started=now - (age or timedelta()), **kwargs))


def _text(output: str) -> Callable[[datetime], str]:
    return lambda _now: output


STALE = timedelta(hours=1)
# `status -o json`'s `observation` (reconciler.store.freshness): as of a file nobody keeps current,
# and as of `status --refresh` with no reconciler (its plan will not be carried out).
STALE_SEEN = {"source": "status.json", "ageSec": 3600, "reconciler": None, "stale": True}
REFRESHED = {"source": "refresh", "ageSec": 0, "reconciler": None, "stale": False}
RUN_HOLDS = {"pid": 4242, "acquiredAt": "2026-11-25T09:00:00Z"}
REFRESH_ARGS = ("status", "--refresh", "-o", "json")
CHECK_CASES = [
    CheckCase("ready", _json(), 0, (), 0, "TEAM OK - demo: Ready=True (AllAgentsReady)"),
    CheckCase(
        "reconciling",
        _json(ready="False", reconciling="True"),
        0,
        (),
        1,
        "TEAM WARNING - demo: Reconciling=True (Applying)",
    ),
    CheckCase(
        "stalled",
        _json(ready="False", stalled="True"),
        0,
        (),
        2,
        "TEAM CRITICAL - demo: Stalled=True (TmuxUnavailable)",
    ),
    CheckCase(
        "crash-loop",
        _json(ready="False", reconciling="True", crash_loop="True"),
        0,
        (),
        2,
        "TEAM CRITICAL - demo: CrashLoopBackOff=True: impl",
    ),
    CheckCase(
        "not-ready-idle",
        _json(ready="False"),
        0,
        (),
        2,
        "TEAM CRITICAL - demo: Ready=False (AgentsNotReady)",
    ),
    CheckCase(
        "stuck-agent",
        _json(agent=(_cond("Ready", "True", "Running"), _cond("Stalled", "True", "Stuck"))),
        0,
        (),
        1,
        "TEAM WARNING - demo: Stalled=True (Stuck)",
    ),
    CheckCase(
        "awaiting-approval",
        _json(ready="False", agent=(_cond("Ready", "False", "AwaitingApproval"),)),
        0,
        (),
        1,
        "TEAM WARNING - demo: AwaitingApproval (team-agent approvals): impl",
    ),
    CheckCase("fresh", _json(), 0, ("--max-age", "300"), 0, "TEAM OK - demo"),
    CheckCase("stale", _json(age=STALE), 0, ("--max-age", "300"), 1, "TEAM WARNING - demo"),
    CheckCase("stale-unchecked", _json(age=STALE), 0, (), 0, "TEAM OK - demo"),
    CheckCase(
        "stale-status",
        _json(ready="Unknown", observation=STALE_SEEN),
        0,
        (),
        1,
        "TEAM WARNING - demo: status is stale (observed 3600s ago, no reconciler holds the "
        "workspace): is `team-agent run` running?",
    ),
    CheckCase(
        "refresh-nothing-running",
        _json(ready="False", reconciling="True", observation=REFRESHED),
        0,
        ("--refresh",),
        2,
        "TEAM CRITICAL - demo: Ready=False (AgentsNotReady); nothing in flight (no reconciler",
        REFRESH_ARGS,
    ),
    CheckCase(
        "refresh-under-run",
        _json(
            ready="False", reconciling="True", observation={**REFRESHED, "reconciler": RUN_HOLDS}
        ),
        0,
        ("--refresh",),
        1,
        "TEAM WARNING - demo: Reconciling=True (Applying)",
        REFRESH_ARGS,
    ),
    CheckCase(
        "refresh-ready",
        _json(observation=REFRESHED),
        0,
        ("--refresh",),
        0,
        "TEAM OK - demo",
        REFRESH_ARGS,
    ),
    CheckCase("no-status", _text(""), 1, (), 3, "TEAM UNKNOWN - team-agent status failed (exit 1)"),
    CheckCase("not-json", _text("<html>"), 0, (), 3, "TEAM UNKNOWN - cannot read the status JSON"),
    CheckCase(
        "not-a-status", _text("[1, 2]"), 0, (), 3, "TEAM UNKNOWN - cannot read the status JSON"
    ),
]


FRESH_STALE = ("fresh", "stale")


def test_check_cases_are_stamped_when_the_test_runs() -> None:
    """However long the suite took to get here, "fresh" is fresh and "stale" an hour old."""
    later = datetime.now(timezone.utc) + timedelta(hours=2)  # as if the suite took two hours
    stamped = {c.name: json.loads(c.output(later)) for c in CHECK_CASES if c.name in FRESH_STALE}
    when = later.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert stamped["fresh"]["lastReconcile"]["startedAt"] == when
    stale = (later - STALE).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert stamped["stale"]["lastReconcile"]["startedAt"] == stale

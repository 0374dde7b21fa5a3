"""`pause`, `resume`, `restart` as commands: what they write, say and refuse (issue 12, C12).

Run in process with click's `CliRunner` and no tmux: the verbs only edit the spec. What
the reconciler then does with the edit is tested end to end in
`tests/e2e/test_intent_verbs.py`.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from reconciler.api.spec import Agent
from reconciler.cli.main import cli
from reconciler.cli.verbs import intent
from reconciler.specfile.load import load_spec

SPEC = """\
# the team
version: 1
team: {name: intent}
agents:
  - id: impl   # the implementer
    provider: fake
  - id: docs
    provider: fake
"""
# Never the caller's tmux: outside tmux every caller may act (DESIGN, ownership).
NO_TMUX: dict[str, str | None] = {"TMUX": None, "TMUX_PANE": None}


def invoke(spec: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["-f", str(spec), *args], env=NO_TMUX, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def spec_file(tmp_path: Path, text: str = SPEC) -> Path:
    path = tmp_path / "team.spec.yaml"
    path.write_text(text)
    return path


def agent(spec: Path, agent_id: str) -> object:
    return next(a for a in load_spec(spec).spec.agents if a.id == agent_id)


def test_pause_sets_paused_and_says_where(tmp_path: Path) -> None:
    spec = spec_file(tmp_path)

    code, out, err = invoke(spec, "pause", "impl")

    assert code == 0, err
    assert out.splitlines()[0] == f"agent/impl: paused: true ({spec}:6)"
    assert "no reconciler is running" in err and "reconcile --once" in err
    assert spec.read_text() == SPEC.replace("implementer\n", "implementer\n    paused: true\n")


def test_pause_twice_changes_nothing_the_second_time(tmp_path: Path) -> None:
    spec = spec_file(tmp_path)
    invoke(spec, "pause", "impl")
    once = spec.read_text()

    code, out, _ = invoke(spec, "pause", "impl")

    assert (code, out) == (0, "agent/impl is already paused: nothing changed\n")
    assert spec.read_text() == once


def test_resume_unpauses_and_of_a_running_agent_changes_nothing(tmp_path: Path) -> None:
    spec = spec_file(tmp_path)
    code, out, _ = invoke(spec, "resume", "impl")
    assert (code, out) == (0, "agent/impl is not paused: nothing changed\n")
    assert spec.read_text() == SPEC

    invoke(spec, "pause", "impl")
    code, _, _ = invoke(spec, "resume", "impl")

    assert code == 0
    assert spec.read_text() == SPEC.replace("implementer\n", "implementer\n    paused: false\n")


def test_restart_writes_a_new_request_each_time(tmp_path: Path) -> None:
    """Two restarts within one second still make two different requests (two restarts)."""
    spec = spec_file(tmp_path)
    before = datetime.now(timezone.utc).replace(microsecond=0)

    code, out, _ = invoke(spec, "restart", "impl", "-o", "json")
    first = agent(spec, "impl").restarted_at  # type: ignore[attr-defined]
    invoke(spec, "restart", "impl")
    second = agent(spec, "impl").restarted_at  # type: ignore[attr-defined]

    assert code == 0
    report = json.loads(out)
    assert (report["agent"], report["changed"], report["key"]) == ("impl", True, "restarted_at")
    assert report["value"] == first.isoformat().replace("+00:00", "Z")
    assert first >= before
    assert second > first
    assert agent(spec, "docs").restarted_at is None  # type: ignore[attr-defined]


def test_restart_of_a_paused_agent_is_refused(tmp_path: Path) -> None:
    spec = spec_file(tmp_path)
    invoke(spec, "pause", "impl")
    paused = spec.read_text()

    code, _, err = invoke(spec, "restart", "impl")

    assert code == 2
    assert "team-agent resume impl" in err
    assert spec.read_text() == paused


def test_unknown_agent_lists_the_agents_and_writes_nothing(tmp_path: Path) -> None:
    spec = spec_file(tmp_path)

    for verb in ("pause", "resume", "restart"):
        code, _, err = invoke(spec, verb, "nobody")
        assert code == 2
        assert err == f"team-agent: unknown agent 'nobody' in {spec}; its agents: docs, impl\n"
    assert spec.read_text() == SPEC


def test_invalid_spec_reports_the_location_and_writes_nothing(tmp_path: Path) -> None:
    broken = SPEC.replace("provider: fake\n  - id: docs", "provider: fak\n  - id: docs")
    spec = spec_file(tmp_path, broken)

    code, _, err = invoke(spec, "pause", "impl")

    assert code == 2
    assert f"{spec}:6:15" in err
    assert spec.read_text() == broken
    assert sorted(p.name for p in tmp_path.iterdir()) == ["team.spec.yaml"]


def test_a_running_reconciler_is_woken_through_the_wake_file(tmp_path: Path) -> None:
    spec = spec_file(tmp_path)
    state = tmp_path / ".team"
    state.mkdir()

    invoke(spec, "pause", "impl")

    assert (state / "wake").is_file()


def _change_while_deciding(spec: Path, times: int) -> tuple[int, str, list[int]]:
    """Run `pause impl` with a spec that someone rewrites between our read and our write
    `times` times: the decision step appends a comment, as a person's editor would."""
    decided: list[int] = []

    def decide(agent: Agent) -> intent.Decision:
        decided.append(1)
        if len(decided) <= times:
            spec.write_text(spec.read_text() + f"# edited meanwhile {len(decided)}\n")
        return intent._pause(agent)

    ctx = click.Context(cli, obj={"spec_file": str(spec), "socket": None})
    try:
        intent._change(ctx, "pause", "impl", decide, "text")
    except SystemExit as done:
        return int(done.code or 0), spec.read_text(), decided
    return 0, spec.read_text(), decided


def test_a_spec_changed_meanwhile_is_decided_again_on_the_new_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in NO_TMUX:
        monkeypatch.delenv(name, raising=False)
    spec = spec_file(tmp_path)

    code, text, decided = _change_while_deciding(spec, times=1)

    assert (code, len(decided)) == (0, 2)
    assert "paused: true" in text and "# edited meanwhile 1" in text


def test_a_spec_changed_on_every_try_is_left_alone_exit_4(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in NO_TMUX:
        monkeypatch.delenv(name, raising=False)
    spec = spec_file(tmp_path)

    code, text, decided = _change_while_deciding(spec, times=99)

    assert (code, len(decided)) == (4, 3)
    assert "paused" not in text
    assert f"{spec} changed on every one of 3 tries; try again" in capsys.readouterr().err

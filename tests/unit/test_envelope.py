"""The result envelope v1: what validates, and the short text the leader receives."""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest
from pydantic import ValidationError

from reconciler.api.envelope import (
    MAX_LINE_CHARS,
    MAX_RENDERED_LINES,
    ResultEnvelope,
    render_result,
)

MINIMAL: dict[str, Any] = {"agent_id": "impl", "status": "done", "summary": "did it"}

FULL = ResultEnvelope(
    task_id="T1",
    agent_id="impl",
    status="partial",
    summary="Parser rewritten.\nEdge cases pending.",
    changes=["parser.py", "lexer.py"],
    tests=["pytest tests/unit: 40 passed"],
    risks=["unicode input"],
    next_actions=["review the lexer"],
)


def test_minimal_envelope_gets_defaults_and_round_trips() -> None:
    env = ResultEnvelope.model_validate(MINIMAL)
    assert (env.version, env.task_id, env.changes, env.next_actions) == (1, None, [], [])
    assert ResultEnvelope.model_validate_json(env.model_dump_json()) == env
    assert set(env.model_dump()) == {
        "version",
        "task_id",
        "agent_id",
        "status",
        "summary",
        "changes",
        "tests",
        "risks",
        "artifacts",
        "next_actions",
    }


class Invalid(NamedTuple):
    name: str
    change: dict[str, Any]
    loc: str


INVALID = [
    Invalid("no-agent", {"agent_id": None}, "agent_id"),
    Invalid("agent-uppercase", {"agent_id": "Impl"}, "agent_id"),
    Invalid("bad-status", {"status": "finished"}, "status"),
    Invalid("empty-summary", {"summary": ""}, "summary"),
    Invalid("blank-summary", {"summary": " \n\t"}, "summary"),
    Invalid("long-summary", {"summary": "x" * 2001}, "summary"),
    Invalid("task-with-space", {"task_id": "T 1"}, "task_id"),
    Invalid("task-too-long", {"task_id": "T" * 101}, "task_id"),
    Invalid("version-2", {"version": 2}, "version"),
    Invalid("unknown-key", {"files": ["a"]}, "files"),
    Invalid("empty-entry", {"changes": [""]}, "changes.0"),
    Invalid("entry-not-text", {"tests": [3]}, "tests.0"),
    Invalid("too-many-entries", {"risks": ["r"] * 501}, "risks"),
]


@pytest.mark.parametrize("case", INVALID, ids=[c.name for c in INVALID])
def test_invalid_envelopes_name_the_field(case: Invalid) -> None:
    data = {**MINIMAL, **case.change}
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(ValidationError) as caught:
        ResultEnvelope.model_validate(data)
    locs = {".".join(str(p) for p in e["loc"]) for e in caught.value.errors()}
    assert case.loc in locs


def test_envelope_is_frozen() -> None:
    env = ResultEnvelope.model_validate(MINIMAL)
    with pytest.raises(ValidationError):
        env.status = "failed"  # type: ignore[misc]


def test_render_envelope_v1() -> None:
    assert render_result(FULL, "envelope-v1") == (
        "[result] T1 from impl: partial - Parser rewritten.\n"
        "Edge cases pending.\n"
        "changes: parser.py, lexer.py\n"
        "tests: pytest tests/unit: 40 passed\n"
        "risks: unicode input\n"
        "next: review the lexer"
    )


def test_render_text() -> None:
    assert render_result(FULL, "text") == (
        "impl reports task T1 partial: Parser rewritten.\n"
        "Edge cases pending.\n"
        "Changes: parser.py, lexer.py. Tests: pytest tests/unit: 40 passed. "
        "Risks: unicode input. Next: review the lexer."
    )


def test_render_without_a_task() -> None:
    env = ResultEnvelope.model_validate(MINIMAL)
    assert render_result(env, "envelope-v1") == "[result] - from impl: done - did it"
    assert render_result(env, "text") == "impl reports task - done: did it"


@pytest.mark.parametrize("fmt", ["envelope-v1", "text"])
def test_rendering_is_bounded_however_big_the_envelope(fmt: Any) -> None:
    huge = "\n".join(f"line {n} " + "y" * 300 for n in range(40))[:2000]
    env = ResultEnvelope(
        task_id="T1",
        agent_id="impl",
        status="done",
        summary=huge,
        changes=[f"src/file_{n}.py " + "z" * 1900 for n in range(500)],
        tests=["t" * 2000] * 500,
        risks=["r" * 2000] * 500,
        artifacts=["a" * 2000] * 500,
        next_actions=["n" * 2000] * 500,
    )
    text = render_result(env, fmt)
    lines = text.split("\n")
    assert len(lines) <= MAX_RENDERED_LINES
    assert all(len(line) <= MAX_LINE_CHARS for line in lines)
    assert len(text) <= MAX_RENDERED_LINES * (MAX_LINE_CHARS + 1)
    assert lines[-1] == "(shortened; full result: team-agent results --task T1 -o json)"
    assert lines[0].startswith(
        "[result] T1 from impl: done - line 0" if fmt == "envelope-v1" else "impl reports task T1"
    )


def test_rendering_drops_control_characters() -> None:
    env = ResultEnvelope.model_validate(
        {**MINIMAL, "summary": "ok\x1b[201~\x07 then\ttab", "changes": ["a\x1b[31m.py"]}
    )
    text = render_result(env, "envelope-v1")
    assert "\x1b" not in text and "\x07" not in text and "\t" not in text
    assert text == "[result] - from impl: done - ok[201~ then tab\nchanges: a[31m.py"


def test_a_summary_of_only_control_characters_still_renders() -> None:
    env = ResultEnvelope.model_validate({**MINIMAL, "summary": "\x1b\x1b"})
    assert render_result(env, "envelope-v1") == (
        "[result] - from impl: done - (no printable summary)"
    )

"""How the fake agent reads a message, in-process: its header, directives, reply line and
the result envelope it reports. The fake run as a program (replies, prompts, the report
command) is in tests/process/test_fake_messages.py.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

import pytest

from reconciler.fakeagent.messages import (
    Directive,
    fingerprint,
    parse_message,
    reply_line,
    result_envelope,
)

HEADER = "[team-agent] msg-7 from leader task=T1"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class ParseCase(NamedTuple):
    text: str
    message_id: str | None
    task: str | None
    body: str
    directives: tuple[Directive, ...]
    no_report: bool


PARSE_CASES = {
    "plain": ParseCase("hello", None, None, "hello", (), False),
    "header-with-task": ParseCase(f"{HEADER}\nwork", "msg-7", "T1", "work", (), False),
    "header-without-task": ParseCase(
        "[team-agent] msg-8 from impl\nq", "msg-8", None, "q", (), False
    ),
    "header-only": ParseCase(HEADER, "msg-7", "T1", "", (), False),
    "not-a-header": ParseCase(
        "[team-agent] msg-x from a\n[no-report]",
        None,
        None,
        "[team-agent] msg-x from a\n[no-report]",
        (),
        True,
    ),
    "directives-in-order": ParseCase(
        f"{HEADER}\n [tool:Bash] \n[sleep:0.5]\n[no-report]\n[sleep:x] [tool:a b]",
        "msg-7",
        "T1",
        " [tool:Bash] \n[sleep:0.5]\n[no-report]\n[sleep:x] [tool:a b]",
        (Directive("tool", tool="Bash"), Directive("sleep", seconds=0.5)),
        True,
    ),
    "directive-only-on-its-own-line": ParseCase(
        "do [sleep:1] now", None, None, "do [sleep:1] now", (), False
    ),
}


@pytest.mark.parametrize("case", PARSE_CASES.values(), ids=PARSE_CASES.keys())
def test_parse_message(case: ParseCase) -> None:
    message = parse_message(case.text)
    assert (message.message_id, message.task, message.body) == (
        case.message_id,
        case.task,
        case.body,
    )
    assert (message.directives, message.no_report) == (case.directives, case.no_report)


def test_reply_line_and_fingerprint() -> None:
    assert reply_line("hi there") == "fake: hi there"
    text = "one\ntwo\n"
    assert reply_line(text) == f"fake: one (+2 lines, 8 bytes, sha256 {digest(text)})"
    assert fingerprint("") == (0, 0, digest(""))
    assert fingerprint("é\nb") == (2, 4, digest("é\nb"))


def test_result_envelope_fingerprints_the_body() -> None:
    body = "line 1\nline 2"
    envelope = result_envelope(parse_message(f"{HEADER}\n{body}"), "impl")
    assert envelope == {
        "version": 1,
        "task_id": "T1",
        "agent_id": "impl",
        "status": "done",
        "summary": f"fake handled msg-7: 2 lines, 13 bytes, sha256 {digest(body)}",
    }

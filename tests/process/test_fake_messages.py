"""How the fake agent answers messages: replies, directives, approval prompts, reports.

The messages controller's end-to-end tests rely on these: the reply line fingerprints what
arrived, ``[sleep:S]`` makes the fake busy, ``[tool:NAME]`` shows an approval prompt, and a
task message is reported once through the report command. The report command is replaced
through ``TEAM_AGENT_FAKE_REPORT_CMD`` by a small recorder, so the envelope the fake sends
is checked here without a workspace; one test runs the real ``team-agent report`` and
reads the result back from the workspace's store.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from reconciler.fakeagent.messages import (
    reply_line,
    send_report,
)
from reconciler.store.messages import MessageStore
from tests.process.fakeproc import (
    DEADLINE,
    Running,
    clean_env,
    records,
    run_fake,
    stopping,
    transcripts,
)
from tests.unit.test_fake_messages import HEADER, digest

# Appends what it reads on stdin as one JSON line to argv[1]; exits with argv[2].
RECORDER = (
    "import json, sys\n"
    "data = json.load(sys.stdin)\n"
    "with open(sys.argv[1], 'a') as out:\n"
    "    out.write(json.dumps(data) + '\\n')\n"
    "print('recorder says no', file=sys.stderr)\n"
    "sys.exit(int(sys.argv[2]))\n"
)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    return tmp_path / "reports.jsonl"


@pytest.fixture
def env(home: Path, reports: Path) -> dict[str, str]:
    clean = clean_env(home)
    clean["TEAM_AGENT_FAKE_REPORT_CMD"] = json.dumps(
        [sys.executable, "-c", RECORDER, str(reports), "0"]
    )
    return clean


@pytest.fixture
def spawn(env: dict[str, str]) -> Iterator[Callable[..., Running]]:
    with stopping(lambda *args: Running(env, *args)) as start:
        yield start


def sent(reports: Path) -> list[dict[str, Any]]:
    return records(reports) if reports.exists() else []


# --- reading a message ------------------------------------------------------------------


class SendCase(NamedTuple):
    command: list[str]
    failure: str | None


SEND_CASES = {
    "ok": SendCase([sys.executable, "-c", "import sys; sys.stdin.read()"], None),
    "exit-code-and-last-stderr-line": SendCase(
        [sys.executable, "-c", "import sys; print('a\\nbad envelope', file=sys.stderr); exit(2)"],
        "exit 2: bad envelope",
    ),
    "timeout": SendCase(
        [sys.executable, "-c", "import time; time.sleep(30)"], "no answer within 0.5s"
    ),
    "missing-program": SendCase(["/nonexistent/team-agent"], "cannot run /nonexistent/team-agent"),
}


@pytest.mark.parametrize("case", SEND_CASES.values(), ids=SEND_CASES.keys())
def test_send_report_never_raises(case: SendCase) -> None:
    started = time.monotonic()
    failure = send_report({"x": 1}, command=case.command, timeout=0.5)
    assert time.monotonic() - started < DEADLINE
    if case.failure is None:
        assert failure is None
    else:
        assert failure is not None and failure.startswith(case.failure)


# --- the running fake ---------------------------------------------------------------------


def test_a_task_message_is_reported_once_after_the_reply(
    env: dict[str, str], reports: Path
) -> None:
    body = "implement the parser\nand test it"
    result = run_fake(env, f"{HEADER}\n{body}", stdin="next\n")
    size = len(f"{HEADER}\n{body}".encode())
    reply = f"fake: {HEADER} (+2 lines, {size} bytes, sha256 {digest(HEADER + chr(10) + body)})"
    assert result.stdout.endswith(f")\n{reply}\nreported T1\nfake> fake: next\nfake> ")
    assert sent(reports) == [
        {
            "version": 1,
            "task_id": "T1",
            "agent_id": "impl",
            "status": "done",
            "summary": f"fake handled msg-7: 2 lines, {len(body)} bytes, sha256 {digest(body)}",
        }
    ]


class QuietCase(NamedTuple):
    args: list[str]
    text: str


QUIET_CASES = {
    "no-report-option": QuietCase(["--no-report"], f"{HEADER}\nwork"),
    "no-report-directive": QuietCase([], f"{HEADER}\nwork\n[no-report]"),
    "no-task": QuietCase([], "[team-agent] msg-9 from impl\nwhat is up?"),
    "no-header": QuietCase([], "task=T1 please"),
}


@pytest.mark.parametrize("case", QUIET_CASES.values(), ids=QUIET_CASES.keys())
def test_no_report(env: dict[str, str], reports: Path, case: QuietCase) -> None:
    result = run_fake(env, *case.args, case.text)
    assert result.returncode == 0
    assert "report" not in result.stdout
    assert sent(reports) == []


def test_a_failed_report_is_shown_and_the_fake_carries_on(
    env: dict[str, str], reports: Path
) -> None:
    env["TEAM_AGENT_FAKE_REPORT_CMD"] = json.dumps(
        [sys.executable, "-c", RECORDER, str(reports), "3"]
    )
    result = run_fake(env, HEADER, stdin="after\n")
    assert f"fake: {HEADER}\nreport failed: exit 3: recorder says no\nfake> " in result.stdout
    assert "fake: after\nfake> " in result.stdout
    assert len(sent(reports)) == 1


def test_a_report_without_an_agent_id_fails_without_running(
    env: dict[str, str], reports: Path
) -> None:
    del env["TEAM_AGENT_ID"]
    result = run_fake(env, HEADER)
    assert "report failed: TEAM_AGENT_ID is not set\n" in result.stdout
    assert sent(reports) == []


def test_sleep_directive_is_busy_then_replies(spawn: Callable[..., Running]) -> None:
    fake = spawn()
    fake.read_until("fake> ")
    started = time.monotonic()
    fake.send("[sleep:0.3]\n")
    assert fake.read_until("working...\n") == "working...\n"
    assert fake.read_until("fake> ") == "fake: [sleep:0.3]\nfake> "
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize(("answer", "verdict"), [("y", "approved"), ("no", "denied")])
def test_tool_directive_asks_then_reports(
    spawn: Callable[..., Running], reports: Path, home: Path, answer: str, verdict: str
) -> None:
    text = f"{HEADER}\n[tool:Bash]\nrun the tests"
    fake = spawn(text)
    assert fake.read_until("? [y/n] ").endswith("\nAllow tool Bash? [y/n] ")
    assert sent(reports) == [], "nothing is reported before the approval is answered"
    fake.send(f"{answer}\n")
    assert fake.read_until("fake> ") == (
        f"tool Bash {verdict}\n{reply_line(text)}\nreported T1\nfake> "
    )
    assert [r["task_id"] for r in sent(reports)] == ["T1"]
    (path,) = transcripts(home)
    assert [r["type"] for r in records(path)] == ["session_meta", "user", "assistant"]


def test_ctrl_c_during_a_directive_abandons_the_turn(
    spawn: Callable[..., Running], reports: Path
) -> None:
    fake = spawn(f"{HEADER}\n[sleep:30]")
    fake.read_until("working...\n")
    fake.proc.send_signal(signal.SIGINT)
    assert fake.read_until("fake> ") == "^C\nfake> "
    assert sent(reports) == []


def test_the_real_report_verb_stores_the_result(tmp_path: Path, home: Path) -> None:
    """No recorder: the fake runs ``team-agent report -`` in the agent's workspace."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "team.spec.yaml").write_text(
        "version: 1\nteam: {name: t}\nagents:\n  - id: impl\n    provider: fake\n"
    )
    env = clean_env(home)
    env["TEAM_AGENT_WORKSPACE"] = str(workspace)
    body = "add the cache\n[tool:Edit]"
    result = run_fake(env, f"{HEADER}\n{body}", stdin="y\n", timeout=30.0)
    assert "tool Edit approved\n" in result.stdout
    assert "\nreported T1\nfake> " in result.stdout, result.stdout
    with MessageStore.open(workspace / ".team") as store:
        (stored,) = store.results()
        (to_leader,) = store.inbox("leader")
    assert (stored.task_id, stored.agent_id, stored.status) == ("T1", "impl", "done")
    assert (
        stored.summary == f"fake handled msg-7: 2 lines, {len(body)} bytes, sha256 {digest(body)}"
    )
    assert (to_leader.kind, to_leader.task, to_leader.sender) == ("result", "T1", "impl")

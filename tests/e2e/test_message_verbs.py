"""`send`, `inbox`, `report`, `results`, `approvals` as real processes on a real store.

No reconciler runs here and no tmux is needed: these verbs only record intent and read.
The caller check (`guard_team_action`) passes outside tmux, so the environment given to
each process has no TMUX/TMUX_PANE (nor an agent's TEAM_AGENT_* variables unless a test
sets them on purpose).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import msgspec
import pytest

from reconciler.api import conditions as C
from reconciler.api.clock import format_time
from reconciler.api.conditions import Condition
from reconciler.api.envelope import ResultEnvelope, render_result
from reconciler.api.status import AgentStatus, ApprovalStatus, TeamStatus
from reconciler.engine.wake import WAKE_FILE
from reconciler.store.messages import LEADER, MessageRecord, MessageStore
from reconciler.store.statusfile import StatusStore

pytestmark = pytest.mark.e2e

SPEC = """\
version: 1
team: {name: msgs}
agents:
  - id: impl
  - id: review
  - id: docs
"""
_SCRUBBED = (
    "TMUX",
    "TMUX_PANE",
    "TEAM_AGENT_ID",
    "TEAM_AGENT_WORKSPACE",
    "TEAM_AGENT_TMUX_SOCKET",
    "TEAM_AGENT_LEADER_SESSION_UUID",
)


@dataclass
class Workspace:
    root: Path

    @property
    def spec(self) -> Path:
        return self.root / "team.spec.yaml"

    @property
    def state(self) -> Path:
        return self.root / ".team"

    def run(
        self,
        *args: str,
        spec: bool = True,
        stdin: bytes | None = None,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        base = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
        argv = [
            sys.executable,
            "-m",
            "reconciler",
            *(["-f", str(self.spec)] if spec else []),
            *args,
        ]
        return subprocess.run(
            argv,
            input=stdin if stdin is not None else b"",
            capture_output=True,
            env={**base, "COLUMNS": "200", **(env or {})},  # tables unwrapped
            cwd=cwd or self.root,
            timeout=60,
            check=False,
        )

    def run_all(self, *argvs: tuple[str, ...]) -> list[str]:
        """Several read-only invocations at once (each is a fresh interpreter); stdouts."""
        with ThreadPoolExecutor(max_workers=len(argvs)) as pool:
            done = list(pool.map(lambda argv: self.run(*argv), argvs))
        for argv, each in zip(argvs, done, strict=True):
            assert each.returncode == 0, (argv, each.stderr.decode())
        return [each.stdout.decode() for each in done]

    def json(self, *args: str) -> object:
        done = self.run(*args, "-o", "json")
        assert done.returncode == 0, done.stderr.decode()
        return json.loads(done.stdout)

    def store(self) -> MessageStore:
        return MessageStore.open(self.state)


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "team.spec.yaml").write_text(SPEC)
    yield Workspace(root)


def out(done: subprocess.CompletedProcess[bytes]) -> str:
    return done.stdout.decode()


def err(done: subprocess.CompletedProcess[bytes]) -> str:
    return done.stderr.decode()


def test_send_to_one_several_and_everyone(ws: Workspace) -> None:
    one = ws.run("send", "impl", "hello impl", "--task", "T1")
    assert one.returncode == 0, err(one)
    assert out(one) == "msg-1\n"
    wake = ws.state / WAKE_FILE
    assert wake.exists() and stat.S_IMODE(wake.stat().st_mode) == 0o600
    several = ws.run("send", "--to", "review,leader", "two of you")
    assert out(several) == "msg-2\nmsg-3\n", err(several)
    everyone = ws.run("send", "*", "all workers", env={"TEAM_AGENT_ID": "docs"})
    assert out(everyone) == "msg-4\nmsg-5\n", err(everyone)  # every worker but the sender
    with ws.store() as store:
        got = {m.id: (m.sender, m.recipient, m.task, m.body, m.state) for m in _all(store)}
    assert got == {
        "msg-1": (LEADER, "impl", "T1", "hello impl", "queued"),
        "msg-2": (LEADER, "review", None, "two of you", "queued"),
        "msg-3": (LEADER, LEADER, None, "two of you", "queued"),
        "msg-4": ("docs", "impl", None, "all workers", "queued"),
        "msg-5": ("docs", "review", None, "all workers", "queued"),
    }


def test_send_to_an_unknown_recipient_exits_2_naming_it(ws: Workspace) -> None:
    done = ws.run("send", "impl,ghost", "hello")
    assert done.returncode == 2
    assert "unknown recipient 'ghost'" in err(done)
    assert "impl, review, docs, leader" in err(done)
    assert not (ws.state / "messages.db").exists()  # nothing was queued, not even for impl


def test_communication_allow_limits_worker_to_worker_sends(ws: Workspace) -> None:
    ws.spec.write_text(SPEC + "communication:\n  allow:\n    - {from: impl, to: review}\n")
    allowed = ws.run("send", "review", "please look", env={"TEAM_AGENT_ID": "impl"})
    assert allowed.returncode == 0, err(allowed)
    refused = ws.run("send", "docs", "please write", env={"TEAM_AGENT_ID": "impl"})
    assert refused.returncode == 2
    assert "impl may not send to docs: communication.allow has no edge" in err(refused)
    to_leader = ws.run("send", "leader", "blocked on T3", env={"TEAM_AGENT_ID": "docs"})
    assert to_leader.returncode == 0, err(to_leader)  # the leader is always reachable
    from_leader = ws.run("send", "docs", "go ahead")
    assert from_leader.returncode == 0, err(from_leader)
    with ws.store() as store:
        assert [(m.sender, m.recipient) for m in _all(store)] == [
            ("impl", "review"),
            ("docs", LEADER),
            (LEADER, "docs"),
        ]


def test_send_reads_a_large_body_from_stdin_byte_for_byte(ws: Workspace) -> None:
    lines = [f"{n:04d} " + "héllo wörld " * 16 + "end" for n in range(500)]
    body = ("\n".join(lines) + "\n").encode()
    assert len(body) > 100_000
    done = ws.run("send", "review", "-", "-o", "json", stdin=body)
    assert done.returncode == 0, err(done)
    [record] = json.loads(done.stdout)
    assert record["recipient"] == "review" and record["body"].encode() == body
    with ws.store() as store:
        stored = store.get(record["id"])
    assert stored is not None and stored.body.encode() == body


def test_send_refuses_control_characters(ws: Workspace) -> None:
    done = ws.run("send", "impl", "-", stdin=b"fine\nthen \x1b[201~ trouble\n")
    assert done.returncode == 2
    assert "U+001B on line 2" in err(done)


def test_send_wait_times_out_with_exit_1_when_no_reconciler_runs(ws: Workspace) -> None:
    started = time.monotonic()
    done = ws.run("send", "impl", "anyone there?", "--wait=0.5s")
    assert done.returncode == 1
    assert time.monotonic() - started >= 0.5
    assert out(done) == "msg-1\n"
    assert "msg-1 still queued after 0.5s" in err(done)


def test_inbox_results_and_approvals_as_table_and_json(ws: Workspace) -> None:
    env = ResultEnvelope(
        task_id="T1", agent_id="impl", status="done", summary="[bold]parser[/bold] done"
    )
    with MessageStore.open(_state_dir(ws)) as store:
        store.send(sender=LEADER, recipients=["impl"], body="line one\nline two", task="T1", now=1)
        store.send(sender="review", recipients=["impl"], body="question", task=None, now=2)
        store.add_result(env, now=3, notify=LEADER)
    _write_status_awaiting_approval(ws)

    (
        inbox_json,
        inbox_table,
        leader_table,
        results_json,
        review_json,
        results_table,
        approvals_json,
        approvals_table,
    ) = ws.run_all(
        ("inbox", "impl", "-o", "json"),
        ("inbox", "impl"),
        ("inbox", "leader"),
        ("results", "--task", "T1", "-o", "json"),
        ("results", "--agent", "review", "-o", "json"),
        ("results",),
        ("approvals", "-o", "json"),
        ("approvals",),
    )
    inbox = json.loads(inbox_json)
    assert [(m["id"], m["sender"], m["body"]) for m in inbox] == [
        ("msg-1", LEADER, "line one\nline two"),
        ("msg-2", "review", "question"),
    ]
    assert set(inbox[0]) >= {
        "id",
        "seq",
        "sender",
        "recipient",
        "task",
        "kind",
        "state",
        "attempts",
        "createdAt",
        "updatedAt",
        "deliveredAt",
        "lastError",
    }
    assert inbox[0]["createdAt"] == "1970-01-01T00:00:01Z" and inbox[0]["deliveredAt"] is None
    assert "msg-1" in inbox_table and "line one (+1 lines)" in inbox_table
    assert "question" in inbox_table
    assert "[result] T1 from impl: done - [bold]parser[/bold] done" in leader_table

    assert json.loads(results_json) == [
        {
            "id": "res-1",
            "taskId": "T1",
            "agentId": "impl",
            "status": "done",
            "summary": "[bold]parser[/bold] done",
            "envelope": env.model_dump(mode="json"),
            "createdAt": "1970-01-01T00:00:03Z",
        }
    ]
    assert json.loads(review_json) == []
    assert "[bold]parser[/bold] done" in results_table  # printed as is, not styled

    assert json.loads(approvals_json) == [
        {
            "agent": "review",
            "tool": "Bash",
            "prompt": "Allow tool Bash? [y/n]",
            "since": "2026-11-25T09:00:00Z",
            "paneId": "%7",
            "message": "waiting for a person",
        }
    ]
    assert "review" in approvals_table and "Bash" in approvals_table
    assert "Allow tool Bash? [y/n]" in approvals_table
    assert "impl" not in approvals_table  # Ready agents are not listed


def test_readers_on_an_empty_workspace_show_nothing_and_create_nothing(ws: Workspace) -> None:
    outputs = ws.run_all(
        ("inbox", "leader", "-o", "json"), ("results", "-o", "json"), ("approvals", "-o", "json")
    )
    assert [json.loads(each) for each in outputs] == [[], [], []]
    assert not ws.state.exists()


def test_report_from_a_file_stdin_and_flags(ws: Workspace, tmp_path: Path) -> None:
    report_file = tmp_path / "result.json"
    report_file.write_text(
        json.dumps(
            {"task_id": "T1", "agent_id": "impl", "status": "done", "summary": "from a file"}
        )
    )
    from_file = ws.run("report", str(report_file))
    assert from_file.returncode == 0, err(from_file)
    assert out(from_file) == "res-1 (msg-1 to leader)\n"
    stdin_doc = {"task_id": "T2", "status": "blocked", "summary": "from stdin", "risks": ["r"]}
    from_stdin = ws.run(
        "report",
        "-",
        "-o",
        "json",
        stdin=json.dumps(stdin_doc).encode(),
        env={"TEAM_AGENT_ID": "review"},
    )
    assert from_stdin.returncode == 0, err(from_stdin)
    reported = json.loads(from_stdin.stdout)
    assert reported["result"]["agentId"] == "review" and reported["result"]["id"] == "res-2"
    assert reported["message"]["recipient"] == LEADER and reported["message"]["kind"] == "result"
    from_flags = ws.run(
        "report", "--agent", "docs", "--task", "T3", "--status", "partial", "--summary", "flags"
    )
    assert out(from_flags) == "res-3 (msg-3 to leader)\n", err(from_flags)

    with ws.store() as store:
        found = store.results()
        notices = store.inbox(LEADER)
    assert [(r.agent_id, r.task_id, r.status, r.summary) for r in found] == [
        ("impl", "T1", "done", "from a file"),
        ("review", "T2", "blocked", "from stdin"),
        ("docs", "T3", "partial", "flags"),
    ]
    assert [n.body for n in notices] == [render_result(r.envelope, "envelope-v1") for r in found]
    events = [json.loads(line) for line in (ws.state / "events.jsonl").read_text().splitlines()]
    assert [(e["reason"], e["object"]) for e in events] == [
        ("Result", "agent/impl"),
        ("Result", "agent/review"),
        ("Result", "agent/docs"),
    ]
    assert events[1]["message"] == "res-2 task T2: blocked - from stdin"


def test_report_an_invalid_envelope_exits_2_and_stores_nothing(ws: Workspace) -> None:
    bad = ws.run(
        "report",
        "-",
        stdin=b'{"agent_id": "impl", "status": "finished", "summary": "x", "extra": 1}',
    )
    assert bad.returncode == 2
    assert "invalid result envelope (stdin)" in err(bad)
    assert "status: Input should be 'done', 'partial', 'failed' or 'blocked'" in err(bad)
    assert "extra: Extra inputs are not permitted" in err(bad)
    not_json = ws.run("report", "-", stdin=b'{"agent_id": "impl",\n  oops}')
    assert not_json.returncode == 2 and "not JSON: line 2 column 3" in err(not_json)
    unknown = ws.run("report", "--agent", "ghost", "--status", "done", "--summary", "x")
    assert unknown.returncode == 2 and "unknown agent 'ghost'" in err(unknown)
    assert not (ws.state / "messages.db").exists()


def test_report_from_a_worker_pane_needs_no_spec_flag(ws: Workspace, tmp_path: Path) -> None:
    """What an agent does: cwd anywhere, the team found through its environment."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = ws.run(
        "report",
        "--task",
        "T5",
        "--status",
        "done",
        "--summary",
        "from the pane",
        spec=False,
        cwd=elsewhere,
        env={"TEAM_AGENT_WORKSPACE": str(ws.root), "TEAM_AGENT_ID": "impl"},
    )
    assert done.returncode == 0, err(done)
    assert out(done) == "res-1 (msg-1 to leader)\n"
    assert not (elsewhere / ".team").exists()
    with ws.store() as store:
        [result] = store.results()
    assert (result.agent_id, result.task_id, result.summary) == ("impl", "T5", "from the pane")


def _all(store: MessageStore) -> list[MessageRecord]:
    return sorted(
        (m for who in ("impl", "review", "docs", LEADER) for m in store.inbox(who)),
        key=lambda m: m.seq,
    )


def _state_dir(ws: Workspace) -> Path:
    ws.state.mkdir(mode=0o700, exist_ok=True)
    return ws.state


def _write_status_awaiting_approval(ws: Workspace) -> None:
    since = format_time(datetime(2026, 11, 25, 9, 0, 0, tzinfo=timezone.utc))
    waiting = Condition(
        type=C.READY,
        status=C.FALSE,
        reason=C.AWAITING_APPROVAL,
        message="waiting for a person",
        lastTransitionTime=since,
        observedGeneration=0,
    )
    ready = Condition(
        type=C.READY,
        status=C.TRUE,
        reason=C.RUNNING,
        message="",
        lastTransitionTime=since,
        observedGeneration=0,
    )
    status = msgspec.structs.replace(
        TeamStatus.empty("msgs"),
        agents={
            "impl": AgentStatus(conditions=[ready], paneId="%6"),
            "review": AgentStatus(
                conditions=[waiting],
                paneId="%7",
                approval=ApprovalStatus(tool="Bash", prompt="Allow tool Bash? [y/n]", since=since),
            ),
        },
    )
    StatusStore(_state_dir(ws)).write(status)

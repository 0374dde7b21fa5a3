"""Messages end to end on real tmux servers, with the fake agent answering and reporting.

What arrived is checked on what the recipient *received*: the fake records every submitted
input as one `user` record in its transcript (`$FAKE_AGENT_HOME/sessions/<id>.jsonl`), the
stub CLIs log every input line, so "whole", "once" and "not mixed" are facts about the
CLI's side, not about our store.

Attacks, by test name: a result travelling back to the leader, a 100 KB paste, two sends at
once, copy mode, a first-run dialog, an approval prompt, a reconciler killed at each step
of a delivery, a stuck worker.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from reconciler.api import conditions as C
from reconciler.engine.engine import PassResult
from reconciler.store.messages import MessageRecord, MessageStore
from tests.conftest import REPO, PersonServer, TeamWorkspace, retry_until
from tests.e2e.stubenv import stub_env
from tests.e2e.test_leader import leader_env, start_leader  # noqa: F401 (fixture)

pytestmark = pytest.mark.e2e

WORKERS = """\
version: 1
team: {{name: msgs}}
{leader}agents:
  - id: impl
  - id: review
{extra}"""
HEADER = re.compile(r"^\[team-agent\] (msg-\d+) from (\S+)", re.MULTILINE)
KILL_CHILD = Path(__file__).with_name("delivery_kill_child.py")


@pytest.fixture(autouse=True)
def outside_tmux(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """`send` from the test is a caller outside tmux and no agent: it sends as the leader."""
    for name in ("TMUX", "TMUX_PANE", "TEAM_AGENT_ID", "TEAM_AGENT_WORKSPACE"):
        monkeypatch.delenv(name, raising=False)
    yield


def workers(team: TeamWorkspace, *, leader: bool = False, extra: str = "") -> None:
    team.write_spec(
        WORKERS.format(leader="leader: {provider: fake}\n" if leader else "", extra=extra)
    )


def store(team: TeamWorkspace) -> MessageStore:
    return MessageStore.open(team.root / ".team")


def message(team: TeamWorkspace, message_id: str) -> MessageRecord:
    with store(team) as st:
        found = st.get(message_id)
    assert found is not None, message_id
    return found


def send(team: TeamWorkspace, *args: str, body: str | None = None) -> list[str]:
    """`team-agent send ... -o json` as a separate process; the ids it printed."""
    argv = [sys.executable, "-m", "reconciler", "-f", str(team.spec_path), "send"]
    done = subprocess.run(
        [*argv, *args, "-o", "json"],
        input=body,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=team.root,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [record["id"] for record in json.loads(done.stdout)]


def passes_until(
    team: TeamWorkspace, check: Callable[[], object], *, timeout: float = 30.0
) -> PassResult:
    """Reconcile pass after pass (as `run` would) until `check()` holds."""
    deadline = time.monotonic() + timeout
    while True:
        result = team.reconcile()
        if check():
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout}s; last pass: {result.outcomes}")
        time.sleep(0.05)


def delivered(team: TeamWorkspace, *ids: str) -> Callable[[], bool]:
    return lambda: all(message(team, i).state == "delivered" for i in ids)


def user_inputs(team: TeamWorkspace) -> list[str]:
    """Every input any fake agent of this test received (all transcripts)."""
    texts: list[str] = []
    sessions = team.root.parent / "home" / ".fake-agent" / "sessions"
    for path in sorted(sessions.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if record.get("type") == "user":
                texts.append(record["text"])
    return texts


def inputs_of(team: TeamWorkspace, session: str) -> list[str]:
    path = team.root.parent / "home" / ".fake-agent" / "sessions" / f"{session}.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return [r["text"] for r in records if r.get("type") == "user"]


def session_of(team: TeamWorkspace, agent: str) -> str:
    """The fake's session id, from the banner it printed in its pane."""
    pane = team.agent_panes(agent)[0].pane_id
    found = retry_until(lambda: re.search(r"session=([\w-]+)\)", capture(team, pane)))
    return str(found.group(1))


def capture(team: TeamWorkspace, pane: str, *, server: PersonServer | None = None) -> str:
    tmux = server.tmux if server is not None else team.tmux
    return "\n".join(tmux.run("capture-pane", "-p", "-J", "-S", "-200", "-t", pane))


def received(team: TeamWorkspace, message_id: str) -> list[str]:
    """Inputs whose header names `message_id`: a message received twice shows twice."""
    return [t for t in user_inputs(team) if (m := HEADER.match(t)) and m.group(1) == message_id]


# --- leader → worker → result → leader ----------------------------------------------------


def test_task_goes_to_the_worker_and_its_result_reaches_the_leader_once(
    team: TeamWorkspace, person_server: PersonServer
) -> None:
    workers(team, leader=True)
    person_server.start("sh", cwd=team.root)  # keeps the person's server up
    leader_pane = start_leader(team, person_server)
    team.converge()
    passes_until(team, lambda: C.is_true(team.status().leader.conditions, C.LEADER_BOUND))

    [task_id] = send(team, "impl", "Implement the parser.", "--task", "T1")
    passes_until(team, delivered(team, task_id))
    with store(team) as st:
        retry_until(lambda: st.results(task="T1"), timeout=30)
        [result] = st.results(task="T1")
        [to_leader] = [m for m in st.inbox("leader") if m.kind == "result"]
    assert (result.agent_id, result.status) == ("impl", "done")
    passes_until(team, delivered(team, to_leader.id))

    banner = capture(team, leader_pane, server=person_server)
    leader_session = re.search(r"session=([\w-]+)\)", banner)
    assert leader_session is not None

    def results_seen() -> list[str]:
        return [t for t in inputs_of(team, leader_session.group(1)) if "[result] T1" in t]

    [got] = results_seen()
    assert got.startswith(f"[team-agent] {to_leader.id} from impl task=T1\n[result] T1 from impl")
    for _ in range(3):  # later passes deliver nothing more
        team.reconcile()
    assert len(results_seen()) == 1
    assert len(received(team, task_id)) == 1


# --- whole, once, not mixed ---------------------------------------------------------------


def test_a_100_kb_500_line_message_arrives_whole_and_once(team: TeamWorkspace) -> None:
    workers(team)
    team.converge()
    line = "abcdefghij" * 19 + "!"
    body = "\n".join(f"line {i:03d} {line}" for i in range(500))
    assert len(body.encode()) >= 100_000
    [mid] = send(team, "impl", "-", body=body)
    passes_until(team, delivered(team, mid), timeout=60)

    got = received(team, mid)
    assert len(got) == 1
    header, _, arrived = got[0].partition("\n")
    assert header == f"[team-agent] {mid} from leader"
    assert arrived.splitlines()[0] == f"line 000 {line}"  # the head is intact
    assert arrived == body
    assert message(team, mid).attempts == 1


def test_two_sends_at_once_to_two_agents_never_swap_or_mix(team: TeamWorkspace) -> None:
    workers(team)
    team.converge()
    bodies = {
        agent: "\n".join(f"{agent} payload {i:02d} " + agent[0] * 40 for i in range(40))
        for agent in ("impl", "review")
    }
    argv = [sys.executable, "-m", "reconciler", "-f", str(team.spec_path), "send"]
    procs = {
        agent: subprocess.Popen(
            [*argv, agent, "-", "-o", "json"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=team.root,
        )
        for agent in bodies
    }
    ids = {}
    for agent, proc in procs.items():
        out, _ = proc.communicate(bodies[agent], timeout=60)
        assert proc.returncode == 0
        [ids[agent]] = [r["id"] for r in json.loads(out)]
    passes_until(team, delivered(team, *ids.values()))

    for agent, body in bodies.items():
        session = session_of(team, agent)
        mine = inputs_of(team, session)
        assert [t.partition("\n")[2] for t in mine] == [body]
        other = "review" if agent == "impl" else "impl"
        assert not any(f"{other} payload" in t for t in mine)


# --- a pane that cannot take input now ----------------------------------------------------


def test_a_pane_in_copy_mode_gets_the_message_after_leaving_it(team: TeamWorkspace) -> None:
    workers(team)
    team.converge()
    pane = team.agent_panes("impl")[0].pane_id
    team.tmux.run("copy-mode", "-t", pane)
    assert team.agent_panes("impl")[0].in_mode

    [mid] = send(team, "impl", "read the log, please")
    passes_until(team, delivered(team, mid))
    assert not team.agent_panes("impl")[0].in_mode
    assert len(received(team, mid)) == 1


def test_a_worker_at_a_dialog_is_not_typed_into_until_it_is_answered(
    team: TeamWorkspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = stub_env(team, tmp_path, monkeypatch)
    team.write_spec(
        """\
        version: 1
        team: {name: msgs}
        agents:
          - id: worker
            provider: claude
        """
    )
    env.passes_until(
        lambda r: (
            C.find_condition(r.status.agents["worker"].conditions, C.READY) is not None
            and C.find_condition(r.status.agents["worker"].conditions, C.READY).reason  # type: ignore[union-attr]
            == C.AWAITING_INPUT
        )
    )
    [mid] = send(team, "worker", "first line\nsecond line")
    for _ in range(5):
        result = team.reconcile()
    ready = C.find_condition(result.status.agents["worker"].conditions, C.READY)
    assert ready is not None and ready.reason == C.AWAITING_INPUT
    assert message(team, mid).state == "queued"
    assert env.records("input", "claude") == [] and env.records("dialog") == []

    pane = team.agent_panes("worker")[0].pane_id
    team.tmux.run("send-keys", "-t", pane, "Enter")  # the person trusts the folder
    passes_until(team, delivered(team, mid))
    inputs = [r["text"] for r in env.records("input", "claude")]
    assert inputs == [f"[team-agent] {mid} from leader\nfirst line\nsecond line"]


def test_an_approval_prompt_is_reported_and_never_typed_into(team: TeamWorkspace) -> None:
    workers(team)
    team.converge()
    [ask] = send(team, "impl", "clean the build\n[tool:Bash]")
    passes_until(team, delivered(team, ask))
    result = passes_until(
        team,
        lambda: (
            (r := C.find_condition(team.status().agents["impl"].conditions, C.READY)) is not None
            and r.reason == C.AWAITING_APPROVAL
        ),
    )
    impl = result.status.agents["impl"]
    assert impl.approval is not None and impl.approval.tool == "Bash"
    assert "Allow tool Bash?" in impl.approval.prompt
    listed = json.loads(team.cli("approvals", "-o", "json", check=True).stdout)
    assert [(a["agent"], a["tool"]) for a in listed] == [("impl", "Bash")]

    [later] = send(team, "impl", "and then the docs")
    for _ in range(5):
        team.reconcile()
        time.sleep(0.05)
    assert message(team, later).state == "queued"
    pane = team.agent_panes("impl")[0].pane_id
    assert "and then the docs" not in capture(team, pane)

    team.tmux.run("send-keys", "-t", pane, "y", "Enter")  # the person approves
    passes_until(team, delivered(team, later))
    assert team.status().agents["impl"].approval is None
    assert "tool Bash approved" in capture(team, pane)


def test_auto_approve_answers_a_listed_tool_once(team: TeamWorkspace) -> None:
    team.write_spec(
        """\
        version: 1
        team: {name: msgs}
        agents:
          - id: impl
            auto_approve: [Bash]
        """
    )
    team.converge()
    [ask] = send(team, "impl", "clean the build\n[tool:Bash]")
    pane = team.agent_panes("impl")[0].pane_id
    passes_until(team, lambda: "tool Bash approved" in capture(team, pane))
    for _ in range(3):
        team.reconcile()
    assert capture(team, pane).count("tool Bash approved") == 1
    assert message(team, ask).state == "delivered"


# --- a reconciler killed in the middle of a delivery --------------------------------------


@pytest.mark.parametrize("point", ["pasted", "entering", "entered"])
def test_a_reconciler_killed_during_delivery_never_submits_twice(
    team: TeamWorkspace, point: str
) -> None:
    workers(team)
    team.converge()
    [mid] = send(team, "impl", "exactly once, please\nsecond line")
    child = subprocess.run(
        [sys.executable, str(KILL_CHILD), str(team.spec_path), point],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=False,
    )
    assert child.returncode == -9, child.stdout + child.stderr  # SIGKILLed at `point`
    assert message(team, mid).state == "delivering"

    passes_until(team, lambda: message(team, mid).state in ("delivered", "failed"))
    final = message(team, mid)
    got = received(team, mid)
    if final.state == "delivered":
        assert len(got) == 1
    else:
        assert got == [] and final.last_error
    assert point != "pasted" or final.state == "delivered"  # nothing was submitted yet


# --- stuck and idle -----------------------------------------------------------------------


def test_a_stuck_worker_is_stalled_with_one_alert_and_the_idle_team_one_reminder(
    team: TeamWorkspace,
) -> None:
    workers(team, extra="runtime:\n  stuck_timeout_sec: 2\n  idle_timeout_sec: 2\n")
    team.converge()
    [task] = send(team, "impl", "think about it\n[no-report]", "--task", "T9")
    passes_until(team, delivered(team, task))

    def stalled() -> bool:
        return C.is_true(team.status().agents["impl"].conditions, C.STALLED)

    result = passes_until(team, stalled, timeout=20)
    found = C.find_condition(result.status.agents["impl"].conditions, C.STALLED)
    assert found is not None and found.reason == C.STUCK and "T9" in found.message
    for _ in range(5):
        team.reconcile()
        time.sleep(0.1)
    with store(team) as st:
        to_leader = st.inbox("leader")
    alerts = [m for m in to_leader if m.kind == "alert"]
    reminders = [m for m in to_leader if m.kind == "reminder"]
    assert len(alerts) == 1 and "impl" in alerts[0].body
    assert len(reminders) == 1 and "T9 (impl)" in reminders[0].body
    assert all(m.state == "queued" for m in to_leader)  # no leader bound: they wait
    review = C.find_condition(team.status().agents["review"].conditions, C.STALLED)
    assert review is None or review.status == C.FALSE

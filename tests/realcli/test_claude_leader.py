"""A real Claude Code as the team's leader (@anthropic-ai/claude-code, pinned).

The leader is started the way a person starts it, `team-agent leader claude` run in a
tmux pane of a second private server (`person_server`, standing in for the person's
default server), its environment pointing Claude at the mock model. The workers' server
runs one shell worker. Checked: the leader is bound (`LeaderBound=True`); a worker's
result reaches the leader's model exactly once; the mock answering 529 and then 429 makes
`LeaderAPIError` True with reason `Overloaded`, then `RateLimited`, read from the real
error lines (`CLAUDE_CODE_MAX_RETRIES=0`: Claude gives up at the first failure instead of
retrying for ~3 minutes).
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections.abc import Iterator

import pytest

from reconciler.api import conditions as C
from reconciler.engine.engine import PassResult
from tests.conftest import PersonServer, retry_until
from tests.mockmodel.replies import Error, Text
from tests.realcli import homes
from tests.realcli.clis import CLIS
from tests.realcli.team import RealTeam

pytestmark = [pytest.mark.e2e, pytest.mark.realcli]

CLI = CLIS["claude"]
BOX = "\u276f\u00a0"
SPEC = """\
version: 1
team: {name: lead}
leader: {provider: claude}
agents:
  - id: worker
    provider: shell
    command: ["sleep", "3600"]
"""


@pytest.fixture(autouse=True)
def leader_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The same identity inputs for the test, the leader it starts and the CLI."""
    monkeypatch.setenv("TEAM_AGENT_MACHINE_FINGERPRINT", "test-machine-fingerprint")
    for name in ("TEAM_AGENT_LEADER_SESSION_UUID_OVERRIDE", "TEAM_AGENT_LEADER_PROVIDER"):
        monkeypatch.delenv(name, raising=False)
    yield


def screen(server: PersonServer, pane: str) -> str:
    return "\n".join(server.tmux.run("capture-pane", "-p", "-t", pane))


def start_leader(real: RealTeam, server: PersonServer, **extra: str) -> str:
    """`team-agent leader claude` in a pane of the person's server, at Claude's box."""
    real.team.write_spec(SPEC)
    env = homes.prepare("claude", real.home, real.mock.url, workspace=real.root)
    env.update(extra)
    env["PATH"] = os.environ["PATH"]  # the pinned CLIs first (the real_team fixture)
    env["TEAM_AGENT_MACHINE_FINGERPRINT"] = os.environ["TEAM_AGENT_MACHINE_FINGERPRINT"]
    argv = [sys.executable, "-m", "reconciler", "-f", str(real.team.spec_path), "leader", "claude"]
    pane = server.start(*argv, cwd=real.root, env=env)
    retry_until(lambda: BOX in screen(server, pane), timeout=CLI.ready_sec)
    return pane


def leader_condition(result: PassResult, kind: str) -> C.Condition | None:
    return C.find_condition(result.status.leader.conditions, kind)


def until_bound(real: RealTeam, pane: str) -> PassResult:
    def bound(result: PassResult) -> bool:
        found = leader_condition(result, C.LEADER_BOUND)
        return found is not None and found.status == C.TRUE

    result = real.until(bound, timeout=30)
    assert result.status.leader.paneId == pane
    return result


def test_the_claude_leader_is_bound_and_gets_a_result_once(
    real_team: RealTeam, person_server: PersonServer
) -> None:
    real = real_team
    pane = start_leader(real, person_server)
    bound = until_bound(real, pane)
    assert bound.status.leader.provider == "claude"
    api = leader_condition(bound, C.LEADER_API_ERROR)
    assert api is not None and (api.status, api.reason) == (C.FALSE, C.NO_API_ERROR)

    word = f"result-{uuid.uuid4().hex[:8]}"
    real.mock.script(Text("noted"))
    done = real.cli("report", "--agent", "worker", "--status", "done", "--summary", word)
    assert done.returncode == 0, done.stderr

    def delivered(_: PassResult) -> bool:
        inbox = json.loads(real.cli("inbox", "leader", "-o", "json").stdout)
        return [m["state"] for m in inbox] == ["delivered"]

    real.until(delivered, timeout=60)
    real.until_model_saw(word)
    for _ in range(5):  # later passes deliver nothing again
        real.team.reconcile()
        time.sleep(0.2)
    assert real.turns_with(word) == 1
    assert C.is_true(real.team.status().leader.conditions, C.LEADER_BOUND)


def test_overloaded_and_rate_limited_errors_in_the_leader_pane(
    real_team: RealTeam, person_server: PersonServer
) -> None:
    real = real_team
    pane = start_leader(real, person_server, CLAUDE_CODE_MAX_RETRIES="0")
    until_bound(real, pane)

    for status, message, reason in (
        (529, "Overloaded", C.OVERLOADED),
        (429, "Number of request tokens has exceeded your per-minute rate limit", C.RATE_LIMITED),
    ):
        real.mock.script(Error(status, message))
        real.send(f"please answer {status}", to="leader")

        def reported(result: PassResult, reason: str = reason) -> bool:
            found = leader_condition(result, C.LEADER_API_ERROR)
            return found is not None and found.status == C.TRUE and found.reason == reason

        result = real.until(reported, timeout=60)
        kinds = [(e.kind, e.code) for e in result.status.leader.apiErrors]
        assert (reason, status) in kinds, kinds
        assert f"API Error: {status}" in screen(person_server, pane) or (
            f"({status})" in screen(person_server, pane)
        )
        # Claude gave up (one request: CLAUDE_CODE_MAX_RETRIES=0) and shows its box again.
        retry_until(lambda: "esc to interrupt" not in screen(person_server, pane), timeout=30)
    events = json.loads(real.cli("events", "-o", "json").stdout)
    assert sum(e["reason"] == C.LEADER_API_ERROR for e in events) == 2

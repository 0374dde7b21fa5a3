"""Leader binding against real tmux servers, with the `fake` provider as the leader.

Two private servers per test: the workers' (`team.socket`) and the "person's"
(`person_server`), which stands in for the person's default server where the leader
usually lives; the real default server is never addressed. The leader is started the way
a person starts it, `team-agent leader fake` run in a tmux pane, and commands "from a
pane" run with the `TMUX`/`TMUX_PANE` tmux would give them.

Attacks, by test name: a killed or restarted leader pane, two panes with one UUID,
another team's UUID, an unreadable environment, a tmux server restart that recycles pane
ids, `down` and passes near the leader, a caller that is nobody's leader, API errors.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator

import psutil
import pytest

from controllers.leader.identity import resolve_identity
from reconciler.api import conditions as C
from reconciler.api.conditions import Condition
from reconciler.api.status import LeaderStatus
from reconciler.engine.engine import PassResult
from reconciler.store.eventlog import EventLog
from tests.conftest import PersonServer, TeamWorkspace, retry_until

pytestmark = pytest.mark.e2e

FINGERPRINT = "test-machine-fingerprint"
SPEC = """\
version: 1
team: {name: lead}
leader: {provider: fake}
agents:
  - id: worker
    provider: shell
    command: ["sleep", "3600"]
"""
OVERLOADED = (
    'API Error: 529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
)


@pytest.fixture(autouse=True)
def leader_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The same identity inputs for the tests, the leaders they start and the CLI."""
    monkeypatch.setenv("TEAM_AGENT_MACHINE_FINGERPRINT", FINGERPRINT)
    for name in ("TEAM_AGENT_LEADER_SESSION_UUID_OVERRIDE", "TEAM_AGENT_LEADER_PROVIDER"):
        monkeypatch.delenv(name, raising=False)
    yield


def leader_argv(team: TeamWorkspace, *args: str) -> list[str]:
    return [sys.executable, "-m", "reconciler", "-f", str(team.spec_path), "leader", *args]


def start_leader(
    team: TeamWorkspace,
    server: PersonServer,
    *args: str,
    env: dict[str, str] | None = None,
    wait: bool = True,
) -> str:
    """`team-agent leader ARGS` in a new pane of `server`; returns once its prompt shows."""
    pane_id = server.start(*leader_argv(team, *(args or ("fake",))), cwd=team.root, env=env)
    if wait:
        wait_for_prompt(server, pane_id)
    return pane_id


def wait_for_prompt(server: PersonServer, *pane_ids: str) -> None:
    for pane_id in pane_ids:
        retry_until(lambda pane_id=pane_id: "fake> " in capture(server, pane_id), timeout=15)  # type: ignore[misc]


def capture(server: PersonServer, pane_id: str) -> str:
    return "\n".join(server.tmux.run("capture-pane", "-p", "-J", "-t", pane_id))


def expected_uuid(team: TeamWorkspace) -> str:
    return resolve_identity("lead", team.root, env=os.environ).uuid


def leader_of(result: PassResult) -> LeaderStatus:
    return result.status.leader


def bound(leader: LeaderStatus) -> tuple[str, str] | None:
    found = C.find_condition(leader.conditions, C.LEADER_BOUND)
    return (found.status, found.reason) if found else None


def pane_pid(server: PersonServer, pane_id: str) -> int:
    return int(server.tmux.run("display-message", "-p", "-t", pane_id, "#{pane_pid}")[0])


def event_reasons(team: TeamWorkspace) -> list[str]:
    return [e.reason for e in EventLog(team.root / ".team").read(limit=1000)]


def test_leader_bound_then_missing_then_bound_to_the_new_pane(
    team: TeamWorkspace, person_server: PersonServer
) -> None:
    """`team-agent leader fake` in a pane → Bound; the pane killed → LeaderPaneMissing;
    started again in a new pane → bound to the new pane, never to the old id."""
    team.write_spec(SPEC)
    keep = person_server.start("sh", cwd=team.root)  # keeps the server alive
    first = start_leader(team, person_server)

    leader = leader_of(team.converge())
    assert bound(leader) == (C.TRUE, C.BOUND)
    assert (leader.paneId, leader.socket) == (first, person_server.path)
    assert (leader.serverPid, leader.panePid) == (person_server.pid, pane_pid(person_server, first))
    assert (leader.uuid, leader.expectedUuid) == (expected_uuid(team), expected_uuid(team))
    assert (leader.boundVia, leader.provider) == ("env", "fake")
    hint = json.loads((team.root / ".team" / "leader.json").read_text())
    assert (hint["paneId"], hint["socket"]) == (first, person_server.path)

    person_server.tmux.run("kill-pane", "-t", first)
    leader = leader_of(team.reconcile())
    assert bound(leader) == (C.FALSE, C.LEADER_PANE_MISSING)
    assert (leader.paneId, leader.serverPid, leader.panePid, leader.uuid) == (None,) * 4

    second = start_leader(team, person_server)
    leader = leader_of(team.reconcile())
    assert bound(leader) == (C.TRUE, C.BOUND)
    assert leader.paneId == second and second not in (first, keep)
    reasons = event_reasons(team)
    assert reasons.count(C.LEADER_BOUND) == 2 and reasons.count(C.LEADER_PANE_MISSING) == 1


def test_two_panes_with_one_uuid_are_ambiguous_until_a_claim(
    team: TeamWorkspace, person_server: PersonServer
) -> None:
    """Two panes carry the team's UUID → LeaderAmbiguous, nothing bound; a dry run changes
    nothing; `claim-leader --confirm` from one → bound to it, epoch + 1; a claim from the
    other moves it again, epoch + 1 again."""
    team.write_spec(SPEC)
    first = start_leader(team, person_server, wait=False)
    second = start_leader(team, person_server, wait=False)
    wait_for_prompt(person_server, first, second)

    leader = leader_of(team.converge())
    assert bound(leader) == (C.FALSE, C.LEADER_AMBIGUOUS)
    assert leader.paneId is None
    epoch = leader.epoch

    dry = team.cli("claim-leader", env=person_server.caller_env(second))
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["dryRun"] is True
    assert json.loads(dry.stdout)["nextEpoch"] == epoch + 1
    assert bound(leader_of(team.reconcile())) == (C.FALSE, C.LEADER_AMBIGUOUS)

    claimed = team.cli("claim-leader", "--confirm", env=person_server.caller_env(second))
    assert claimed.returncode == 0, claimed.stderr
    assert json.loads(claimed.stdout)["epoch"] == epoch + 1
    leader = leader_of(team.reconcile())
    assert bound(leader) == (C.TRUE, C.BOUND)
    assert (leader.paneId, leader.epoch) == (second, epoch + 1)

    same = team.cli("claim-leader", "--confirm", env=person_server.caller_env(second))
    assert json.loads(same.stdout).get("unchanged") is True
    moved = team.cli("claim-leader", "--confirm", env=person_server.caller_env(first))
    assert moved.returncode == 0, moved.stderr
    leader = leader_of(team.reconcile())
    assert (leader.paneId, leader.epoch) == (first, epoch + 2)
    assert "LeaderClaimed" in event_reasons(team)


def test_another_teams_uuid_is_never_bound_until_taken_over(
    team: TeamWorkspace, person_server: PersonServer
) -> None:
    """A pane carrying another team's UUID, and a leader-shaped pane carrying none, on the
    workers' server → never bound (not by command name); `claim-leader` from it is refused
    (another UUID); `takeover --confirm` → bound, epoch + 1, LeaderUUIDMismatch=True with
    TakenOver (the other UUID was chosen, the derived one is not carried). Before it, the
    mismatch is False: two leader CLIs run in the workspace, so neither is evidently the
    team's leader."""
    team.write_spec(SPEC)
    other = team.root / "other"
    other.mkdir()
    (other / "team.spec.yaml").write_text("version: 1\nteam: {name: other}\n")
    workers = PersonServer(team.socket)  # the workers' server, driven like a person's
    team.converge()
    foreign = workers.start(
        sys.executable, "-m", "reconciler", "-f", str(other / "team.spec.yaml"), "leader", "fake",
        cwd=team.root,
    )  # fmt: skip
    retry_until(lambda: "fake> " in capture(workers, foreign), timeout=15)
    plain = workers.start(sys.executable, "-m", "reconciler.fakeagent.agent", cwd=team.root)
    retry_until(lambda: "fake> " in capture(workers, plain), timeout=15)

    leader = leader_of(team.reconcile())
    assert bound(leader) == (C.FALSE, C.LEADER_PANE_MISSING)
    assert leader.paneId is None
    missing = C.find_condition(leader.conditions, C.LEADER_BOUND)
    assert missing is not None and foreign in missing.message and "takeover" in missing.message
    assert C.find_condition(leader.conditions, C.LEADER_UUID_MISMATCH).status == C.FALSE  # type: ignore[union-attr]

    refused = team.cli("claim-leader", "--confirm", env=workers.caller_env(foreign))
    assert refused.returncode == 8, refused.stdout + refused.stderr
    assert json.loads(refused.stdout)["reason"] == "OtherLeaderUUID"

    taken = team.cli("takeover", "--confirm", env=workers.caller_env(foreign))
    assert taken.returncode == 0, taken.stderr
    leader = leader_of(team.reconcile())
    assert bound(leader) == (C.TRUE, C.BOUND)
    assert leader.paneId == foreign
    mismatch = C.find_condition(leader.conditions, C.LEADER_UUID_MISMATCH)
    assert mismatch is not None and (mismatch.status, mismatch.reason) == (C.TRUE, C.TAKEN_OVER)
    other_uuid = resolve_identity("other", other, env=os.environ).uuid
    assert (leader.uuid, leader.expectedUuid) == (other_uuid, expected_uuid(team))
    assert other_uuid in mismatch.message and expected_uuid(team) in mismatch.message
    assert leader.epoch == 1
    # One event for the chosen mismatch, of type Normal: a takeover is not a warning.
    events = json.loads(team.cli("events", "-o", "json").stdout)
    chosen = [e for e in events if e.get("reason") == C.LEADER_UUID_MISMATCH]
    assert [e.get("type") for e in chosen] == ["Normal"]


LEADER_ONLY = "version: 1\nteam: {name: lead}\nleader: {provider: fake}\nagents: []\n"
NEW_FINGERPRINT = "another-machine-fingerprint"


def mismatch_of(leader: LeaderStatus) -> Condition:
    found = C.find_condition(leader.conditions, C.LEADER_UUID_MISMATCH)
    assert found is not None
    return found


def waits_for(team: TeamWorkspace, condition: str, timeout: str = "0.3s") -> bool:
    """`team-agent wait --for condition=...`, as a monitor runs it: met (exit 0) or not (1)."""
    proc = team.cli("wait", "--for", f"condition={condition}", "--timeout", timeout)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return proc.returncode == 0


@pytest.mark.parametrize("cause", ["team-renamed", "workspace-moved", "fingerprint-changed"])
def test_identity_drift_under_a_running_leader_is_a_mismatch_until_fixed(
    team: TeamWorkspace,
    person_server: PersonServer,
    monkeypatch: pytest.MonkeyPatch,
    cause: str,
) -> None:
    """No leader: LeaderUUIDMismatch=False. A leader bound; then what its UUID derives from
    changes while it runs (the team renamed after a claim; the workspace directory moved;
    the reconciler restarted with another machine fingerprint) → LeaderUUIDMismatch=True
    naming the pane, both UUIDs, what changed and the fixes, and a monitor's `wait` sees
    it; after `takeover` (renamed) or a restarted leader (the others) → False again."""
    team.write_spec(LEADER_ONLY)
    person_server.start("sh", cwd=team.root)  # keeps the server up when the leader exits
    assert (mismatch_of(leader_of(team.reconcile())).status) == C.FALSE  # no leader at all
    pane_id = start_leader(team, person_server)
    old_uuid = expected_uuid(team)
    if cause == "team-renamed":  # the claim pins nothing: it claimed the derived UUID
        claimed = team.cli("claim-leader", "--confirm", env=person_server.caller_env(pane_id))
        assert claimed.returncode == 0, claimed.stderr
    leader = leader_of(team.reconcile())
    assert (bound(leader), leader.paneId) == ((C.TRUE, C.BOUND), pane_id)
    assert (mismatch_of(leader).status, mismatch_of(leader).reason) == (C.FALSE, C.UUID_MATCHES)

    if cause == "team-renamed":
        team.write_spec(LEADER_ONLY.replace("name: lead", "name: crew"))
        new_uuid, drift = resolve_identity("crew", team.root, env=os.environ).uuid, "team id"
    elif cause == "workspace-moved":
        moved = team.root.with_name("moved")
        team.root.rename(moved)
        team.root, team.engine_ = moved, None  # `team-agent run` in its new place
        new_uuid, drift = expected_uuid(team), f"workspace moved from {moved.with_name('ws')}"
    else:
        monkeypatch.setenv("TEAM_AGENT_MACHINE_FINGERPRINT", NEW_FINGERPRINT)
        team.engine_ = None  # `team-agent run` restarted without the leader's fingerprint
        new_uuid, drift = expected_uuid(team), "machine fingerprint changed"
    assert new_uuid != old_uuid

    leader = leader_of(team.reconcile())
    mismatch = mismatch_of(leader)
    assert (mismatch.status, mismatch.reason) == (C.TRUE, C.UUID_DIFFERS), mismatch.message
    assert f"pane {pane_id}" in mismatch.message
    assert old_uuid in mismatch.message and new_uuid in mismatch.message
    assert drift in mismatch.message
    assert "takeover --confirm" in mismatch.message
    assert "`team-agent leader fake`" in mismatch.message
    assert bound(leader) == (C.FALSE, C.LEADER_PANE_MISSING)  # never bound to the old UUID
    assert leader.expectedUuid == new_uuid
    assert event_reasons(team).count(C.LEADER_UUID_MISMATCH) == 1
    assert waits_for(team, "LeaderUUIDMismatch=True", timeout="5s")
    assert not waits_for(team, "LeaderUUIDMismatch=False")
    assert f"LeaderUUIDMismatch: UUIDDiffers pane {pane_id}" in team.cli("status").stdout

    if cause == "team-renamed":
        refused = team.cli("claim-leader", "--confirm", env=person_server.caller_env(pane_id))
        assert refused.returncode == 8, refused.stdout + refused.stderr  # OtherLeaderUUID
        taken = team.cli("takeover", "--confirm", env=person_server.caller_env(pane_id))
        assert taken.returncode == 0, taken.stderr
        leader = leader_of(team.reconcile())
        assert (bound(leader), leader.paneId, leader.uuid) == ((C.TRUE, C.BOUND), pane_id, old_uuid)
        fixed = (C.TRUE, C.TAKEN_OVER)  # bound as it is; the derived UUID is still not carried
    else:
        person_server.tmux.run("kill-pane", "-t", pane_id)
        env = {"TEAM_AGENT_MACHINE_FINGERPRINT": NEW_FINGERPRINT}
        restarted = start_leader(team, person_server, env=env if "fingerprint" in cause else None)
        leader = leader_of(team.reconcile())
        assert (bound(leader), leader.paneId) == ((C.TRUE, C.BOUND), restarted)
        assert leader.uuid == new_uuid
        fixed = (C.FALSE, C.UUID_MATCHES)
    assert (mismatch_of(leader).status, mismatch_of(leader).reason) == fixed
    assert waits_for(team, f"LeaderUUIDMismatch={fixed[0]}", timeout="5s")


def test_unreadable_environment_binds_through_the_pane_option(
    team: TeamWorkspace, person_server: PersonServer
) -> None:
    """The leader process runs with a cleared environment (as on macOS, where it cannot
    be read) → bound through the pane option, which vouches for that very process."""
    team.write_spec(SPEC)
    pane_id = start_leader(
        team, person_server, "shell", "--", "env", "-i", sys.executable, "-m",
        "reconciler.fakeagent.agent",
    )  # fmt: skip
    process = psutil.Process(pane_pid(person_server, pane_id))
    assert "TEAM_AGENT_LEADER_SESSION_UUID" not in process.environ()

    leader = leader_of(team.converge())
    assert bound(leader) == (C.TRUE, C.BOUND)
    assert (leader.paneId, leader.boundVia) == (pane_id, "option")
    assert leader.uuid == expected_uuid(team)


def test_tmux_restart_recycling_pane_ids_leaves_no_stale_binding(
    team: TeamWorkspace, person_server: PersonServer
) -> None:
    """Leader bound (and claimed) in `%0`; `tmux kill-server`; a new server whose `%0`
    runs a leader-shaped program and even carries a copy of the old markers → nothing is
    bound, and the claim and the hint name nothing any more."""
    team.write_spec(SPEC)
    first = start_leader(team, person_server)
    assert first == "%0"
    claimed = team.cli("claim-leader", "--confirm", env=person_server.caller_env(first))
    assert claimed.returncode == 0, claimed.stderr
    leader = leader_of(team.converge())
    assert (bound(leader), leader.paneId) == ((C.TRUE, C.BOUND), "%0")
    old_markers = person_server.tmux.run(
        "display-message", "-p", "-t", "%0", "#{@team_agent_leader_uuid} #{@team_agent_leader_pid}"
    )[0].split()

    person_server.tmux.kill_server()
    leader = leader_of(team.reconcile())
    assert bound(leader) == (C.FALSE, C.LEADER_PANE_MISSING)
    assert "is not running" in C.find_condition(leader.conditions, C.LEADER_BOUND).message  # type: ignore[union-attr]
    recycled = person_server.start(
        sys.executable, "-m", "reconciler.fakeagent.agent", cwd=team.root
    )
    assert recycled == "%0"
    retry_until(lambda: "fake> " in capture(person_server, recycled), timeout=15)
    for option, value in zip(
        ("@team_agent_leader_uuid", "@team_agent_leader_pid"), old_markers, strict=True
    ):
        person_server.tmux.run("set-option", "-p", "-t", "%0", option, value)

    leader = leader_of(team.reconcile())
    assert bound(leader) == (C.FALSE, C.LEADER_PANE_MISSING)
    assert (leader.paneId, leader.serverPid, leader.panePid) == (None, None, None)
    assert leader.epoch == 1  # the claim is remembered, and names nothing


def test_down_and_passes_never_kill_the_leader_pane(team: TeamWorkspace) -> None:
    """The leader split into a worker's window on the workers' server, even carrying our
    agent markers → passes (also one that removes the worker) and `down` stop the worker
    and never the leader: same pane, same process, still answering."""
    team.write_spec(SPEC)
    team.converge()
    workers = PersonServer(team.socket)
    worker = team.agent_panes("worker")[0]
    split = team.tmux.run(
        "split-window", "-d", "-t", worker.pane_id, "-c", str(team.root), "-P", "-F",
        "#{pane_id}", "--", *leader_argv(team, "fake"),
    )[0]  # fmt: skip
    retry_until(lambda: "fake> " in capture(workers, split), timeout=15)
    for option, value in (
        ("@team_agent_team", "lead"),
        ("@team_agent_agent", "worker"),
        ("@team_agent_workspace", str(team.root.resolve())),
    ):
        team.tmux.run("set-option", "-p", "-t", split, option, value)
    leader_pid = pane_pid(workers, split)

    for _ in range(3):
        result = team.reconcile()
        assert all(getattr(a, "pane", None) != split for a in result.plan.actions)
    assert bound(leader_of(result)) == (C.TRUE, C.BOUND)
    team.write_spec(SPEC.replace("agents:\n  - id: worker", "agents:\n  - id: other"))
    team.converge()

    down = team.cli("down")
    assert down.returncode == 0, down.stderr
    assert pane_pid(workers, split) == leader_pid
    assert psutil.pid_exists(leader_pid)
    team.tmux.run("send-keys", "-t", split, "-l", "still here")
    team.tmux.run("send-keys", "-t", split, "Enter")
    retry_until(lambda: "fake: still here" in capture(workers, split))
    assert [p.pane_id for p in team.agent_panes()] == [split]  # only the leader is left


def test_down_refuses_a_caller_that_is_neither_the_owner_nor_a_worker(
    team: TeamWorkspace, person_server: PersonServer
) -> None:
    """From a plain shell pane, from another UUID's leader, from a pane of a restarted
    server → refused with JSON and a distinct exit code, nothing stopped; from the leader
    pane → done."""
    team.write_spec(SPEC)
    shell = person_server.start("sh", cwd=team.root)
    own = start_leader(team, person_server, wait=False)
    stranger = start_leader(
        team,
        person_server,
        env={"TEAM_AGENT_LEADER_SESSION_UUID_OVERRIDE": "f" * 32},
        wait=False,
    )
    wait_for_prompt(person_server, own, stranger)
    team.converge()
    worker_pid = team.agent_panes("worker")[0].pane_pid

    cases = [
        (person_server.caller_env(shell), 7, "NoLeaderUUID", "team-agent leader"),
        (person_server.caller_env(stranger), 8, "OtherLeaderUUID", "takeover --confirm"),
        (person_server.caller_env(own, server_pid=1), 6, "CallerUnknown", "outside tmux"),
    ]
    for env, code, reason, fix in cases:
        proc = team.cli("down", env=env)
        assert proc.returncode == code, proc.stdout + proc.stderr
        refusal = json.loads(proc.stdout)
        assert (refusal["refused"], refusal["reason"], refusal["exitCode"]) == (True, reason, code)
        assert fix in refusal["fix"]
        assert team.agent_panes("worker")[0].pane_pid == worker_pid

    allowed = team.cli("down", env=person_server.caller_env(own))
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert not team.agent_panes()  # (outside tmux: test_down_and_passes_never_kill_...)


def test_api_error_in_the_leader_pane_is_reported_once(
    team: TeamWorkspace, person_server: PersonServer
) -> None:
    """A provider error line appears in the leader pane → LeaderAPIError=True with its
    kind and the time first seen; passes while it stays visible emit no more events."""
    team.write_spec(SPEC)
    pane_id = start_leader(team, person_server)
    leader = leader_of(team.converge())
    assert C.find_condition(leader.conditions, C.LEADER_API_ERROR).reason == C.NO_API_ERROR  # type: ignore[union-attr]

    person_server.tmux.run("send-keys", "-t", pane_id, "-l", OVERLOADED)
    person_server.tmux.run("send-keys", "-t", pane_id, "Enter")
    retry_until(lambda: f"fake: {OVERLOADED}" in capture(person_server, pane_id))
    results = [team.reconcile() for _ in range(3)]

    for result in results:
        found = C.find_condition(leader_of(result).conditions, C.LEADER_API_ERROR)
        assert found is not None and (found.status, found.reason) == (C.TRUE, C.OVERLOADED)
        assert "first seen" in found.message
    errors = leader_of(results[-1]).apiErrors
    assert [(e.kind, e.code) for e in errors] == [(C.OVERLOADED, 529)]
    assert errors[0].firstSeen == leader_of(results[0]).apiErrors[0].firstSeen
    assert event_reasons(team).count(C.LEADER_API_ERROR) == 1
    table = team.cli("status").stdout
    assert f"leader: Bound pane {pane_id}" in table
    assert "LeaderAPIError: Overloaded Overloaded (HTTP 529) first seen" in table


def test_leader_outside_tmux_starts_a_session(
    team: TeamWorkspace, person_server: PersonServer
) -> None:
    """`team-agent leader fake` from a plain terminal → a new session on the given
    server runs the leader, marked and recorded; the next pass binds it."""
    team.write_spec(SPEC)
    proc = team.cli("leader", "fake", "--socket", person_server.name, "--detach")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "leader-lead" in proc.stdout
    leader = leader_of(team.converge())
    assert bound(leader) == (C.TRUE, C.BOUND)
    assert leader.socket == person_server.path
    sessions = person_server.tmux.run("list-sessions", "-F", "#{session_name}")
    assert sessions == ["leader-lead"]


def test_identity_prints_inputs_and_uuid(team: TeamWorkspace) -> None:
    team.write_spec(SPEC)
    proc = team.cli("identity", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["uuid"] == expected_uuid(team)
    assert data["inputs"] == {
        "machineFingerprint": FINGERPRINT,
        "fingerprintSource": "env",
        "workspace": str(team.root.resolve()),
        "osUser": os.environ.get("USER") or data["inputs"]["osUser"],
        "teamId": "lead",
    }

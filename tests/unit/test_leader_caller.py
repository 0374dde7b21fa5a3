"""Who may act for the team, and how the leader is launched: the pure parts of the verbs.

Refusal verdicts are decided from a `CallerView` (the caller's pane and its evidence); the
tmux side is covered by tests/e2e/test_leader.py.
"""

from __future__ import annotations

from typing import NamedTuple

import pytest
from click.testing import CliRunner

from controllers.leader import caller as K
from controllers.leader.caller import (
    CallerRef,
    CallerView,
    caller_ref,
    claim_refusal,
    takeover_refusal,
    team_action_refusal,
)
from controllers.leader.identity import Identity, IdentityInputs
from controllers.leader.launch import LeaderUsageError, leader_launch
from controllers.leader.observe import PaneEvidence
from reconciler.api.ids import PaneId
from reconciler.api.spec import Leader
from reconciler.cli.main import cli
from reconciler.launcher.interpreter import module_argv
from tests.unit.builders import pane

OWNER = "e" * 32
OTHER = "0" * 32
REF = CallerRef(socket="/tmp/tmux-1000/default", server_pid=100, pane_id=PaneId("%3"))


def view(uuid: str | None = OWNER, *, agent: str = "", pane_id: str = "%3") -> CallerView:
    found = pane(agent, pane_id, marked=bool(agent), session_name="main")
    return CallerView(ref=REF, evidence=PaneEvidence(pane=found, env_uuid=uuid, shaped=True))


UNKNOWN = CallerView(ref=REF, evidence=None, problem="pane %3 does not exist")


def test_caller_ref_reads_tmux_and_tmux_pane() -> None:
    ref = caller_ref({"TMUX": "/tmp/tmux-1000/default,4242,0", "TMUX_PANE": "%7"})
    assert ref == CallerRef(socket="/tmp/tmux-1000/default", server_pid=4242, pane_id=PaneId("%7"))
    assert caller_ref({"TMUX": "/tmp/tmux-1000/default,4242,0"}) is None
    assert caller_ref({"TMUX_PANE": "%7"}) is None
    assert caller_ref({"TMUX": "", "TMUX_PANE": ""}) is None


class Verdict(NamedTuple):
    caller: CallerView | None
    expected: str | None  # refusal reason, None when allowed
    claimed: PaneEvidence | None = None


OTHER_PANE_CLAIM = view(OWNER, pane_id="%9").evidence
DOWN = {
    "outside-tmux": Verdict(None, None),
    "caller-pane-gone": Verdict(UNKNOWN, K.CALLER_UNKNOWN),
    "worker": Verdict(view(None, agent="impl"), None),
    "owner": Verdict(view(OWNER), None),
    "owner-holding-the-claim": Verdict(view(OWNER), None, view(OWNER).evidence),
    "same-uuid-claim-elsewhere": Verdict(view(OWNER), K.NOT_THE_CLAIMED_PANE, OTHER_PANE_CLAIM),
    "another-leader": Verdict(view(OTHER), K.OTHER_LEADER_UUID),
    "plain-shell": Verdict(view(None), K.NO_LEADER_UUID),
}


@pytest.mark.parametrize("case", DOWN.values(), ids=DOWN.keys())
def test_who_may_bring_the_team_down(case: Verdict) -> None:
    refusal = team_action_refusal(
        case.caller,
        team_id="demo",
        workspace="/ws",
        owner_uuid=OWNER,
        claimed=case.claimed,
        action="down",
    )
    assert (refusal.reason if refusal else None) == case.expected


def test_refusals_name_the_fix_and_a_distinct_code() -> None:
    other = team_action_refusal(
        view(OTHER), team_id="demo", workspace="/ws", owner_uuid=OWNER, claimed=None, action="down"
    )
    assert other is not None and "takeover --confirm" in other.fix
    elsewhere = team_action_refusal(
        view(OWNER),
        team_id="demo",
        workspace="/ws",
        owner_uuid=OWNER,
        claimed=OTHER_PANE_CLAIM,
        action="down",
    )
    assert elsewhere is not None and "claim-leader --confirm" in elsewhere.fix
    codes = [code for code, _, _ in K.REFUSAL_CODES]
    assert len(set(codes)) == len(codes) and min(codes) >= 5


CLAIM = {
    "outside-tmux": Verdict(None, K.NOT_IN_TMUX),
    "caller-pane-gone": Verdict(UNKNOWN, K.CALLER_UNKNOWN),
    "no-uuid": Verdict(view(None), K.NO_LEADER_UUID),
    "other-uuid": Verdict(view(OTHER), K.OTHER_LEADER_UUID),
    "same-uuid": Verdict(view(OWNER), None),
}
TAKEOVER = {**CLAIM, "other-uuid": Verdict(view(OTHER), None)}
TAKEOVER["same-uuid"] = Verdict(view(OWNER), K.SAME_LEADER_UUID)


@pytest.mark.parametrize("case", CLAIM.values(), ids=CLAIM.keys())
def test_claim_leader(case: Verdict) -> None:
    refusal = claim_refusal(case.caller, owner_uuid=OWNER)
    assert (refusal.reason if refusal else None) == case.expected


@pytest.mark.parametrize("case", TAKEOVER.values(), ids=TAKEOVER.keys())
def test_takeover(case: Verdict) -> None:
    refusal = takeover_refusal(case.caller, owner_uuid=OWNER)
    assert (refusal.reason if refusal else None) == case.expected


# --- launching the leader --------------------------------------------------------------

IDENT = Identity(inputs=IdentityInputs("fp-1", "/ws", "ana", "demo"), uuid=OWNER, overridden=False)
INHERITED = {"PATH": "/usr/bin", "TEAM_AGENT_ID": "impl", "TEAM_AGENT_CONFIG_HASH": "sha256:x"}


def test_fake_leader_argv_and_identity_env() -> None:
    launch = leader_launch(
        "fake",
        ["--banner", "hi"],
        spec_leader=None,
        identity=IDENT,
        inherited=INHERITED,
        python="/venv/bin/python",
    )
    fake = module_argv("/venv/bin/python", "reconciler.fakeagent.agent")
    assert launch.argv == (*fake, "--banner", "hi")
    assert {k: v for k, v in launch.env.items() if k.startswith("TEAM_AGENT_")} == {
        "TEAM_AGENT_LEADER_SESSION_UUID": OWNER,
        "TEAM_AGENT_LEADER_PROVIDER": "fake",
        "TEAM_AGENT_MACHINE_FINGERPRINT": "fp-1",
        "TEAM_AGENT_WORKSPACE": "/ws",
        "TEAM_AGENT_TEAM_ID": "demo",
    }
    assert launch.env["PATH"] == "/usr/bin"


def test_spec_leader_applies_only_to_its_own_provider() -> None:
    spec = Leader(provider="claude", model="opus", args=["--verbose"], env={"API_KEY": "s3cret"})
    claude = leader_launch(
        "claude", ["-c"], spec_leader=spec, identity=IDENT, inherited={}, python="py"
    )
    assert claude.argv == ("claude", "--verbose", "--model", "opus", "-c")
    assert claude.env["API_KEY"] == "s3cret"
    codex = leader_launch("codex", [], spec_leader=spec, identity=IDENT, inherited={}, python="py")
    assert codex.argv == ("codex",) and "API_KEY" not in codex.env


def test_shell_leader_needs_a_command() -> None:
    with pytest.raises(LeaderUsageError):
        leader_launch("shell", [], spec_leader=None, identity=IDENT, inherited={}, python="py")
    launch = leader_launch(
        "shell", ["env", "-i", "x"], spec_leader=None, identity=IDENT, inherited={}, python="py"
    )
    assert launch.argv == ("env", "-i", "x") and launch.program == "env"


def test_help_defines_the_caller_and_lists_the_refusal_codes() -> None:
    runner = CliRunner()
    down = runner.invoke(cli, ["down", "--help"]).output
    assert "$TMUX_PANE" in down and "outside tmux" in down
    for code in (6, 7, 8, 10):
        assert f" {code}  " in down
    takeover = runner.invoke(cli, ["takeover", "--help"]).output
    assert " 9  SameLeaderUUID" in takeover and " 8  " not in takeover

"""The leader plan, without tmux: which pane is bound, and what the status and events say.

Worlds are built in memory: `PaneEvidence` rows (what the observe step read from a pane:
its UUID from a process environment or from the pane option, whether it runs a leader
program, its cwd) plus the hint and owner records. Attacks, by name: binding by command
name alone, a recycled `%N` after a tmux restart, a stale claim, two windows of one
conversation, a worker pane carrying the UUID, a marker left behind by an exited leader.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import NamedTuple

import msgspec
import pytest

from controllers.leader.api_errors import APIError, classify, find_api_errors
from controllers.leader.identity import Identity, IdentityInputs
from controllers.leader.observe import (
    LeaderOrigin,
    LeaderWorld,
    PaneEvidence,
    leader_shaped,
    pane_evidence,
)
from controllers.leader.plan import (
    LeaderResult,
    leader_pane_to_capture,
    plan_leader,
    select_leader,
)
from controllers.leader.records import LeaderHint, OwnerRecord, owner_uuid
from reconciler.api import conditions as C
from reconciler.api.clock import format_time
from reconciler.api.events import NORMAL
from reconciler.api.ids import PaneId
from reconciler.api.status import LeaderStatus
from reconciler.observe.procs import ProcessInfo
from tests.unit.builders import NOW, SERVER_PID, ago, pane, process_table, ts

EXPECTED = "e" * 32
OTHER = "0" * 32
SOCKET = "/tmp/tmux-1000/default"
WS = "/ws"
CREATED = ts(ago(300))


def identity(uuid: str = EXPECTED) -> Identity:
    return Identity(
        inputs=IdentityInputs("fp", WS, "ana", "demo"), uuid=uuid, overridden=uuid != EXPECTED
    )


def lead(
    pane_id: str = "%5",
    *,
    uuid: str | None = EXPECTED,
    via: str = "env",
    shaped: bool = True,
    cwd: str = WS,
    server_pid: int = SERVER_PID,
    agent: str = "",
) -> PaneEvidence:
    """A pane of the person's server whose process carries `uuid` (via env or option)."""
    found = pane(
        agent,
        pane_id,
        marked=bool(agent),
        session_name="main",
        server_pid=server_pid,
        current_path=cwd,
        leader_uuid=uuid if uuid is not None and via == "option" else "",
    )
    assert found.pane_pid is not None
    proc = ProcessInfo(
        pid=found.pane_pid,
        ppid=1,
        name="claude" if shaped else "bash",
        create_time=CREATED,
        uid=1000,
    )
    return PaneEvidence(
        pane=found,
        env_uuid=uuid if via == "env" else None,
        env_provider="claude" if via == "env" and uuid else None,
        option_pid=proc.pid if via == "option" and uuid else None,
        process=proc,
        shaped=shaped,
    )


def ref_fields(evidence: PaneEvidence, **changes: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "socket": SOCKET,
        "serverPid": evidence.pane.server_pid,
        "paneId": evidence.pane.pane_id,
        "panePid": evidence.pane.pane_pid,
    }
    fields.update(changes)
    return fields


def claim(
    evidence: PaneEvidence,
    *,
    uuid: str = EXPECTED,
    epoch: int = 1,
    by: str | None = None,
    derived: str | None = EXPECTED,
    **changes: object,
) -> OwnerRecord:
    """An owner record for `evidence`; `derived` is the team's UUID when it was written
    (None: a record from before `expectedUuid` existed)."""
    return OwnerRecord.model_validate(
        {
            **ref_fields(evidence, **changes),
            "uuid": uuid,
            "epoch": epoch,
            "at": format_time(ago(60)),
            "by": by or ("claim-leader" if uuid == EXPECTED else "takeover"),
            "expectedUuid": derived,
        }
    )


def hint_for(evidence: PaneEvidence, **changes: object) -> LeaderHint:
    return LeaderHint.model_validate(
        {
            **ref_fields(evidence, **changes),
            "uuid": EXPECTED,
            "provider": "claude",
            "command": "claude",
            "startedAt": format_time(ago(300)),
        }
    )


def leader_world(
    *panes: PaneEvidence,
    owner: OwnerRecord | None = None,
    hint: LeaderHint | None = None,
    running: bool = True,
    unreachable: str | None = None,
    texts: dict[str, str] | None = None,
) -> LeaderWorld:
    """The person's server holding `panes`, observed for team "demo" in /ws."""
    return LeaderWorld(
        declared=True,
        identity=identity(),
        spec_provider="claude",
        socket=SOCKET,
        running=running,
        unreachable=unreachable,
        panes=panes,
        owner=owner,
        hint=hint,
        texts={PaneId(k): v for k, v in (texts or {}).items()},
    )


# --- which pane is the leader ----------------------------------------------------------


class Case(NamedTuple):
    world: LeaderWorld
    reason: str
    bound_pane: str | None = None
    status: str = C.FALSE


A, B = lead("%5"), lead("%6")
CASES = {
    "not-declared": Case(LeaderWorld(declared=False), C.NOT_DECLARED),
    "identity-error": Case(
        replace(leader_world(A), identity=None, identity_error="the OS user contains NUL"),
        C.LEADER_UUID_MISSING,
    ),
    "server-unusable": Case(
        leader_world(A, unreachable="permission denied"), C.TMUX_UNAVAILABLE, status=C.UNKNOWN
    ),
    "server-not-running": Case(leader_world(running=False), C.LEADER_PANE_MISSING),
    "bound-via-env": Case(leader_world(A), C.BOUND, "%5", C.TRUE),
    "bound-via-option": Case(leader_world(lead("%5", via="option")), C.BOUND, "%5", C.TRUE),
    "nothing-carries-it": Case(leader_world(lead("%5", uuid=None)), C.LEADER_PANE_MISSING),
    "command-name-alone-never-binds": Case(
        leader_world(lead("%5", uuid=None), lead("%6", uuid=None)), C.LEADER_PANE_MISSING
    ),
    "another-teams-uuid-never-binds": Case(
        leader_world(lead("%5", uuid=OTHER)), C.LEADER_PANE_MISSING
    ),
    "two-windows-of-one-conversation": Case(leader_world(A, B), C.LEADER_AMBIGUOUS),
    "claim-breaks-the-tie": Case(leader_world(A, B, owner=claim(B)), C.BOUND, "%6", C.TRUE),
    "claim-from-a-replaced-server-is-ignored": Case(
        leader_world(A, B, owner=claim(B, serverPid=SERVER_PID + 1)), C.LEADER_AMBIGUOUS
    ),
    "claim-of-a-respawned-pane-is-ignored": Case(
        leader_world(A, B, owner=claim(B, panePid=4242)), C.LEADER_AMBIGUOUS
    ),
    "live-leader-wins-over-shell-with-uuid": Case(
        leader_world(lead("%5", shaped=False), B), C.BOUND, "%6", C.TRUE
    ),
    "only-a-shell-carries-it": Case(leader_world(lead("%5", shaped=False)), C.WRONG_COMMAND),
    "claimed-pane-runs-a-shell": Case(
        leader_world(lead("%5", shaped=False), B, owner=claim(lead("%5", shaped=False))),
        C.WRONG_COMMAND,
    ),
    "cwd-outside-workspace": Case(leader_world(lead("%5", cwd="/elsewhere")), C.WRONG_WORKSPACE),
    "cwd-sharing-a-prefix-is-outside": Case(
        leader_world(lead("%5", cwd="/wsx")), C.WRONG_WORKSPACE
    ),
    "cwd-below-workspace": Case(leader_world(lead("%5", cwd="/ws/src")), C.BOUND, "%5", C.TRUE),
    "worker-pane-is-never-the-leader": Case(
        leader_world(lead("%5", agent="impl")), C.LEADER_PANE_MISSING
    ),
    "hinted-pane-runs-a-leader-without-uuid": Case(
        leader_world(lead("%5", uuid=None), hint=hint_for(lead("%5", uuid=None))),
        C.LEADER_UUID_MISSING,
    ),
    "hinted-pane-id-recycled-by-a-new-server": Case(
        leader_world(
            lead("%5", uuid=None),
            hint=hint_for(lead("%5", uuid=None), serverPid=SERVER_PID + 7),
        ),
        C.LEADER_PANE_MISSING,
    ),
    "takeover-binds-the-other-uuid": Case(
        leader_world(lead("%5", uuid=OTHER), A, owner=claim(lead("%5", uuid=OTHER), uuid=OTHER)),
        C.BOUND,
        "%5",
        C.TRUE,
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_select_leader(case: Case) -> None:
    selection = select_leader(case.world, WS)
    assert (selection.status, selection.reason) == (case.status, case.reason), selection.message
    bound = selection.chosen.pane.pane_id if selection.bound and selection.chosen else None
    assert bound == case.bound_pane


def test_ambiguity_names_both_panes_and_the_fix() -> None:
    message = select_leader(leader_world(A, B), WS).message
    assert "%5" in message and "%6" in message
    assert "claim-leader --confirm" in message


def test_missing_leader_points_at_a_pane_with_another_uuid() -> None:
    message = select_leader(leader_world(lead("%5", uuid=OTHER)), WS).message
    assert "%5" in message and "takeover --confirm" in message


def test_capture_only_the_bound_pane() -> None:
    assert leader_pane_to_capture(leader_world(A), WS) == "%5"
    assert leader_pane_to_capture(leader_world(A, B), WS) is None
    assert leader_pane_to_capture(leader_world(lead("%5", shaped=False)), WS) is None


# --- status and events -----------------------------------------------------------------


def plan(
    world: LeaderWorld, previous: LeaderStatus | None = None, *, at: datetime = NOW
) -> LeaderResult:
    return plan_leader(
        world, workspace=WS, previous=previous or LeaderStatus(), now=at, generation=1
    )


def conds(status: LeaderStatus) -> dict[str, tuple[str, str]]:
    return {c.type: (c.status, c.reason) for c in status.conditions}


def test_bound_status_names_pane_server_and_evidence() -> None:
    result = plan(leader_world(lead("%5", via="option")))
    status = result.status
    assert (status.paneId, status.serverPid, status.panePid) == ("%5", SERVER_PID, 1005)
    assert (status.uuid, status.expectedUuid, status.boundVia) == (EXPECTED, EXPECTED, "option")
    assert status.socket == SOCKET
    assert conds(status) == {
        C.LEADER_BOUND: (C.TRUE, C.BOUND),
        C.LEADER_UUID_MISMATCH: (C.FALSE, C.UUID_MATCHES),
        C.LEADER_API_ERROR: (C.UNKNOWN, C.NOT_BOUND),
    }
    assert [(n.type, n.reason) for n in result.notes] == [("Normal", C.LEADER_BOUND)]


def test_steady_pass_keeps_transition_times_and_emits_nothing() -> None:
    world = leader_world(A, texts={"%5": "fake> hello"})
    first = plan(world).status
    again = plan(world, first, at=NOW.replace(minute=5))
    assert again.notes == ()
    assert again.status.conditions == [
        msgspec.structs.replace(c, observedGeneration=1) for c in first.conditions
    ]


def test_unbinding_keeps_nothing_of_the_old_pane() -> None:
    bound = plan(leader_world(A)).status
    gone = plan(leader_world(), bound)
    assert (gone.status.paneId, gone.status.serverPid, gone.status.panePid) == (None, None, None)
    assert gone.status.uuid is None
    assert conds(gone.status)[C.LEADER_BOUND] == (C.FALSE, C.LEADER_PANE_MISSING)
    assert [n.reason for n in gone.notes] == [C.LEADER_PANE_MISSING]


def test_moving_to_another_pane_is_announced() -> None:
    first = plan(leader_world(A)).status
    moved = plan(leader_world(B), first)
    assert moved.status.paneId == "%6"
    assert [n.reason for n in moved.notes] == [C.LEADER_BOUND]


def test_takeover_is_a_chosen_mismatch() -> None:
    """After `takeover` the difference from the derived UUID was chosen: still True (the
    leader does not carry the derived UUID; DESIGN), reason TakenOver, naming both UUIDs,
    the epoch and the way back, and a normal event, not a warning."""
    taken = lead("%5", uuid=OTHER)
    world = leader_world(taken, owner=claim(taken, uuid=OTHER, epoch=3))
    first = plan(world)
    mismatch = C.find_condition(first.status.conditions, C.LEADER_UUID_MISMATCH)
    assert mismatch is not None
    assert (mismatch.status, mismatch.reason) == (C.TRUE, C.TAKEN_OVER)
    assert OTHER in mismatch.message and EXPECTED in mismatch.message
    assert "epoch 3" in mismatch.message and "team-agent leader" in mismatch.message
    assert first.status.uuid == OTHER and first.status.expectedUuid == EXPECTED
    assert first.status.epoch == 3
    notes = [(n.type, n.reason) for n in first.notes if n.reason == C.LEADER_UUID_MISMATCH]
    assert notes == [(NORMAL, C.LEADER_UUID_MISMATCH)]


# --- identity drift: LeaderUUIDMismatch -------------------------------------------------

STALE = lead("%5", uuid=OTHER)  # a leader started before the team's identity changed


class Drift(NamedTuple):
    world: LeaderWorld
    status: str
    reason: str


DRIFT = {
    "hinted-pane-carries-an-old-uuid": Drift(
        leader_world(STALE, hint=hint_for(STALE)), C.TRUE, C.UUID_DIFFERS
    ),
    "hinted-pane-outside-the-workspace-still-counts": Drift(
        leader_world(lead("%5", uuid=OTHER, cwd="/moved"), hint=hint_for(STALE)),
        C.TRUE,
        C.UUID_DIFFERS,
    ),
    "claimed-pane-carries-the-old-derived-uuid": Drift(
        leader_world(STALE, owner=claim(STALE, uuid=OTHER, by="claim-leader", derived=OTHER)),
        C.TRUE,
        C.UUID_DIFFERS,
    ),
    "only-leader-cli-in-the-workspace": Drift(leader_world(STALE), C.TRUE, C.UUID_DIFFERS),
    "two-leader-clis-in-the-workspace": Drift(
        leader_world(STALE, lead("%6", uuid=None)), C.FALSE, C.NOT_BOUND
    ),
    "only-leader-cli-outside-the-workspace": Drift(
        leader_world(lead("%5", uuid=OTHER, cwd="/elsewhere")), C.FALSE, C.NOT_BOUND
    ),
    "hinted-pane-runs-a-shell-now": Drift(
        leader_world(lead("%5", uuid=OTHER, shaped=False), hint=hint_for(STALE)),
        C.FALSE,
        C.NOT_BOUND,
    ),
    "hint-of-a-replaced-server-outside-the-workspace": Drift(
        leader_world(
            lead("%5", uuid=OTHER, cwd="/elsewhere"),
            hint=hint_for(STALE, serverPid=SERVER_PID + 7),
        ),
        C.FALSE,
        C.NOT_BOUND,
    ),
    "hinted-pane-carries-no-uuid": Drift(
        leader_world(lead("%5", uuid=None), hint=hint_for(lead("%5", uuid=None))),
        C.FALSE,
        C.NOT_BOUND,
    ),
    "a-leader-carrying-the-expected-uuid-is-bound": Drift(
        leader_world(A, lead("%6", uuid=OTHER), hint=hint_for(lead("%6", uuid=OTHER))),
        C.FALSE,
        C.UUID_MATCHES,
    ),
    "ambiguous-panes-carry-the-expected-uuid": Drift(
        leader_world(A, B, lead("%7", uuid=OTHER), hint=hint_for(lead("%7", uuid=OTHER))),
        C.FALSE,
        C.NOT_BOUND,
    ),
    "no-leader-at-all": Drift(leader_world(), C.FALSE, C.NOT_BOUND),
    "server-not-running": Drift(leader_world(running=False), C.FALSE, C.NOT_BOUND),
    "server-unusable-is-unknown": Drift(
        leader_world(STALE, unreachable="permission denied"), C.UNKNOWN, C.TMUX_UNAVAILABLE
    ),
    "no-derivable-uuid-is-unknown": Drift(
        replace(leader_world(STALE), identity=None, identity_error="the team id contains NUL"),
        C.UNKNOWN,
        C.LEADER_UUID_MISSING,
    ),
    "takeover-then-claim-keeps-the-taken-uuid": Drift(
        leader_world(STALE, owner=claim(STALE, uuid=OTHER, by="claim-leader", epoch=2)),
        C.TRUE,
        C.TAKEN_OVER,
    ),
    "record-from-before-expected-uuid-keeps-its-uuid": Drift(
        leader_world(STALE, owner=claim(STALE, uuid=OTHER, by="claim-leader", derived=None)),
        C.TRUE,
        C.TAKEN_OVER,
    ),
}


@pytest.mark.parametrize("case", DRIFT.values(), ids=DRIFT.keys())
def test_uuid_mismatch(case: Drift) -> None:
    found = C.find_condition(plan(case.world).status.conditions, C.LEADER_UUID_MISMATCH)
    assert found is not None
    assert (found.status, found.reason) == (case.status, case.reason), found.message


def test_mismatch_names_the_pane_both_uuids_and_the_fixes() -> None:
    message = uuid_mismatch_message(leader_world(STALE, hint=hint_for(STALE)))
    assert "pane %5" in message and ".team/leader.json" in message
    assert OTHER in message and EXPECTED in message  # in full: the status has no other copy
    assert "`team-agent leader claude`" in message
    assert "`team-agent takeover --confirm` in pane %5" in message


def test_mismatch_against_a_taken_over_uuid_offers_takeover_only() -> None:
    """Owned by a taken-over UUID X; the hinted leader carries the derived one: a restart
    would carry the derived UUID again, so only a takeover fixes it."""
    taken = lead("%6", uuid="f" * 32)
    derived = lead("%5", uuid=EXPECTED)
    world = leader_world(
        derived, owner=claim(taken, uuid="f" * 32, epoch=4), hint=hint_for(derived)
    )
    message = uuid_mismatch_message(world)
    assert "owned by " + "f" * 32 in message and "epoch 4" in message
    assert "takeover --confirm" in message and "team-agent leader" not in message


def test_mismatch_says_what_drifted_without_printing_the_fingerprint() -> None:
    origin = LeaderOrigin(team_id="old-name", workspace="/old", fingerprint="fp-before")
    world = leader_world(replace(STALE, origin=origin), hint=hint_for(STALE))
    message = uuid_mismatch_message(world)
    assert "team id changed from 'old-name' to 'demo'" in message
    assert "workspace moved from /old to /ws" in message
    assert "machine fingerprint changed" in message and "fp-before" not in message
    same = LeaderOrigin(team_id="demo", workspace=WS, fingerprint="fp")
    quiet = uuid_mismatch_message(leader_world(replace(STALE, origin=same), hint=hint_for(STALE)))
    assert "since that leader started" not in quiet  # the override or the OS user changed


def uuid_mismatch_message(world: LeaderWorld) -> str:
    found = C.find_condition(plan(world).status.conditions, C.LEADER_UUID_MISMATCH)
    assert found is not None and found.status == C.TRUE, found
    return found.message


def test_drift_warns_once_and_clears_when_the_leader_restarts() -> None:
    drifted = leader_world(STALE, hint=hint_for(STALE))
    first = plan(drifted)
    assert [n.reason for n in first.notes] == [C.LEADER_PANE_MISSING, C.LEADER_UUID_MISMATCH]
    again = plan(drifted, first.status, at=NOW.replace(minute=5))
    assert again.notes == ()
    restarted = lead("%6")
    fixed = plan(leader_world(STALE, restarted, hint=hint_for(restarted)), again.status)
    assert conds(fixed.status)[C.LEADER_UUID_MISMATCH] == (C.FALSE, C.UUID_MATCHES)
    assert conds(fixed.status)[C.LEADER_BOUND] == (C.TRUE, C.BOUND)
    assert fixed.status.paneId == "%6"


def test_only_a_chosen_uuid_pins_ownership() -> None:
    assert owner_uuid(None, EXPECTED) == EXPECTED
    assert owner_uuid(claim(A), EXPECTED) == EXPECTED
    assert owner_uuid(claim(A, uuid=OTHER), EXPECTED) == OTHER  # a takeover
    drifted_claim = claim(STALE, uuid=OTHER, by="claim-leader", derived=OTHER)
    assert owner_uuid(drifted_claim, EXPECTED) == EXPECTED
    assert owner_uuid(claim(STALE, uuid=OTHER, derived=None), EXPECTED) == OTHER


def test_epoch_never_goes_back() -> None:
    previous = LeaderStatus(epoch=5)
    assert plan(leader_world(A), previous).status.epoch == 5  # the record was deleted
    assert plan(leader_world(A, owner=claim(A, epoch=6)), previous).status.epoch == 6


def test_not_declared_is_quiet() -> None:
    result = plan(LeaderWorld(declared=False))
    assert result.notes == ()
    assert conds(result.status) == {
        C.LEADER_BOUND: (C.FALSE, C.NOT_DECLARED),
        C.LEADER_UUID_MISMATCH: (C.FALSE, C.NOT_DECLARED),
        C.LEADER_API_ERROR: (C.FALSE, C.NOT_DECLARED),
    }


OVERLOADED = 'API Error: 529 {"type":"error","error":{"type":"overloaded_error"}} · Retrying'
RATE = "⎿ API Error: 429 rate_limit_error"


def test_api_error_reported_once_per_distinct_error_while_visible() -> None:
    quiet = plan(leader_world(A, texts={"%5": "fake> "})).status
    assert conds(quiet)[C.LEADER_API_ERROR] == (C.FALSE, C.NO_API_ERROR)

    first = plan(leader_world(A, texts={"%5": f"fake> hi\n{OVERLOADED}"}), quiet, at=ago(-10))
    assert conds(first.status)[C.LEADER_API_ERROR] == (C.TRUE, C.OVERLOADED)
    assert [n.reason for n in first.notes] == [C.LEADER_API_ERROR]
    assert "Overloaded (HTTP 529)" in first.notes[0].message
    seen = format_time(ago(-10))
    assert [(e.kind, e.code, e.firstSeen) for e in first.status.apiErrors] == [
        (C.OVERLOADED, 529, seen)
    ]

    # The same error still on screen (a retry counter ticking): no new event, same time.
    text = f"{OVERLOADED} (attempt 2/10)\n{OVERLOADED} (attempt 3/10)"
    again = plan(leader_world(A, texts={"%5": text}), first.status, at=ago(-20))
    assert again.notes == ()
    assert again.status.apiErrors == first.status.apiErrors

    # A second, different error: one more event; the condition names the latest kind.
    both = plan(leader_world(A, texts={"%5": f"{OVERLOADED}\n{RATE}"}), again.status)
    assert [n.message.split(" in ")[0] for n in both.notes] == ["RateLimited (HTTP 429)"]
    assert conds(both.status)[C.LEADER_API_ERROR] == (C.TRUE, C.RATE_LIMITED)

    cleared = plan(leader_world(A, texts={"%5": "fake> "}), both.status)
    assert conds(cleared.status)[C.LEADER_API_ERROR] == (C.FALSE, C.NO_API_ERROR)
    assert cleared.status.apiErrors == []
    back = plan(leader_world(A, texts={"%5": OVERLOADED}), cleared.status)
    assert [n.reason for n in back.notes] == [C.LEADER_API_ERROR]


def test_api_errors_unread_this_pass_are_kept_for_the_same_pane_only() -> None:
    first = plan(leader_world(A, texts={"%5": OVERLOADED})).status
    unread = plan(leader_world(A), first)
    assert unread.notes == ()
    assert unread.status.apiErrors == first.apiErrors
    assert conds(unread.status)[C.LEADER_API_ERROR] == (C.TRUE, C.OVERLOADED)
    elsewhere = plan(leader_world(B, texts={"%6": OVERLOADED}), first)
    assert [n.reason for n in elsewhere.notes] == [C.LEADER_BOUND, C.LEADER_API_ERROR]


def test_unbound_leader_has_no_api_errors() -> None:
    first = plan(leader_world(A, texts={"%5": OVERLOADED})).status
    gone = plan(leader_world(A, B, texts={"%5": OVERLOADED}), first).status
    assert conds(gone)[C.LEADER_API_ERROR] == (C.FALSE, C.NOT_BOUND)
    assert gone.apiErrors == []


# --- evidence read from the process table ----------------------------------------------

ROWS = [
    (900, 1, "bash", CREATED),  # pane %1: a shell
    (901, 900, "claude", CREATED + 1),  # its leader child
    (902, 901, "node", CREATED + 2),
    (910, 1, "bash", CREATED),  # pane %2: a shell whose env leaked the UUID
    (920, 1, "python3.11", CREATED),  # pane %3: the fake leader, exec'd in place
]


def evidence(
    pane_pid: int, environs: dict[int, dict[str, str]], *, option: str = "", mark: str = ""
) -> PaneEvidence:
    target = pane("", "%1", marked=False, pid=pane_pid, leader_uuid=option)
    target = replace(target, leader_pid=mark)
    return pane_evidence(target, process_table(ROWS), environ=environs.get)


UUID_ENV = {"TEAM_AGENT_LEADER_SESSION_UUID": EXPECTED, "TEAM_AGENT_LEADER_PROVIDER": "claude"}


def test_uuid_in_a_leader_child_of_the_shell() -> None:
    found = evidence(900, {900: {}, 901: UUID_ENV})
    assert (found.uuid, found.via, found.env_provider) == (EXPECTED, "env", "claude")
    assert found.shaped and found.process is not None and found.process.pid == 901


def test_the_identity_inputs_next_to_the_uuid_are_kept() -> None:
    env = {
        **UUID_ENV,
        "TEAM_AGENT_TEAM_ID": "old",
        "TEAM_AGENT_WORKSPACE": "/old",
        "TEAM_AGENT_MACHINE_FINGERPRINT": "fp0",
    }
    found = evidence(900, {900: {}, 901: env})
    assert found.origin == LeaderOrigin(team_id="old", workspace="/old", fingerprint="fp0")
    assert evidence(920, {920: {}}, option=EXPECTED, mark=f"920:{CREATED!r}").origin is None


def test_a_shell_environment_is_never_read() -> None:
    found = evidence(910, {910: UUID_ENV})
    assert found.uuid is None


def test_a_leader_program_without_uuid_still_counts_as_one() -> None:
    """The hinted pane running a leader CLI without a UUID (LeaderUUIDMissing), and a rival
    that keeps a drifted leader from being "the one leader CLI in the workspace"."""
    assert evidence(900, {900: {}, 901: {}}).shaped
    assert not evidence(910, {910: {}}).shaped


def test_option_counts_only_while_its_process_lives_in_the_pane() -> None:
    mark = f"920:{CREATED!r}"
    assert evidence(920, {920: {}}, option=EXPECTED, mark=mark).via == "option"
    stale = f"920:{CREATED - 50!r}"  # a recycled pid: another process now
    assert evidence(920, {920: {}}, option=EXPECTED, mark=stale).uuid is None
    assert evidence(920, {}, option=EXPECTED, mark="").uuid is None  # no pid marker
    elsewhere = f"901:{CREATED + 1!r}"  # a live process, but in another pane
    assert evidence(920, {}, option=EXPECTED, mark=elsewhere).uuid is None


def test_environment_beats_a_different_option() -> None:
    mark = f"920:{CREATED!r}"
    found = evidence(
        920, {920: {"TEAM_AGENT_LEADER_SESSION_UUID": OTHER}}, option=EXPECTED, mark=mark
    )
    assert (found.uuid, found.via) == (OTHER, "env")


def test_dead_pane_has_no_evidence() -> None:
    dead = pane("", "%1", marked=False, pid=920, dead=True, dead_status=0, leader_uuid=EXPECTED)
    found = pane_evidence(dead, process_table(ROWS), environ={920: UUID_ENV}.get)
    assert found.uuid is None and not found.shaped


@pytest.mark.parametrize(
    ("name", "shaped"),
    [
        ("claude", True),
        ("codex", True),
        ("node", True),
        ("python3", True),
        ("python3.11", True),
        ("claude.exe", True),
        ("bash", False),
        ("zsh", False),
        ("vim", False),
        ("sleep", False),
    ],
)
def test_leader_shaped(name: str, shaped: bool) -> None:
    assert leader_shaped(name) is shaped


def test_a_custom_leader_program_counts_but_a_shell_never_does() -> None:
    assert leader_shaped("aider", frozenset({"aider"}))
    assert not leader_shaped("bash", frozenset({"bash"}))


# --- provider API failures in text -----------------------------------------------------

API_LINES = {
    "claude-overloaded": (OVERLOADED, APIError(C.OVERLOADED, 529)),
    "claude-rate-limit": (RATE, APIError(C.RATE_LIMITED, 429)),
    "claude-500": (
        'API Error: 500 {"type":"error","error":{"type":"api_error","message":"Internal '
        'server error"}}',
        APIError(C.SERVER_ERROR, 500),
    ),
    "claude-timeout": (
        "API Error (Request timed out.) · Retrying in 4 seconds…",
        APIError(C.TIMEOUT, None),
    ),
    "codex-503": (
        "unexpected status 503 Service Unavailable: upstream",
        APIError(C.SERVER_ERROR, 503),
    ),
    "codex-429": (
        "stream error: 429 Too Many Requests; retrying 1/5",
        APIError(C.RATE_LIMITED, 429),
    ),
    "codex-disconnect": (
        "stream disconnected before completion: idle timeout waiting for SSE",
        APIError(C.TIMEOUT, None),
    ),
    "gateway": ("502 Bad Gateway", APIError(C.SERVER_ERROR, 502)),
    "talk-about-429": ("we should retry on HTTP 429 in the client", None),
    "talk-about-500": ("fix the 500 error handler in api.py", None),
    "auth-failure": ("API Error: 401 authentication_error", None),
    "config-timeout": ("timeout = 30", None),
    "function-name": ("def handle_api_error(response):", None),
}


@pytest.mark.parametrize(("line", "expected"), API_LINES.values(), ids=API_LINES.keys())
def test_classify(line: str, expected: APIError | None) -> None:
    assert classify(line) == expected


def test_find_api_errors_dedupes_in_order() -> None:
    text = f"{RATE}\nok\n{OVERLOADED}\n{RATE}\n{OVERLOADED}"
    assert find_api_errors(text) == [APIError(C.RATE_LIMITED, 429), APIError(C.OVERLOADED, 529)]

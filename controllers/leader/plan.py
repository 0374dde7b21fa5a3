"""The leader controller: which pane is the team's leader, decided from evidence every pass.

The leader is never created, restarted or killed by a pass (the person owns it); this
controller only finds it and reports conditions. Its input is `LeaderWorld` (observed by
`controllers.leader.observe`: the leader's tmux server, each pane's UUID evidence, the bound
pane's text); its output is a `LeaderStatus` and events. Nothing carries over from the
previous pass except the owner epoch and the API errors already reported: a stored pane
id is a hint, never identity, so a recycled `%N` after a tmux restart is never taken for
the leader.

Decision, in order (the reason of `LeaderBound`):
1. no `leader:` in the spec and no `team-agent leader`/claim for the team: `NotDeclared`;
2. the UUID cannot be derived: `LeaderUUIDMissing`; the leader's server unusable: Unknown;
3. candidates are the panes carrying the owner UUID (the expected UUID, or the UUID a
   `takeover` recorded); agent panes never are. The pane the owner record names (server
   pid, pane id and pane pid all still matching) wins; else exactly one candidate running
   a leader program wins; several: `LeaderAmbiguous` (nothing bound until a
   `claim-leader`); none: `LeaderPaneMissing` (or `LeaderUUIDMissing` when the hinted pane
   still runs a leader program but carries no UUID at all);
4. the chosen pane runs no leader program: `WrongCommand`; its cwd is outside the
   workspace: `WrongWorkspace`; else `Bound`.

`LeaderUUIDMismatch` is True when the pane that is evidently the team's leader carries a
UUID other than the owner UUID: identity drift (the team renamed, the workspace moved, the
machine fingerprint changed while the leader runs). Such a pane is never bound (a claim of
the derived UUID stops pinning it once that changes: `OwnerRecord.pins_uuid`), so the
evidence is the pane the owner record or the hint names (all three ids still matching)
while it still runs a leader program, else the one pane running a leader program in the
workspace. After a `takeover` the bound pane carries a UUID other than the derived one on
purpose: still True (DESIGN: "not only after a takeover"), with reason `TakenOver`, so a
monitor sees the team runs under a chosen UUID until the leader is restarted with the
derived one. It is False when the bound pane carries the derived UUID, when a pane carrying
the owner UUID runs a leader program (ambiguous), and when nothing evident carries another
UUID; Unknown while the leader's server cannot be read or no UUID derives, because False
would claim an observation.
`LeaderAPIError` is True while the bound pane's text shows provider failures; each
distinct (kind, code) is reported by one event while it stays visible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from controllers.leader.api_errors import APIError, describe, find_api_errors
from controllers.leader.identity import Identity, short_uuid
from controllers.leader.observe import LeaderOrigin, LeaderWorld, PaneEvidence, never_leader
from controllers.leader.records import HINT_FILE, OWNER_FILE
from reconciler.api import conditions as C
from reconciler.api.clock import format_time
from reconciler.api.conditions import Condition
from reconciler.api.events import NORMAL, WARNING, Note
from reconciler.api.ids import PaneId
from reconciler.api.status import LeaderAPIErrorStatus, LeaderStatus

OBJECT = "leader"
CLAIM_HINT = "run `team-agent claim-leader --confirm` from the leader pane"
TAKEOVER_HINT = "`team-agent takeover --confirm` from it makes it the leader"


@dataclass(frozen=True)
class Selection:
    """The `LeaderBound` verdict and the pane it is about."""

    status: C.ConditionStatus
    reason: str
    message: str
    chosen: PaneEvidence | None = None

    @property
    def bound(self) -> bool:
        return self.reason == C.BOUND


@dataclass(frozen=True)
class LeaderResult:
    status: LeaderStatus
    notes: tuple[Note, ...]


def select_leader(leader: LeaderWorld, workspace: str) -> Selection:
    """Which pane is the leader (see the module docstring for the order of the checks)."""
    if not leader.declared:
        return Selection(C.FALSE, C.NOT_DECLARED, "no leader in the spec or in .team/")
    if leader.identity_error is not None or leader.owner_uuid is None:
        return Selection(C.FALSE, C.LEADER_UUID_MISSING, leader.identity_error or "")
    if leader.unreachable is not None:
        return Selection(C.UNKNOWN, C.TMUX_UNAVAILABLE, leader.unreachable)
    where = f"tmux server {leader.socket}"
    if not leader.running:
        return Selection(C.FALSE, C.LEADER_PANE_MISSING, f"{where} is not running")
    owner_uuid = leader.owner_uuid
    candidates = sorted(
        (e for e in leader.panes if e.uuid == owner_uuid and not never_leader(e.pane)),
        key=_order,
    )
    owner = leader.owner
    claimed = next((e for e in candidates if owner is not None and owner.names(e.pane)), None)
    live = [e for e in candidates if e.shaped]
    if claimed is not None:
        chosen = claimed
    elif len(live) == 1 or (len(candidates) == 1 and not live):
        chosen = (live or candidates)[0]
    elif candidates:
        panes = ", ".join(e.pane.pane_id for e in (live or candidates))
        return Selection(
            C.FALSE,
            C.LEADER_AMBIGUOUS,
            f"panes {panes} on {where} carry leader UUID {short_uuid(owner_uuid)}; {CLAIM_HINT}",
        )
    else:
        return _missing(leader, owner_uuid, where)
    pane = chosen.pane
    if not chosen.shaped:
        running = chosen.process.name if chosen.process is not None else pane.current_command
        return Selection(
            C.FALSE,
            C.WRONG_COMMAND,
            f"pane {pane.pane_id} carries the leader UUID but runs {running or 'nothing'}, "
            "not a leader CLI",
            chosen,
        )
    if pane.current_path and not _inside(pane.current_path, workspace):
        return Selection(
            C.FALSE,
            C.WRONG_WORKSPACE,
            f"pane {pane.pane_id} works in {pane.current_path}, outside workspace {workspace}",
            chosen,
        )
    return Selection(
        C.TRUE, C.BOUND, f"pane {pane.pane_id} on {where} (UUID via {chosen.via})", chosen
    )


def _missing(leader: LeaderWorld, owner_uuid: str, where: str) -> Selection:
    """No pane carries the owner UUID: say what was found instead, if anything."""
    hint = leader.hint
    hinted = next((e for e in leader.panes if hint is not None and hint.names(e.pane)), None)
    if hinted is not None and hinted.shaped and hinted.uuid is None:
        return Selection(
            C.FALSE,
            C.LEADER_UUID_MISSING,
            f"pane {hinted.pane.pane_id} (from .team/leader.json) runs a leader CLI but "
            "carries no leader UUID; start it with `team-agent leader <provider>`",
        )
    message = f"no pane on {where} carries leader UUID {short_uuid(owner_uuid)}"
    others = sorted(
        (e for e in leader.panes if e.uuid and e.uuid != owner_uuid and e.shaped), key=_order
    )
    if others:
        first = others[0]
        message += (
            f"; pane {first.pane.pane_id} carries another UUID "
            f"({short_uuid(first.uuid or '')}): {TAKEOVER_HINT}"
        )
    return Selection(C.FALSE, C.LEADER_PANE_MISSING, message)


def evident_leader(leader: LeaderWorld, workspace: str) -> tuple[PaneEvidence, str] | None:
    """The pane that is evidently the team's leader whatever UUID it carries, and why.

    The pane the owner record, else the hint, names (server pid, pane id and pane pid all
    still matching) while it runs a leader program; else the only pane running a leader
    program whose working directory is in the workspace. Two such panes: none is evident.
    """
    for record, name in ((leader.owner, OWNER_FILE), (leader.hint, HINT_FILE)):
        if record is None:
            continue
        named = next((e for e in leader.panes if record.names(e.pane)), None)
        if named is not None and named.shaped:
            return named, f"named by .team/{name}"
    inside = [
        e
        for e in leader.panes
        if e.shaped and e.pane.current_path and _inside(e.pane.current_path, workspace)
    ]
    if len(inside) == 1:
        return inside[0], "the only leader CLI in the workspace"
    return None


def uuid_mismatch(
    leader: LeaderWorld, selection: Selection, workspace: str
) -> tuple[C.ConditionStatus, str, str]:
    """`LeaderUUIDMismatch` (status, reason, message); see the module docstring."""
    if not leader.declared:
        return C.FALSE, C.NOT_DECLARED, ""
    identity, owner_uuid = leader.identity, leader.owner_uuid
    if identity is None or owner_uuid is None or selection.status == C.UNKNOWN:
        return C.UNKNOWN, selection.reason, selection.message
    expected = identity.uuid
    if selection.bound and selection.chosen is not None:
        pane_id = selection.chosen.pane.pane_id
        if owner_uuid == expected:
            return C.FALSE, C.UUID_MATCHES, f"pane {pane_id} carries the expected UUID {expected}"
        epoch = leader.owner.epoch if leader.owner is not None else 0
        provider = leader.hint.provider if leader.hint is not None else None
        return (
            C.TRUE,
            C.TAKEN_OVER,
            f"pane {pane_id} carries UUID {owner_uuid}, which took the team over at epoch "
            f"{epoch}; the derived UUID is {expected}: restart the leader with "
            f"`team-agent leader {provider or leader.spec_provider or '<provider>'}` "
            f"to carry {expected}",
        )
    if any(e.shaped and e.uuid == owner_uuid for e in leader.panes):
        return C.FALSE, C.NOT_BOUND, "a leader CLI carries the owner UUID (see LeaderBound)"
    evident = evident_leader(leader, workspace)
    if evident is None or evident[0].uuid is None or evident[0].uuid == owner_uuid:
        return C.FALSE, C.NOT_BOUND, "no pane that is evidently the leader carries another UUID"
    found, why = evident
    return C.TRUE, C.UUID_DIFFERS, _mismatch_message(leader, found, why, expected)


def _mismatch_message(leader: LeaderWorld, found: PaneEvidence, why: str, expected: str) -> str:
    """Which pane, both UUIDs in full, what drifted (when its environment says) and the fix."""
    owner_uuid = leader.owner_uuid or expected
    pane_id = found.pane.pane_id
    message = f"pane {pane_id} ({why}) runs a leader CLI carrying UUID {found.uuid}"
    if owner_uuid == expected:
        message += f", the team expects {expected}"
    else:
        epoch = leader.owner.epoch if leader.owner is not None else 0
        message += (
            f", the team is owned by {owner_uuid} (taken over at epoch {epoch}; "
            f"the derived UUID is {expected})"
        )
    drift = _drift(found.origin, leader.identity) if owner_uuid == expected else []
    if drift:
        message += f"; since that leader started, {' and '.join(drift)}"
    provider = (
        found.env_provider
        or (leader.hint.provider if leader.hint is not None else None)
        or leader.spec_provider
        or "<provider>"
    )
    keep = (
        f"run `team-agent takeover --confirm` in pane {pane_id} to bind it as it is "
        "(the mismatch then stays True as TakenOver)"
    )
    if owner_uuid != expected:
        return f"{message}: {keep}"
    restart = f"restart the leader with `team-agent leader {provider}` to carry {expected}"
    return f"{message}: {restart}, or {keep}"


def _drift(origin: LeaderOrigin | None, identity: Identity | None) -> list[str]:
    """The identity inputs that changed since the leader started (from its environment)."""
    if origin is None or identity is None:
        return []
    now = identity.inputs
    changes: list[str] = []
    if origin.team_id and origin.team_id != now.team_id:
        changes.append(f"the team id changed from {origin.team_id!r} to {now.team_id!r}")
    if origin.workspace and origin.workspace != now.workspace:
        changes.append(f"the workspace moved from {origin.workspace} to {now.workspace}")
    if origin.fingerprint and origin.fingerprint != now.machine_fingerprint:
        changes.append("the machine fingerprint changed (TEAM_AGENT_MACHINE_FINGERPRINT)")
    return changes


def leader_pane_to_capture(leader: LeaderWorld, workspace: str) -> PaneId | None:
    """The pane whose text `LeaderAPIError` needs: the bound one, if any."""
    selection = select_leader(leader, workspace)
    return selection.chosen.pane.pane_id if selection.bound and selection.chosen else None


def plan_leader(
    leader: LeaderWorld,
    *,
    workspace: str,
    previous: LeaderStatus,
    now: datetime,
    generation: int,
) -> LeaderResult:
    """The leader's next status and the events it warrants (pure)."""
    selection = select_leader(leader, workspace)
    conditions = list(previous.conditions)

    def put(kind: str, status: C.ConditionStatus, reason: str, message: str = "") -> Condition:
        nonlocal conditions
        cond = C.condition(kind, status, reason, message, now=now, generation=generation)
        conditions, _ = C.set_condition(conditions, cond)
        return cond

    bound = put(C.LEADER_BOUND, selection.status, selection.reason, selection.message)
    chosen = selection.chosen if selection.bound else None
    unbound = C.NOT_BOUND if leader.declared else C.NOT_DECLARED
    put(C.LEADER_UUID_MISMATCH, *uuid_mismatch(leader, selection, workspace))

    same_pane = chosen is not None and _same_pane(chosen, previous)
    errors, new_errors = _api_errors(leader, chosen, previous, same_pane=same_pane, now=now)
    if chosen is None:
        put(C.LEADER_API_ERROR, C.FALSE, unbound)
    elif errors is None:
        errors = list(previous.apiErrors) if same_pane else []
        kept = C.find_condition(previous.conditions, C.LEADER_API_ERROR)
        if kept is None or not same_pane:
            put(C.LEADER_API_ERROR, C.UNKNOWN, C.NOT_BOUND, "the leader pane's text was not read")
    elif errors:
        latest = errors[-1]
        put(C.LEADER_API_ERROR, C.TRUE, latest.kind, _errors_message(errors))
    else:
        put(C.LEADER_API_ERROR, C.FALSE, C.NO_API_ERROR)

    status = _status(leader, selection, previous, conditions, errors or [])
    notes = _notes(previous, status, bound, new_errors)
    return LeaderResult(status=status, notes=tuple(notes))


def _api_errors(
    leader: LeaderWorld,
    chosen: PaneEvidence | None,
    previous: LeaderStatus,
    *,
    same_pane: bool,
    now: datetime,
) -> tuple[list[LeaderAPIErrorStatus] | None, list[LeaderAPIErrorStatus]]:
    """(errors visible now, or None when unread; those seen for the first time)."""
    if chosen is None:
        return [], []
    text = leader.texts.get(chosen.pane.pane_id)
    if text is None:
        return None, []
    known = {(e.kind, e.code): e for e in previous.apiErrors} if same_pane else {}
    visible: list[LeaderAPIErrorStatus] = []
    fresh: list[LeaderAPIErrorStatus] = []
    for error in find_api_errors(text):
        entry = known.get((error.kind, error.code))
        if entry is None:
            entry = LeaderAPIErrorStatus(
                kind=error.kind, code=error.code, firstSeen=format_time(now)
            )
            fresh.append(entry)
        visible.append(entry)
    return visible, fresh


def _errors_message(errors: Sequence[LeaderAPIErrorStatus]) -> str:
    return "; ".join(
        f"{describe(APIError(e.kind, e.code))} first seen {e.firstSeen}" for e in errors
    )


def _status(
    leader: LeaderWorld,
    selection: Selection,
    previous: LeaderStatus,
    conditions: list[Condition],
    errors: list[LeaderAPIErrorStatus],
) -> LeaderStatus:
    chosen = selection.chosen if selection.bound else None
    owner_epoch = leader.owner.epoch if leader.owner is not None else 0
    provider = (
        (chosen.env_provider if chosen is not None else None)
        or (leader.hint.provider if leader.hint is not None else None)
        or leader.spec_provider
    )
    return LeaderStatus(
        conditions=conditions,
        paneId=chosen.pane.pane_id if chosen else None,
        socket=leader.socket,
        serverPid=chosen.pane.server_pid if chosen else None,
        panePid=chosen.pane.pane_pid if chosen else None,
        uuid=chosen.uuid if chosen else None,
        expectedUuid=leader.identity.uuid if leader.identity is not None else None,
        boundVia=chosen.via if chosen else None,
        provider=provider if leader.declared else None,
        epoch=max(previous.epoch, owner_epoch),
        apiErrors=errors,
    )


def _notes(
    previous: LeaderStatus,
    status: LeaderStatus,
    bound: Condition,
    new_errors: Sequence[LeaderAPIErrorStatus],
) -> list[Note]:
    notes: list[Note] = []
    before = C.find_condition(previous.conditions, C.LEADER_BOUND)
    changed = before is None or (before.status, before.reason) != (bound.status, bound.reason)
    moved = (previous.paneId, previous.serverPid, previous.panePid) != (
        status.paneId,
        status.serverPid,
        status.panePid,
    )
    if bound.status == C.TRUE and (changed or moved):
        notes.append(Note(NORMAL, C.LEADER_BOUND, OBJECT, bound.message))
    elif bound.status != C.TRUE and changed and bound.reason != C.NOT_DECLARED:
        notes.append(Note(WARNING, bound.reason, OBJECT, bound.message))
    mismatch = C.find_condition(status.conditions, C.LEADER_UUID_MISMATCH)
    was_mismatched = C.is_true(previous.conditions, C.LEADER_UUID_MISMATCH)
    if mismatch is not None and mismatch.status == C.TRUE and not was_mismatched:
        # A takeover chose the other UUID: worth one event, not a warning.
        chosen = mismatch.reason == C.TAKEN_OVER
        notes.append(
            Note(NORMAL if chosen else WARNING, C.LEADER_UUID_MISMATCH, OBJECT, mismatch.message)
        )
    for error in new_errors:
        notes.append(
            Note(
                WARNING,
                C.LEADER_API_ERROR,
                OBJECT,
                f"{describe(APIError(error.kind, error.code))} in the leader pane "
                f"{status.paneId}, first seen {error.firstSeen}",
            )
        )
    return notes


def _same_pane(chosen: PaneEvidence, previous: LeaderStatus) -> bool:
    pane = chosen.pane
    return (previous.paneId, previous.serverPid, previous.panePid) == (
        pane.pane_id,
        pane.server_pid,
        pane.pane_pid,
    )


def _inside(path: str, workspace: str) -> bool:
    root = workspace.rstrip("/") or "/"
    return path == root or path.startswith(root.rstrip("/") + "/")


def _order(evidence: PaneEvidence) -> tuple[int, int]:
    return (evidence.pane.server_pid, evidence.pane.pane_number)

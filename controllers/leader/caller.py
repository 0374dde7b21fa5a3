"""Who runs a command, and whether it may act for the team: the caller and its refusals.

The **caller** of a team-agent command is the tmux pane named by `$TMUX_PANE`, on the tmux
server whose socket path is the first field of `$TMUX` (`/tmp/tmux-1000/default,4242,0`;
the second field is that server's pid, checked against the server found there). tmux
sets both in every pane, and a command started from a leader's shell tool inherits them,
so the caller is the pane the command was typed in. When either is unset or empty the
caller is *outside tmux*: a person's plain terminal, CI, a cron job.

Commands that act for the team (`down`, later `send`) accept a caller outside tmux, one
of the team's own worker panes (our ownership markers), or the owner: a pane carrying the
owner UUID (the team's expected leader UUID, or the one a `takeover` recorded), unless a
claim names another live pane that carries it. Anyone else is refused, with the command
that would fix it. `claim-leader` and `takeover` need a caller pane: they move ownership
*to* it.

Refusals are data (`Refusal`: reason, exit code, message, fix) and the verbs print them as
JSON. Exit codes 0-4 belong to the reconciler (DESIGN.md); refusals use 5 and up, one
code per reason. The verdict functions are pure; `observe_caller` does the I/O (one tmux
call on the caller's server, one process scan).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, NamedTuple

from controllers.leader.identity import short_uuid
from controllers.leader.observe import PaneEvidence, pane_evidence
from controllers.leader.records import OwnerRecord
from reconciler.api.errors import TmuxUnavailable
from reconciler.api.ids import PaneId
from reconciler.observe.procs import ProcessTable, Scanner, scan
from reconciler.observe.tmux import ServerNotRunning, Tmux
from reconciler.observe.world import LIST_PANES, Pane, parse_panes

EXIT_NOT_IN_TMUX: Final = 5
EXIT_CALLER_UNKNOWN: Final = 6
EXIT_NO_LEADER_UUID: Final = 7
EXIT_OTHER_UUID: Final = 8
EXIT_SAME_UUID: Final = 9
EXIT_NOT_CLAIMED_PANE: Final = 10

NOT_IN_TMUX: Final = "NotInTmux"
CALLER_UNKNOWN: Final = "CallerUnknown"
NO_LEADER_UUID: Final = "NoLeaderUUID"
OTHER_LEADER_UUID: Final = "OtherLeaderUUID"
SAME_LEADER_UUID: Final = "SameLeaderUUID"
NOT_THE_CLAIMED_PANE: Final = "NotTheClaimedPane"

# (exit code, reason, meaning) for help texts and docs/leader.md.
REFUSAL_CODES: Final = (
    (EXIT_NOT_IN_TMUX, NOT_IN_TMUX, "not run from a tmux pane ($TMUX/$TMUX_PANE unset)"),
    (EXIT_CALLER_UNKNOWN, CALLER_UNKNOWN, "$TMUX/$TMUX_PANE name no pane on a live server"),
    (EXIT_NO_LEADER_UUID, NO_LEADER_UUID, "the caller's pane carries no leader UUID"),
    (EXIT_OTHER_UUID, OTHER_LEADER_UUID, "the caller's pane carries another UUID"),
    (EXIT_SAME_UUID, SAME_LEADER_UUID, "takeover from a pane that already has the owner UUID"),
    (EXIT_NOT_CLAIMED_PANE, NOT_THE_CLAIMED_PANE, "another live pane holds the claim"),
)

CLAIM: Final = "team-agent claim-leader --confirm"
TAKEOVER: Final = "team-agent takeover --confirm"
START: Final = "team-agent leader <provider>"


class Refusal(NamedTuple):
    reason: str
    code: int
    message: str
    fix: str

    def to_json(self) -> dict[str, object]:
        return {
            "ok": False,
            "refused": True,
            "reason": self.reason,
            "exitCode": self.code,
            "message": self.message,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class CallerRef:
    """The caller's pane as `$TMUX` / `$TMUX_PANE` name it."""

    socket: str  # absolute socket path
    server_pid: int | None
    pane_id: PaneId


@dataclass(frozen=True)
class CallerView:
    """The caller's pane as found on its server (None with `problem` when not found)."""

    ref: CallerRef
    evidence: PaneEvidence | None
    problem: str | None = None
    panes: tuple[Pane, ...] = ()  # every pane of the caller's server
    table: ProcessTable | None = None

    @property
    def uuid(self) -> str | None:
        return self.evidence.uuid if self.evidence is not None else None


def caller_ref(env: Mapping[str, str]) -> CallerRef | None:
    """The caller pane from the environment; None outside tmux."""
    tmux_var, pane = env.get("TMUX", ""), env.get("TMUX_PANE", "")
    if not tmux_var or not pane:
        return None
    socket, _, rest = tmux_var.partition(",")
    pid_text = rest.split(",", 1)[0]
    return CallerRef(
        socket=os.path.realpath(socket),
        server_pid=int(pid_text) if pid_text.isdigit() else None,
        pane_id=PaneId(pane),
    )


def observe_caller(
    ref: CallerRef, *, extra: frozenset[str] = frozenset(), scanner: Scanner = scan
) -> CallerView:
    """Find the caller's pane on its server and read its leader evidence."""
    try:
        panes = parse_panes(Tmux(socket_path=ref.socket).run(*LIST_PANES))
    except ServerNotRunning:
        return CallerView(ref, None, f"no tmux server is running at {ref.socket}")
    except TmuxUnavailable as err:
        return CallerView(ref, None, str(err))
    pane = next((p for p in panes if p.pane_id == ref.pane_id), None)
    if pane is None:
        return CallerView(ref, None, f"pane {ref.pane_id} does not exist on {ref.socket}")
    if ref.server_pid is not None and pane.server_pid != ref.server_pid:
        return CallerView(
            ref,
            None,
            f"the tmux server at {ref.socket} was restarted since this shell started "
            f"($TMUX names pid {ref.server_pid}, the server is pid {pane.server_pid})",
        )
    table = scanner()
    evidence = pane_evidence(pane, table, environ=table.environ, extra=extra)
    return CallerView(ref, evidence, None, panes=panes, table=table)


def claimed_pane(
    owner: OwnerRecord | None, view: CallerView, *, extra: frozenset[str] = frozenset()
) -> PaneEvidence | None:
    """The pane the owner record names, if it still lives and carries the owner UUID.

    Looked up on the caller's server when the record names it (no extra call), else with
    one `list-panes` on the record's server.
    """
    if owner is None:
        return None
    panes, table = view.panes, view.table
    if owner.socket != view.ref.socket or table is None:
        try:
            lines = Tmux(socket_path=owner.socket).run(*LIST_PANES)
        except (ServerNotRunning, TmuxUnavailable):
            return None
        panes, table = parse_panes(lines), table or scan()
    pane = next((p for p in panes if owner.names(p)), None)
    if pane is None:
        return None
    evidence = pane_evidence(pane, table, environ=table.environ, extra=extra)
    return evidence if evidence.uuid == owner.uuid else None


def _unknown(view: CallerView) -> Refusal:
    return Refusal(
        CALLER_UNKNOWN,
        EXIT_CALLER_UNKNOWN,
        f"cannot find the calling pane: {view.problem}",
        "run it from a live tmux pane, or from outside tmux (unset TMUX and TMUX_PANE)",
    )


def _no_uuid(view: CallerView, what: str) -> Refusal:
    return Refusal(
        NO_LEADER_UUID,
        EXIT_NO_LEADER_UUID,
        f"pane {view.ref.pane_id} runs no leader (it carries no leader UUID); {what}",
        f"start the leader in this pane with `{START}`, or run from outside tmux",
    )


def team_action_refusal(
    view: CallerView | None,
    *,
    team_id: str,
    workspace: str,
    owner_uuid: str,
    claimed: PaneEvidence | None,
    action: str,
) -> Refusal | None:
    """None when the caller may `action` for the team (see the module docstring)."""
    if view is None:
        return None  # outside tmux: a person's terminal or CI
    if view.evidence is None:
        return _unknown(view)
    pane = view.evidence.pane
    if pane.owned_by(team_id, workspace):
        return None  # one of the team's own workers
    uuid = view.uuid
    if uuid is None:
        return _no_uuid(view, f"only the team's leader or its workers may run `{action}`")
    if uuid != owner_uuid:
        return Refusal(
            OTHER_LEADER_UUID,
            EXIT_OTHER_UUID,
            f"pane {pane.pane_id} leads with UUID {short_uuid(uuid)}, the team is owned by "
            f"{short_uuid(owner_uuid)}",
            f"`{TAKEOVER}` from this pane makes it the owner",
        )
    if claimed is not None and (claimed.pane.pane_id, claimed.pane.server_pid) != (
        pane.pane_id,
        pane.server_pid,
    ):
        return Refusal(
            NOT_THE_CLAIMED_PANE,
            EXIT_NOT_CLAIMED_PANE,
            f"pane {claimed.pane.pane_id} holds the leader claim, not pane {pane.pane_id}",
            f"`{CLAIM}` from this pane moves the claim here",
        )
    return None


def claim_refusal(view: CallerView | None, *, owner_uuid: str) -> Refusal | None:
    """`claim-leader`: the caller's pane must carry the owner UUID."""
    early = _need_pane(view, "claim-leader")
    if early is not None or view is None:
        return early
    uuid = view.uuid
    if uuid is None:
        return _no_uuid(view, "there is nothing to claim with")
    if uuid != owner_uuid:
        return Refusal(
            OTHER_LEADER_UUID,
            EXIT_OTHER_UUID,
            f"pane {view.ref.pane_id} carries UUID {short_uuid(uuid)}, the owner UUID is "
            f"{short_uuid(owner_uuid)}: claim-leader moves the same UUID to another pane",
            f"`{TAKEOVER}` gives ownership to this pane's UUID",
        )
    return None


def takeover_refusal(view: CallerView | None, *, owner_uuid: str) -> Refusal | None:
    """`takeover`: the caller's pane must carry a UUID other than the owner's."""
    early = _need_pane(view, "takeover")
    if early is not None or view is None:
        return early
    uuid = view.uuid
    if uuid is None:
        return _no_uuid(view, "there is no UUID to take over with")
    if uuid == owner_uuid:
        return Refusal(
            SAME_LEADER_UUID,
            EXIT_SAME_UUID,
            f"pane {view.ref.pane_id} already carries the owner UUID {short_uuid(uuid)}",
            f"`{CLAIM}` moves the claim to this pane",
        )
    return None


def _need_pane(view: CallerView | None, verb: str) -> Refusal | None:
    if view is None:
        return Refusal(
            NOT_IN_TMUX,
            EXIT_NOT_IN_TMUX,
            f"{verb} moves the leader to the calling pane, and this is not run from tmux",
            f"run `team-agent {verb} --confirm` inside the leader's pane",
        )
    if view.evidence is None:
        return _unknown(view)
    return None

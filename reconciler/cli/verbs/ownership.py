"""Verbs that move or check ownership of the team: `claim-leader`, `takeover`, and the
caller check that commands acting for the team (`down`, later `send`) run first.

None of them takes the workspace lock (`team-agent run` holds it for as long as it runs):
they rewrite only the owner record (under its own lock, `leader.lock`) and the hint; the
reconciler observes the result next pass. Refusals print one JSON object on stdout and
exit with the refusal's code (5 and up; see `controllers.leader.caller` and docs/leader.md).
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import NoReturn

import click

from controllers.leader.caller import (
    EXIT_CALLER_UNKNOWN,
    EXIT_NO_LEADER_UUID,
    EXIT_NOT_CLAIMED_PANE,
    EXIT_NOT_IN_TMUX,
    EXIT_OTHER_UUID,
    EXIT_SAME_UUID,
    REFUSAL_CODES,
    Refusal,
    caller_ref,
    claim_refusal,
    claimed_pane,
    observe_caller,
    takeover_refusal,
    team_action_refusal,
)
from controllers.leader.identity import short_uuid
from controllers.leader.observe import PaneEvidence
from controllers.leader.records import (
    ClaimVerb,
    LeaderHint,
    OwnerRecord,
    next_epoch,
    owner_lock,
    owner_uuid,
    read_owner,
    write_hint,
    write_owner,
)
from reconciler.api.clock import format_time
from reconciler.api.errors import StateUnwritable
from reconciler.api.events import NORMAL, WARNING, Event
from reconciler.api.exitcodes import EXIT_UNUSABLE
from reconciler.cli.util import Target, fail, read_status, target
from reconciler.cli.verbs.identity import identity_of
from reconciler.cli.verbs.leader import state_of
from reconciler.specfile.load import LoadedSpec
from reconciler.store.eventlog import EventLog


def _exit_table(*codes: int) -> str:
    """The refusal codes a command can exit with, one per line (a click `\\b` block)."""
    return "\n".join(
        f"  {code:>2}  {reason}: {meaning}"
        for code, reason, meaning in REFUSAL_CODES
        if code in codes
    )


_CALLER_HELP = (
    "The caller is the tmux pane in $TMUX_PANE on the server in $TMUX; with either unset "
    "the caller is outside tmux."
)


def _refuse(refusal: Refusal) -> NoReturn:
    click.echo(json.dumps(refusal.to_json(), indent=2, ensure_ascii=False))
    click.echo(f"team-agent: refused ({refusal.reason}): {refusal.message}", err=True)
    click.echo(f"  fix: {refusal.fix}", err=True)
    sys.exit(refusal.code)


def _move_ownership(ctx: click.Context, verb: ClaimVerb, confirm: bool) -> None:
    """`claim-leader` and `takeover`: the caller's pane becomes the owner (epoch + 1).

    Under the owner lock: refuse a caller the verb does not allow, say so when nothing
    would change, stop at a dry run without `--confirm`, else write the owner record and
    the hint. The event and the answer follow once the lock is released.
    """
    t = target(ctx)
    loaded = t.require_spec()
    ident = identity_of(loaded.spec.team_id, loaded.workspace)
    state = state_of(t)
    ref = caller_ref(os.environ)
    view = observe_caller(ref) if ref is not None else None
    with owner_lock(state):
        owner = read_owner(state)
        owner_now = owner_uuid(owner, ident.uuid)
        check = claim_refusal if verb == "claim-leader" else takeover_refusal
        refusal = check(view, owner_uuid=owner_now)
        if refusal is not None:
            _refuse(refusal)
        assert view is not None and view.evidence is not None and ref is not None
        evidence = view.evidence
        pane = evidence.pane
        uuid = evidence.uuid or ""
        status = read_status(t)
        epoch = max(owner.epoch if owner else 0, status.leader.epoch if status else 0)
        result: dict[str, object] = {
            "ok": True,
            "action": verb,
            "uuid": uuid,
            "expectedUuid": ident.uuid,
            "paneId": pane.pane_id,
            "socket": ref.socket,
            "epoch": epoch,
        }
        if owner is not None and owner_now == owner.uuid == uuid and owner.names(pane):
            click.echo(json.dumps({**result, "unchanged": True}, indent=2))
            return
        new_epoch = next_epoch(owner, status.leader.epoch if status else 0)
        if not confirm:
            click.echo(json.dumps({**result, "dryRun": True, "nextEpoch": new_epoch}, indent=2))
            click.echo(f"dry run: add --confirm to {verb}", err=True)
            return
        now = format_time(datetime.now(timezone.utc))
        _write_claim(
            state, verb, evidence, socket=ref.socket, expected=ident.uuid, epoch=new_epoch, now=now
        )
    _log_claim(state, verb, evidence, socket=ref.socket, epoch=new_epoch, now=now)
    click.echo(json.dumps({**result, "epoch": new_epoch, "previousEpoch": epoch}, indent=2))


def _write_claim(
    state: Path,
    verb: ClaimVerb,
    evidence: PaneEvidence,
    *,
    socket: str,
    expected: str,
    epoch: int,
    now: str,
) -> None:
    """The owner record and the leader hint naming the caller's pane (under the owner lock)."""
    pane = evidence.pane
    uuid = evidence.uuid or ""
    record = OwnerRecord(
        socket=socket,
        serverPid=pane.server_pid,
        paneId=pane.pane_id,
        panePid=pane.pane_pid,
        uuid=uuid,
        epoch=epoch,
        at=now,
        by=verb,
        expectedUuid=expected,
    )
    hint = LeaderHint(
        socket=socket,
        serverPid=pane.server_pid,
        paneId=pane.pane_id,
        panePid=pane.pane_pid,
        uuid=uuid,
        provider=evidence.env_provider or "",
        command=evidence.process.name if evidence.process else "",
        startedAt=now,
    )
    try:
        write_owner(state, record)
        write_hint(state, hint)
    except StateUnwritable as err:
        fail(str(err), EXIT_UNUSABLE)


def _log_claim(
    state: Path, verb: ClaimVerb, evidence: PaneEvidence, *, socket: str, epoch: int, now: str
) -> None:
    """One event for the move: Normal for a claim, Warning for a takeover."""
    message = (
        f"pane {evidence.pane.pane_id} on {socket} owns the team with UUID "
        f"{short_uuid(evidence.uuid or '')} (epoch {epoch})"
    )
    EventLog(state).append(
        Event(
            time=now,
            type=NORMAL if verb == "claim-leader" else WARNING,
            reason="LeaderClaimed" if verb == "claim-leader" else "LeaderTakenOver",
            object="leader",
            message=message,
        )
    )


_CLAIM_EPILOG = (
    "Exit codes: 0 done (or dry run, or nothing to do), 2 usage or invalid spec, 4 tmux "
    "or state folder unusable; refusals print JSON and exit with:\n\n\b\n"
)


@click.command(
    name="claim-leader",
    epilog=_CLAIM_EPILOG
    + _exit_table(EXIT_NOT_IN_TMUX, EXIT_CALLER_UNKNOWN, EXIT_NO_LEADER_UUID, EXIT_OTHER_UUID),
)
@click.option("--confirm", is_flag=True, help="Act; without it, only say what would change.")
@click.pass_context
def claim_leader(ctx: click.Context, confirm: bool) -> None:
    """Make the calling pane the leader (same leader UUID, another pane).

    Run it in the pane that should lead, e.g. from the leader's shell tool. The owner
    record (.team/leader-owner.json) then names this pane, with an epoch one higher
    than any before, and breaks a LeaderAmbiguous tie in its favour.
    """
    _move_ownership(ctx, "claim-leader", confirm)


@click.command(
    epilog=_CLAIM_EPILOG
    + _exit_table(EXIT_NOT_IN_TMUX, EXIT_CALLER_UNKNOWN, EXIT_NO_LEADER_UUID, EXIT_SAME_UUID),
)
@click.option("--confirm", is_flag=True, help="Act; without it, only say what would change.")
@click.pass_context
def takeover(ctx: click.Context, confirm: bool) -> None:
    """Give the team to the calling pane's leader UUID (a different UUID takes ownership).

    The reconciler then looks for that UUID instead of the team's derived one
    (`team-agent identity`): this is how a leader whose UUID drifted (the team renamed,
    the workspace moved) keeps the team; LeaderUUIDMismatch stays True with reason
    TakenOver until the leader runs with the derived UUID again.
    """
    _move_ownership(ctx, "takeover", confirm)


def guard_team_action(t: Target, loaded: LoadedSpec, action: str) -> None:
    """Refuse (exit 6-10 with JSON) a caller that is neither the owner nor a worker."""
    ref = caller_ref(os.environ)
    if ref is None:
        return
    view = observe_caller(ref)
    state = state_of(t)
    owner = read_owner(state)
    refusal = team_action_refusal(
        view,
        team_id=loaded.spec.team_id,
        workspace=str(loaded.workspace),
        owner_uuid=owner_uuid(owner, identity_of(loaded.spec.team_id, loaded.workspace).uuid),
        claimed=claimed_pane(owner, view) if view.evidence is not None else None,
        action=action,
    )
    if refusal is not None:
        _refuse(refusal)


TEAM_ACTION_EPILOG = (
    f"{_CALLER_HELP} A caller outside tmux (a plain terminal, CI) may always run it; "
    "inside tmux only the team's leader pane (it carries the owner UUID) or one of the "
    "team's worker panes may. Refusals print JSON and exit with:\n\n\b\n"
    + _exit_table(EXIT_CALLER_UNKNOWN, EXIT_NO_LEADER_UUID, EXIT_OTHER_UUID, EXIT_NOT_CLAIMED_PANE)
)

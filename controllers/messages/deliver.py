"""The executor of messages: paste, verify on screen, submit once, verify, record.

The messages controller decided *which* message goes to *which* pane; this module knows
how, and re-checks at the moment of acting, because a pane can change between the
snapshot and the keystroke (the SendKeys rule, applied to every message):

1. One tmux call reads the pane's markers, process, mode and screen. The pane must still
   be the recipient's (markers for a worker, the same process for the leader) and its
   input box must be empty; a busy CLI, a dialog, an approval prompt or someone else's
   text defers the message (it is not failed, and no attempt is counted). It is looked at
   again a second later, then after 2 s, 4 s, ... up to `BUSY_RETRY_MAX_SEC` while it stays
   deferred (the outcome's `retry_after` requeues the pass, so it is not left to the
   periodic resync).
2. One tmux call leaves copy mode if the pane is in it, loads the text into a named
   buffer from stdin and pastes it with bracketed paste (`paste-buffer -p`), deleting the
   buffer. The CLI sees one paste, not keystrokes: a newline inside it does not submit.
3. Captures until the message's tail shows in the input box (or the CLI's placeholder
   for a long paste). Only then is Enter pressed: never into a half-arrived paste.
4. The store records `entered` *before* Enter is sent. A reconciler that dies after that
   point finds the flag on restart and never presses Enter for a message whose text has
   left the input box: the message is confirmed from the screen, or failed with that
   reason. At most once, never twice.
5. Captures until the input box no longer holds the message: delivered.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from typing_extensions import assert_never

from controllers.messages.actions import (
    DeliverMessage,
    DeliveryTarget,
    FailMessage,
    MessageAction,
    RaiseAlert,
)
from controllers.messages.screen import InputState, input_state, shows_anywhere, shows_message
from controllers.providers.inputs import input_profile
from reconciler.api.actions import Outcome
from reconciler.api.hooks import ENTERED, ENTERING, PASTED, PassPoint
from reconciler.api.retrying import growing, poll
from reconciler.api.spec import LEADER
from reconciler.apply.executor import ApplyContext
from reconciler.apply.pane_check import Owner, PaneNotOurs, PaneNow, recheck_pane
from reconciler.observe.screens import Screen, capture_commands, parse_capture
from reconciler.observe.tmux import Tmux

if TYPE_CHECKING:  # the store imports sqlite3: only passes that deliver pay for it
    from controllers.providers.base import InputProfile
    from reconciler.store.messages import MessageRecord, MessageStore

POLL_FIRST_SEC = 0.02
POLL_MAX_SEC = 0.2
SHOW_SEC = 3.0  # plus SHOW_SEC_PER_100KB for long pastes: the CLI echoes them first
SHOW_SEC_PER_100KB = 3.0
SUBMIT_SEC = 5.0
BUSY_RETRY_SEC = 1.0  # a deferred message is looked at again this soon, doubling ...
BUSY_RETRY_MAX_SEC = 5.0  # ... to this while it stays deferred
RETRY_SEC = (1.0, 2.0, 5.0, 10.0, 30.0)  # after a failed attempt, by attempts made
MAX_ATTEMPTS = len(RETRY_SEC)


@dataclass
class DeliveryContext:
    """What delivering needs from the executor's context (`delivery_context`)."""

    tmux: Tmux
    tmux_at: Callable[[str], Tmux] | None  # the leader's server when it is another one
    team_id: str
    workspace: str
    server_pid: int | None  # the workers' server as the snapshot saw it
    store: Callable[[], MessageStore]  # opened on first use: most passes deliver nothing
    reached: Callable[[PassPoint, DeliverMessage], None]
    clock: Callable[[], float] = time.time

    def tmux_for(self, target: DeliveryTarget) -> Tmux:
        if target.socket_path is None or self.tmux_at is None:
            return self.tmux
        return self.tmux_at(target.socket_path)


def delivery_context(ctx: ApplyContext) -> DeliveryContext:
    """The executor's context as delivery sees it; the store opens on first use."""
    hooks = ctx.hooks

    def reached(point: PassPoint, action: DeliverMessage) -> None:
        if hooks is not None:
            hooks.reached(point, action)

    def store() -> MessageStore:
        from reconciler.store.messages import MessageStore  # sqlite3 only when delivering

        return ctx.resource("messages.store", lambda: MessageStore.open(ctx.state_dir))

    return DeliveryContext(
        tmux=ctx.tmux,
        tmux_at=ctx.tmux_at,
        team_id=ctx.team_id,
        workspace=ctx.workspace,
        server_pid=ctx.world.server_pid,
        store=store,
        reached=reached,
    )


def apply_message_action(action: MessageAction, ctx: ApplyContext) -> Outcome:
    """Messages, alerts and failures, each recorded in the store (exhaustive dispatch).

    The store's own failures are `StoreError`s (a `TeamAgentError`): a failed outcome.
    """
    delivery = delivery_context(ctx)
    pane = None
    match action:
        case DeliverMessage():
            done = deliver_message(action, delivery)
            pane = action.target.pane
        case FailMessage():
            done = fail_message(action, delivery)
        case RaiseAlert():
            done = raise_alert(action, delivery)
        case _:
            assert_never(action)
    return Outcome(
        action=action,
        ok=done.ok,
        message=done.message,
        pane_id=pane,
        quiet=done.quiet,
        retry_after=done.retry_after,
    )


class Result(NamedTuple):
    """What one message action did; `quiet`: nothing changed (e.g. deferred)."""

    ok: bool
    message: str
    quiet: bool = False
    retry_after: float | None = None  # deferred: look again in this many seconds


def deferral_delay(record: MessageRecord) -> float:
    """How long a message deferred now waits: 1 s, doubling while it stays deferred, to 5 s.

    The delay of the previous deferral is read back from the record (a deferral writes
    `not_before` and `updated_at` together), so the backoff needs no column of its own and
    survives a restarted reconciler; anything else that touched the message since (an
    attempt) starts it at 1 s again.
    """
    if record.not_before is None:
        return BUSY_RETRY_SEC
    previous = record.not_before - record.updated_at
    if previous < BUSY_RETRY_SEC * 0.9:  # 0.9: the float sum is not exact
        return BUSY_RETRY_SEC
    return min(previous * 2, BUSY_RETRY_MAX_SEC)


def _defer(store: MessageStore, record: MessageRecord, reason: str, now: float) -> Result:
    """Leave the message queued, untried, and say when to look again."""
    delay = deferral_delay(record)
    store.defer(record.id, reason, not_before=now + delay, now=now)
    return Result(True, f"deferred: {reason}", quiet=True, retry_after=delay)


def _capture(tmux: Tmux, pane: str) -> Screen:
    return parse_capture("\n".join(tmux.run_sequence(capture_commands(pane))))[0]


def _inspect(tmux: Tmux, target: DeliveryTarget, ctx: DeliveryContext) -> PaneNow:
    """The pane's mode and screen, after checking it still is the recipient's.

    A worker's pane must carry its markers and be on the server the snapshot saw; the
    leader's (perhaps on another server) must still run the process the plan names.
    """
    worker = target.recipient != LEADER
    return recheck_pane(
        tmux,
        target.pane,
        server_pid=ctx.server_pid if target.socket_path is None else None,
        owner=Owner(ctx.team_id, target.recipient, ctx.workspace) if worker else None,
        process=target.process,
        screen=True,
    )


def deliver_message(action: DeliverMessage, ctx: DeliveryContext) -> Result:
    """Deliver one message (the module docstring's steps)."""
    store = ctx.store()
    record = store.get(action.message_id)
    if record is None or record.state in ("delivered", "failed"):
        return Result(True, f"already {record.state if record else 'gone'}", quiet=True)
    target = action.target
    profile = input_profile(target.provider)
    if profile is None:
        store.mark_failed(
            action.message_id, f"{target.provider} takes no messages", now=ctx.clock()
        )
        return Result(False, f"{target.provider} takes no messages")
    tmux = ctx.tmux_for(target)
    try:
        seen = _inspect(tmux, target, ctx)
    except PaneNotOurs as err:
        return _defer(store, record, str(err), ctx.clock())
    # A placeholder ("[Pasted text #1]") proves our paste only if we pasted into this pane.
    pasted = record.attempts > 0 and record.pane == target.pane
    if record.entered:
        return _recover_entered(action, ctx, tmux, store, profile, seen.screen, pasted=pasted)
    state = input_state(profile, seen.screen, action.text, pasted=pasted)
    if state is InputState.EMPTY:
        store.begin_attempt(action.message_id, pane=target.pane, now=ctx.clock())
        _paste(tmux, target.pane, action, seen.in_mode)
        if not _wait_until(
            tmux,
            target.pane,
            lambda s: shows_message(profile, s, action.text),
            _show_deadline(action.text),
        ):
            attempts = record.attempts + 1
            error = "the pasted message did not show in the input box"
            _retry_or_fail(store, action.message_id, error, attempts, ctx.clock())
            return Result(False, error)
    elif state is not InputState.OURS:
        reason = f"{target.recipient} cannot take input now ({state.value})"
        return _defer(store, record, reason, ctx.clock())
    ctx.reached(PASTED, action)
    return _submit(action, ctx, tmux, store, profile)


def _paste(tmux: Tmux, pane: str, action: DeliverMessage, in_mode: bool) -> None:
    buffer = f"team-agent-{action.message_id}"
    commands: list[list[str]] = []
    if in_mode:
        commands.append(["copy-mode", "-q", "-t", pane])
    commands.append(["load-buffer", "-b", buffer, "-"])
    commands.append(["paste-buffer", "-p", "-d", "-b", buffer, "-t", pane])
    tmux.run_sequence(commands, stdin=action.text)


def _show_deadline(text: str) -> float:
    extra = SHOW_SEC_PER_100KB * len(text.encode("utf-8")) / 100_000
    return time.monotonic() + SHOW_SEC + extra


def _wait_until(tmux: Tmux, pane: str, check: Callable[[Screen], bool], deadline: float) -> bool:
    """Capture until `check` holds or `deadline`; pauses grow from 20 ms to 200 ms."""
    screen = poll(
        lambda: _capture(tmux, pane),
        until=check,
        deadline=deadline,
        interval=growing(POLL_FIRST_SEC, 1.5, POLL_MAX_SEC),
    )
    return check(screen)


def _submit(
    action: DeliverMessage,
    ctx: DeliveryContext,
    tmux: Tmux,
    store: MessageStore,
    profile: InputProfile,
) -> Result:
    store.mark_entered(action.message_id, now=ctx.clock())
    ctx.reached(ENTERING, action)
    if profile.submit_delay_sec > 0:
        time.sleep(profile.submit_delay_sec)  # the CLI's own "fast return" window (measured)
    tmux.run("send-keys", "-t", action.target.pane, *profile.submit_keys)
    ctx.reached(ENTERED, action)
    left = _wait_until(
        tmux,
        action.target.pane,
        lambda s: not shows_message(profile, s, action.text),
        time.monotonic() + SUBMIT_SEC,
    )
    if left:
        store.mark_delivered(action.message_id, now=ctx.clock())
        return Result(True, "delivered")
    return Result(False, "Enter was pressed but the message is still in the input box")


def _recover_entered(
    action: DeliverMessage,
    ctx: DeliveryContext,
    tmux: Tmux,
    store: MessageStore,
    profile: InputProfile,
    screen: Screen,
    *,
    pasted: bool,
) -> Result:
    """An earlier attempt pressed Enter: confirm it, finish it, or fail it; never resubmit."""
    state = input_state(profile, screen, action.text, pasted=pasted)
    if state is InputState.OURS:
        # Still in the input box: that Enter never reached the CLI, so this one is the first.
        if action.attempt >= MAX_ATTEMPTS:
            error = f"the CLI did not take the message after {action.attempt} Enter presses"
            store.mark_failed(action.message_id, error, now=ctx.clock())
            return Result(False, error)
        store.begin_attempt(action.message_id, pane=action.target.pane, now=ctx.clock())
        return _submit(action, ctx, tmux, store, profile)
    if shows_anywhere(screen, action.text):
        store.mark_delivered(action.message_id, now=ctx.clock())
        return Result(True, "delivered (confirmed on screen after an interrupted delivery)")
    error = (
        "delivery was interrupted after Enter was pressed and the screen no longer shows "
        "the message: not submitted again, to never submit it twice"
    )
    store.mark_failed(action.message_id, error, now=ctx.clock())
    return Result(False, error)


def _retry_or_fail(
    store: MessageStore, message_id: str, error: str, attempts: int, now: float
) -> None:
    if attempts >= MAX_ATTEMPTS:
        store.mark_failed(message_id, f"{error} ({attempts} attempts)", now=now)
    else:
        store.retry_later(message_id, error, not_before=now + RETRY_SEC[attempts - 1], now=now)


def fail_message(action: FailMessage, ctx: DeliveryContext) -> Result:
    ctx.store().mark_failed(action.message_id, action.cause, now=ctx.clock())
    return Result(True, "failed")


def raise_alert(action: RaiseAlert, ctx: DeliveryContext) -> Result:
    raised = ctx.store().raise_alert(
        action.key, recipient=action.recipient, body=action.body, kind=action.kind, now=ctx.clock()
    )
    if raised is None:
        return Result(True, "already raised", quiet=True)
    return Result(True, f"queued as {raised.id}")

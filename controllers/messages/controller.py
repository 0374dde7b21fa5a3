"""The messages controller as the engine runs it: read the store, plan, deliver.

It observes the message store's pending work in one SQLite read transaction, only when
`.team/messages.db` exists (a team that never sent a message does not even import
sqlite3); a store that cannot be read raises `InputUnreadable` with the file and the fix,
and the controller is left out of the pass. Its plan is `plan_messages` (pure); its
actions are applied by `controllers.messages.deliver` (paste, verify, submit once).
"""

from __future__ import annotations

from controllers.base import ControllerBase, ControllerResult, ObserveContext, PassInputs
from controllers.messages.actions import MESSAGE_ACTIONS
from controllers.messages.deliver import apply_message_action
from controllers.messages.plan import plan_messages
from reconciler.api.actions import Action, Outcome
from reconciler.api.errors import InputUnreadable
from reconciler.api.status import MESSAGES_DB
from reconciler.apply.executor import ApplyContext
from reconciler.store.records import StoreSnapshot


class MessagesController(ControllerBase):
    """Deliver what `send` and `report` queued, and watch for stalls (docs/messages.md)."""

    name = "messages"
    action_types = MESSAGE_ACTIONS

    def observe(self, ctx: ObserveContext) -> StoreSnapshot | None:
        path = ctx.state_dir / MESSAGES_DB
        if not path.exists():
            return None
        from reconciler.store.messages import MessageStore, NewerSchema, StoreError

        try:
            return MessageStore.read_snapshot(ctx.state_dir, ctx.now.timestamp())
        except NewerSchema as err:
            raise InputUnreadable(
                str(err), f"use that newer team-agent here, or move {path} aside"
            ) from err
        except StoreError as err:
            raise InputUnreadable(
                str(err),
                f"move it aside (mv {path} {path}.broken); the next `send` starts an empty "
                "store, and what the broken one held is not delivered",
            ) from err

    def reconcile(self, inputs: PassInputs) -> ControllerResult:
        return plan_messages(inputs)

    def apply(self, action: Action, ctx: ApplyContext) -> Outcome:
        if not isinstance(action, MESSAGE_ACTIONS):
            return super().apply(action, ctx)
        return apply_message_action(action, ctx)

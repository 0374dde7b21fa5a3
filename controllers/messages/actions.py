"""The messages controller's actions: deliver a message, give one up, raise an alert."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from reconciler.api.actions import ProcessRef
from reconciler.api.ids import PaneId


@dataclass(frozen=True)
class DeliveryTarget:
    """Where a message goes: a pane, the process it must still run, the CLI reading it.

    A worker's pane must still carry that agent's markers; the leader's pane (on the
    person's own server when `socket_path` is set) must still run `process`. Either way
    the executor re-checks right before typing, as for `SendKeys`.
    """

    recipient: str  # an agent id, or `leader`
    pane: PaneId
    process: ProcessRef | None
    provider: str  # whose `InputProfile` reads the screen
    socket_path: str | None = None  # None: the workers' server


@dataclass(frozen=True)
class DeliverMessage:
    """Paste one message into its recipient's input box, verify it, submit it, verify that.

    `entered` says Enter was already pressed for it by an earlier (interrupted) attempt:
    the executor then only confirms or fails it, never submits it a second time.
    """

    verb: ClassVar[str] = "Applied"

    message_id: str
    target: DeliveryTarget
    text: str  # exactly what is pasted: the header line and the body
    entered: bool
    attempt: int  # attempts already made
    cause: str = "queued"
    requires: tuple[str, ...] = ()

    @property
    def resource(self) -> str:
        return f"message/{self.message_id}"

    def render(self) -> str:
        where = f"{self.target.recipient} pane {self.target.pane}"
        return f"deliver {self.resource} to {where} ({self.cause})"


@dataclass(frozen=True)
class FailMessage:
    """Give up on a message: its recipient is gone, or it ran out of attempts."""

    verb: ClassVar[str] = "Applied"

    message_id: str
    cause: str
    requires: tuple[str, ...] = ()

    @property
    def resource(self) -> str:
        return f"message/{self.message_id}"

    def render(self) -> str:
        return f"fail    {self.resource} ({self.cause})"


@dataclass(frozen=True)
class RaiseAlert:
    """Queue one alert or reminder to the leader, once per `key` (an episode, not a pass)."""

    verb: ClassVar[str] = "Applied"

    key: str
    recipient: str
    kind: Literal["alert", "reminder"]
    body: str
    cause: str
    requires: tuple[str, ...] = ()

    @property
    def resource(self) -> str:
        return f"alert/{self.key}"

    def render(self) -> str:
        return f"alert   {self.recipient} {self.kind} {self.key} ({self.cause})"


MessageAction = DeliverMessage | FailMessage | RaiseAlert
MESSAGE_ACTIONS = (DeliverMessage, FailMessage, RaiseAlert)

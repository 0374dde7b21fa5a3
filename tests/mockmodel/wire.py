"""The shapes every wire-format module shares: a request, a response, an SSE event.

A format module (`anthropic`, `responses`, `chat`, `gemini`) is a `WireFormat`: it says
which paths are its own, answers a request from a scripted `Reply` (taking one only for a
real conversation turn), and reads back the user's texts from a request body so tests can
assert what reached the model and how often.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from tests.mockmodel.replies import Reply


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # without the query string
    query: str
    body: Any  # parsed JSON, or None


@dataclass(frozen=True)
class SseEvent:
    data: Any  # JSON-encoded unless already a str ("[DONE]")
    event: str | None = None
    delay: float = 0.0  # seconds to wait before sending it

    def encode(self) -> bytes:
        data = self.data if isinstance(self.data, str) else json.dumps(self.data)
        head = f"event: {self.event}\n" if self.event else ""
        return f"{head}data: {data}\n\n".encode()


@dataclass(frozen=True)
class Json:
    body: Any
    status: int = 200


@dataclass(frozen=True)
class Stream:
    events: Iterable[SseEvent]
    status: int = 200


@dataclass(frozen=True)
class Silence:
    """Hold the connection open, send nothing (a `Hang` reply)."""

    seconds: float


Response = Json | Stream | Silence


@dataclass
class Turn:
    """What a format module decided about one request (logged by the server)."""

    response: Response
    turn: bool = False  # a conversation turn (took a scripted reply)
    reply: Reply | None = None
    note: str = ""  # e.g. "count_tokens", "title", "router"
    extra: dict[str, Any] = field(default_factory=dict)


class WireFormat(Protocol):
    name: str

    def owns(self, request: Request) -> bool:
        """This request is in this format (by method and path)."""
        ...

    def answer(self, request: Request, take: Callable[[], Reply]) -> Turn:
        """The response; `take()` pops the next scripted reply (call it only for a turn)."""
        ...

    def user_texts(self, body: Any) -> list[str]:
        """The texts of every user message in the request's conversation, oldest first."""
        ...

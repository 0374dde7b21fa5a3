"""What the mock answers a conversation turn with: plain data, scripted per test.

A test queues replies (`MockModel.script`); each request that is a real conversation turn
(not a title, a token count or a routing side request) takes the next one, or `Text("ok")`
when the queue is empty. Wire-format modules render them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Text:
    """A streamed text answer; `chunk_delay` seconds between chunks makes a slow stream."""

    text: str = "ok"
    chunks: int = 1
    chunk_delay: float = 0.0


@dataclass(frozen=True)
class ToolCall:
    """Call the request's shell tool with `command` (the format module picks the tool
    from the request's own tool list, so the CLI shows its real permission prompt)."""

    command: str = "touch mock-approval-probe"
    arguments: dict[str, object] = field(default_factory=dict)  # extra arguments, per format


@dataclass(frozen=True)
class Error:
    """An HTTP error in the format's own error body (429, 529 overloaded, 500)."""

    status: int = 500
    message: str = "mock error"


@dataclass(frozen=True)
class Hang:
    """Accept the request and send nothing for `seconds` (a timeout from the CLI's side)."""

    seconds: float = 600.0


Reply = Text | ToolCall | Error | Hang

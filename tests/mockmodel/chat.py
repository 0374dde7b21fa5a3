"""OpenAI Chat Completions (`POST /v1/chat/completions`, SSE), as OpenCode and Copilot
(bring-your-own-key) call it.

A turn is a request that offers tools; title and summary requests offer none and are
answered "ok" without taking a scripted reply. Copilot prefixes each user message with
`<current_datetime>…</current_datetime>` and a blank line; `user_texts` drops that prefix
so a test compares the text the user sent. A paste of more than 20 KB (measured: 20,467
characters inline, 20,535 saved) Copilot saves to `session-state/<id>/files/paste-*.txt`
and sends only `<pasted_content file="…" size="…" lines="…" />`, which the model is to
read with a tool; `user_texts` puts the file's text in its place, as that read would.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

from tests.mockmodel.common import chunks, new_id, pick_tool
from tests.mockmodel.replies import Error, Hang, Reply, Text, ToolCall
from tests.mockmodel.wire import Json, Request, Silence, SseEvent, Stream, Turn

MODEL_IDS = ("gpt-4.1", "mock-model")
_COPILOT_DATETIME = re.compile(r"\A<current_datetime>[^<]*</current_datetime>(?:\n\n)?")
_COPILOT_PASTE = re.compile(r'<pasted_content file="(?P<file>[^"]+)"[^>]*/>')


def _copilot_text(text: str) -> str:
    """A Copilot user message as the user sent it: no date prefix, saved pastes read back."""

    def read(found: re.Match[str]) -> str:
        try:
            with open(found.group("file"), encoding="utf-8") as handle:
                return handle.read()
        except OSError:
            return found.group(0)

    return _COPILOT_PASTE.sub(read, _COPILOT_DATETIME.sub("", text))


class Chat:
    name = "chat"

    def owns(self, request: Request) -> bool:
        return request.path.endswith("/chat/completions")

    def answer(self, request: Request, take: Callable[[], Reply]) -> Turn:
        body: dict[str, Any] = request.body if isinstance(request.body, dict) else {}
        tools = [
            str((t.get("function") or {}).get("name", ""))
            for t in body.get("tools") or []
            if isinstance(t, dict)
        ]
        turn = bool(tools)
        reply = take() if turn else Text("ok")
        if isinstance(reply, Error):
            error = {
                "error": {"type": "mock_error", "code": reply.status, "message": reply.message}
            }
            return Turn(Json(error, reply.status), turn=turn, reply=reply)
        if isinstance(reply, Hang):
            return Turn(Silence(reply.seconds), turn=turn, reply=reply)
        model = str(body.get("model", MODEL_IDS[0]))
        if not body.get("stream"):
            return Turn(
                Json(_completion(model, reply, tools)), turn=turn, reply=reply if turn else None
            )
        return Turn(
            Stream(_events(model, reply, tools)),
            turn=turn,
            reply=reply if turn else None,
            note="" if turn else "side",
        )

    def user_texts(self, body: Any) -> list[str]:
        texts = []
        for message in body.get("messages", []) if isinstance(body, dict) else []:
            if not isinstance(message, dict) or message.get("role") != "user":
                continue
            content = message.get("content")
            if isinstance(content, str):
                texts.append(_copilot_text(content))
                continue
            parts = [
                c.get("text", "") for c in content or [] if isinstance(c, dict) and "text" in c
            ]
            if parts:
                texts.append(_copilot_text("\n".join(parts)))
        return texts


def models() -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": m, "object": "model", "owned_by": "mock"} for m in MODEL_IDS],
    }


def _tool_call(reply: ToolCall, tools: list[str]) -> dict[str, Any] | None:
    tool = pick_tool(tools)
    if tool is None:
        return None
    arguments = {"command": reply.command, "description": "mock tool call", **reply.arguments}
    return {
        "index": 0,
        "id": new_id("call"),
        "type": "function",
        "function": {"name": tool, "arguments": json.dumps(arguments)},
    }


def _completion(model: str, reply: Reply, tools: list[str]) -> dict[str, Any]:
    call = _tool_call(reply, tools) if isinstance(reply, ToolCall) else None
    message: dict[str, Any] = {"role": "assistant", "content": None if call else _text(reply)}
    if call:
        message["tool_calls"] = [{k: v for k, v in call.items() if k != "index"}]
    return {
        "id": new_id("chatcmpl"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if call else "stop"}
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
    }


def _text(reply: Reply) -> str:
    return reply.text if isinstance(reply, Text) else "ok"


def _events(model: str, reply: Reply, tools: list[str]) -> Iterator[SseEvent]:
    ident = new_id("chatcmpl")
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None, delay: float = 0.0) -> SseEvent:
        return SseEvent(
            {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            },
            None,
            delay,
        )

    yield chunk({"role": "assistant", "content": ""})
    call = _tool_call(reply, tools) if isinstance(reply, ToolCall) else None
    if call is not None:
        yield chunk({"tool_calls": [call]})
        finish = "tool_calls"
    else:
        delay = reply.chunk_delay if isinstance(reply, Text) else 0.0
        for piece in chunks(_text(reply), reply.chunks if isinstance(reply, Text) else 1):
            yield chunk({"content": piece}, None, delay)
        finish = "stop"
    yield chunk({}, finish)
    yield SseEvent(
        {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
            "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
        }
    )
    yield SseEvent("[DONE]")


FORMAT = Chat()

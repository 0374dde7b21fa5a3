"""OpenAI Responses (`POST /v1/responses`, SSE), as Codex calls it.

Every request with `input` is a turn. Codex reads the stream until `response.completed`;
a stream that ends before it is an error on its side, so every reply ends with one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from tests.mockmodel.common import chunks, new_id, pick_tool
from tests.mockmodel.replies import Error, Hang, Reply, Text, ToolCall
from tests.mockmodel.wire import Json, Request, Silence, SseEvent, Stream, Turn

MODELS = {
    "object": "list",
    "data": [
        {"id": m, "object": "model", "owned_by": "mock"}
        for m in ("gpt-5-codex", "gpt-4.1", "mock-model")
    ],
}


class Responses:
    name = "responses"

    def owns(self, request: Request) -> bool:
        return request.path.endswith("/responses") or (
            request.method == "GET" and request.path.rstrip("/").endswith("/v1/models")
        )

    def answer(self, request: Request, take: Callable[[], Reply]) -> Turn:
        if request.method == "GET":
            return Turn(Json(MODELS), note="models")
        body: dict[str, Any] = request.body if isinstance(request.body, dict) else {}
        reply = take()
        if isinstance(reply, Error):
            error = {
                "error": {"type": "mock_error", "code": str(reply.status), "message": reply.message}
            }
            return Turn(Json(error, reply.status), turn=True, reply=reply)
        if isinstance(reply, Hang):
            return Turn(Silence(reply.seconds), turn=True, reply=reply)
        tools = [_tool_name(t) for t in body.get("tools") or [] if isinstance(t, dict)]
        return Turn(
            Stream(_events(str(body.get("model", "mock")), reply, tools)), turn=True, reply=reply
        )

    def user_texts(self, body: Any) -> list[str]:
        texts = []
        items = body.get("input", []) if isinstance(body, dict) else []
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict) or item.get("role") != "user":
                continue
            content = item.get("content")
            if isinstance(content, str):
                texts.append(content)
                continue
            parts = [
                c.get("text", "") for c in content or [] if isinstance(c, dict) and "text" in c
            ]
            if parts:
                texts.append("\n".join(parts))
        return texts


def _tool_name(tool: dict[str, Any]) -> str:
    return str(tool.get("name") or (tool.get("function") or {}).get("name") or "")


def _usage() -> dict[str, Any]:
    return {
        "input_tokens": 12,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 3,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 15,
    }


def _events(model: str, reply: Reply, tools: list[str]) -> Iterator[SseEvent]:
    response_id = new_id("resp")
    base = {"id": response_id, "object": "response", "model": model, "output": []}
    yield SseEvent(
        {"type": "response.created", "response": {**base, "status": "in_progress"}},
        "response.created",
    )
    tool = pick_tool(tools) if isinstance(reply, ToolCall) else None
    if isinstance(reply, ToolCall) and tool is not None:
        arguments = {"cmd": reply.command, **reply.arguments}
        item: dict[str, Any] = {
            "type": "function_call",
            "id": new_id("fc"),
            "call_id": new_id("call"),
            "name": tool,
            "arguments": json.dumps(arguments),
            "status": "completed",
        }
        yield SseEvent(
            {"type": "response.output_item.added", "output_index": 0, "item": item},
            "response.output_item.added",
        )
    else:
        text = reply.text if isinstance(reply, Text) else "ok"
        item_id = new_id("msg")
        item = {
            "type": "message",
            "id": item_id,
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }
        opening = {**item, "status": "in_progress", "content": []}
        yield SseEvent(
            {"type": "response.output_item.added", "output_index": 0, "item": opening},
            "response.output_item.added",
        )
        delay = reply.chunk_delay if isinstance(reply, Text) else 0.0
        for piece in chunks(text, reply.chunks if isinstance(reply, Text) else 1):
            yield SseEvent(
                {
                    "type": "response.output_text.delta",
                    "item_id": item_id,
                    "output_index": 0,
                    "content_index": 0,
                    "delta": piece,
                },
                "response.output_text.delta",
                delay,
            )
    yield SseEvent(
        {"type": "response.output_item.done", "output_index": 0, "item": item},
        "response.output_item.done",
    )
    done = {**base, "status": "completed", "output": [item], "usage": _usage()}
    yield SseEvent({"type": "response.completed", "response": done}, "response.completed")


FORMAT = Responses()

"""Anthropic Messages (`POST /v1/messages`, SSE), as Claude Code 2.1 calls it.

A turn is a request that offers tools: Claude's main loop always does (`Bash`, `Edit`, …),
and so does each retry of it. Its side requests offer none (`"tools": []`) and do not take a
scripted reply: the session title asks for JSON (`output_config.format` is a JSON schema
`{"title": string}`) and gets an object built from that schema; any other gets "ok".
`/v1/messages/count_tokens` answers a fixed count.

Measured on claude 2.1.197: a scripted `Error` is answered with the API's own error body
(`{"type": "error", "error": {"type": "overloaded_error", …}}`); Claude retries it (10
retries by default, `CLAUDE_CODE_MAX_RETRIES` changes that) and every retry is a new turn
that takes the next scripted reply, so script one `Error` per attempt.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from tests.mockmodel.common import chunks, new_id, pick_tool
from tests.mockmodel.replies import Error, Hang, Reply, Text, ToolCall
from tests.mockmodel.wire import Json, Request, Silence, SseEvent, Stream, Turn

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
TITLE = "Mock session"


class Anthropic:
    name = "anthropic"

    def owns(self, request: Request) -> bool:
        return request.path.startswith("/v1/messages")

    def answer(self, request: Request, take: Callable[[], Reply]) -> Turn:
        body: dict[str, Any] = request.body if isinstance(request.body, dict) else {}
        if request.path.endswith("/count_tokens"):
            return Turn(Json({"input_tokens": 12}), note="count_tokens")
        tools = [t.get("name", "") for t in body.get("tools") or [] if isinstance(t, dict)]
        if not tools:
            schema = _schema(body)
            if schema is not None:
                text = json.dumps(_fill(schema))
                return Turn(self._reply(body, Text(text), tools), note="title")
            return Turn(self._reply(body, Text("ok"), tools), note="side")
        reply = take()
        return Turn(self._reply(body, reply, tools), turn=True, reply=reply)

    def _reply(self, body: dict[str, Any], reply: Reply, tools: list[str]) -> Any:
        if isinstance(reply, Error):
            kind = ERROR_TYPES.get(reply.status, "api_error")
            return Json(
                {"type": "error", "error": {"type": kind, "message": reply.message}},
                reply.status,
            )
        if isinstance(reply, Hang):
            return Silence(reply.seconds)
        model = str(body.get("model", "claude-mock"))
        if not body.get("stream"):
            return Json(_message(model, reply, tools))
        return Stream(_events(model, reply, tools))

    def user_texts(self, body: Any) -> list[str]:
        """What the user wrote, per user message: text blocks only, without the
        `<system-reminder>` blocks Claude prepends to the first message (tool results, which
        are user messages without text, are left out)."""
        texts = []
        for message in (body or {}).get("messages", []) if isinstance(body, dict) else []:
            if not isinstance(message, dict) or message.get("role") != "user":
                continue
            content = message.get("content")
            if isinstance(content, str):
                texts.append(content)
                continue
            parts = [
                b.get("text", "")
                for b in content or []
                if isinstance(b, dict) and b.get("type") == "text" and not _reminder(b)
            ]
            if parts:
                texts.append("\n".join(parts))
        return texts


def _reminder(block: dict[str, Any]) -> bool:
    text = str(block.get("text", "")).strip()
    return text.startswith("<system-reminder>") and text.endswith("</system-reminder>")


def _schema(body: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema a side request asks its answer to match (structured output)."""
    config = body.get("output_config")
    fmt = config.get("format") if isinstance(config, dict) else None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = fmt.get("schema")
        return schema if isinstance(schema, dict) else {}
    return None


def _fill(schema: dict[str, Any]) -> Any:
    """A small value matching `schema` (objects, arrays, enums, strings, numbers, booleans)."""
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        return {
            key: (TITLE if key == "title" else _fill(sub if isinstance(sub, dict) else {}))
            for key, sub in props.items()
        }
    if kind == "array":
        return []
    if kind in ("integer", "number"):
        return 0
    if kind == "boolean":
        return False
    return "ok"


def _tool_use(reply: ToolCall, tools: list[str]) -> dict[str, Any] | None:
    # Claude's Bash tool: {"command": str (required), "description": str, "timeout": number,
    # "run_in_background": bool, "dangerouslyDisableSandbox": bool}, no other keys allowed.
    tool = pick_tool(tools)
    if tool is None:
        return None
    arguments = {"command": reply.command, "description": "mock tool call", **reply.arguments}
    return {"type": "tool_use", "id": new_id("toolu"), "name": tool, "input": arguments}


def _message(model: str, reply: Reply, tools: list[str]) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    stop = "end_turn"
    if isinstance(reply, ToolCall) and (use := _tool_use(reply, tools)) is not None:
        content.append(use)
        stop = "tool_use"
    else:
        content.append({"type": "text", "text": reply.text if isinstance(reply, Text) else "ok"})
    return {
        "id": new_id("msg"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 3},
    }


def _events(model: str, reply: Reply, tools: list[str]) -> Iterator[SseEvent]:
    start = _message(model, reply, tools)
    blocks = start.pop("content")
    stop = start["stop_reason"]
    start.update(content=[], stop_reason=None, usage={"input_tokens": 12, "output_tokens": 1})
    yield SseEvent({"type": "message_start", "message": start}, "message_start")
    for index, block in enumerate(blocks):
        if block["type"] == "text":
            opening = {"type": "text", "text": ""}
            deltas = [
                {"type": "text_delta", "text": piece}
                for piece in chunks(block["text"], reply.chunks if isinstance(reply, Text) else 1)
            ]
        else:
            opening = {**block, "input": {}}
            deltas = [{"type": "input_json_delta", "partial_json": json.dumps(block["input"])}]
        yield SseEvent(
            {"type": "content_block_start", "index": index, "content_block": opening},
            "content_block_start",
        )
        delay = reply.chunk_delay if isinstance(reply, Text) else 0.0
        for delta in deltas:
            yield SseEvent(
                {"type": "content_block_delta", "index": index, "delta": delta},
                "content_block_delta",
                delay,
            )
        yield SseEvent({"type": "content_block_stop", "index": index}, "content_block_stop")
    yield SseEvent(
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": {"output_tokens": 3},
        },
        "message_delta",
    )
    yield SseEvent({"type": "message_stop"}, "message_stop")


FORMAT = Anthropic()

"""OpenAI Responses (`POST /v1/responses`, SSE), as Codex calls it.

A turn is a request that offers tools. Codex 0.171 also sends, for the first message of a
thread, a title request: no tools, `text.format` a JSON schema (`codex_output_schema`,
`{"title": string}`) and `"thread_source":"thread_title"` in the `x-codex-turn-metadata`
of `client_metadata`. It is answered with a title (a JSON object in the output text) and
takes no scripted reply. Codex reads the stream until `response.completed`; a stream that
ends before it is an error on its side, so every reply ends with one.

A `ToolCall` calls `exec_command` with `sandbox_permissions: "require_escalated"` (and a
`justification`) when the tool's schema has that parameter: a sandboxed call runs without
asking, only an escalated one shows Codex's approval prompt.
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

ERROR_TYPES = {429: "rate_limit_exceeded", 500: "server_error", 503: "server_error"}


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
        model = str(body.get("model", "mock"))
        tools = [t for t in body.get("tools") or [] if isinstance(t, dict)]
        side = _side_kind(body, tools)
        if side:
            return Turn(Stream(_events(model, Text(_side_text(body, side)), [])), note=side)
        reply = take()
        if isinstance(reply, Error):
            kind = ERROR_TYPES.get(reply.status, "mock_error")
            error = {"error": {"type": kind, "code": kind, "message": reply.message}}
            return Turn(Json(error, reply.status), turn=True, reply=reply)
        if isinstance(reply, Hang):
            return Turn(Silence(reply.seconds), turn=True, reply=reply)
        return Turn(Stream(_events(model, reply, tools)), turn=True, reply=reply)

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


def _metadata(body: dict[str, Any]) -> dict[str, Any]:
    """Codex's `x-codex-turn-metadata` (a JSON string inside `client_metadata`)."""
    raw = (body.get("client_metadata") or {}).get("x-codex-turn-metadata")
    try:
        data = json.loads(raw) if isinstance(raw, str) else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _side_kind(body: dict[str, Any], tools: list[dict[str, Any]]) -> str:
    """ "title" (or another side request's name) for a request that is not a turn, else ""."""
    source = str(_metadata(body).get("thread_source", ""))
    schema = ((body.get("text") or {}).get("format") or {}).get("type") == "json_schema"
    if source == "thread_title":
        return "title"
    if schema or not tools:
        return source or "side"
    return ""


def _side_text(body: dict[str, Any], side: str) -> str:
    """A side request's answer: an object matching its JSON schema when it gives one."""
    fmt = (body.get("text") or {}).get("format") or {}
    props = ((fmt.get("schema") or {}).get("properties") or {}) if isinstance(fmt, dict) else {}
    if side == "title" or "title" in props:
        return json.dumps({"title": _title(body)})
    if props:
        return json.dumps({key: "ok" for key in props})
    return "ok"


def _title(body: dict[str, Any]) -> str:
    """`Mock: <first words of the user prompt>` (at most 36 characters, as asked)."""
    texts = Responses().user_texts(body)
    prompt = texts[-1].rpartition("User prompt:")[2] if texts else ""
    words = prompt.split()[:4]
    return ("Mock: " + " ".join(words)).strip()[:36] or "Mock title"


def _usage() -> dict[str, Any]:
    return {
        "input_tokens": 12,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 3,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 15,
    }


def _arguments(reply: ToolCall, tool: dict[str, Any]) -> dict[str, Any]:
    """The call's arguments, named as the tool's own schema names them."""
    props = (tool.get("parameters") or {}).get("properties") or {}
    arguments: dict[str, Any] = {}
    if "cmd" in props or not props:
        arguments["cmd"] = reply.command
    elif (props.get("command") or {}).get("type") == "array":
        arguments["command"] = ["bash", "-lc", reply.command]
    else:
        arguments["command"] = reply.command
    if "require_escalated" in ((props.get("sandbox_permissions") or {}).get("enum") or []):
        arguments["sandbox_permissions"] = "require_escalated"
        if "justification" in props:
            arguments["justification"] = "mock tool call"
    return {**arguments, **reply.arguments}


def _events(model: str, reply: Reply, tools: list[dict[str, Any]]) -> Iterator[SseEvent]:
    response_id = new_id("resp")
    base = {"id": response_id, "object": "response", "model": model, "output": []}
    yield SseEvent(
        {"type": "response.created", "response": {**base, "status": "in_progress"}},
        "response.created",
    )
    by_name = {str(t.get("name") or ""): t for t in tools}
    tool = pick_tool(by_name) if isinstance(reply, ToolCall) else None
    if isinstance(reply, ToolCall) and tool is not None:
        item: dict[str, Any] = {
            "type": "function_call",
            "id": new_id("fc"),
            "call_id": new_id("call"),
            "name": tool,
            "arguments": json.dumps(_arguments(reply, by_name[tool])),
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

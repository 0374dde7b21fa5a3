"""Gemini (`/v1beta/models/<m>:streamGenerateContent?alt=sse`, `:generateContent`,
`:countTokens`), as the Gemini CLI calls it.

A turn is a streamed request that offers tools. The CLI also asks side questions with a
JSON schema (which model to route to, who speaks next); those get an object built from the
schema (an enum takes "user" when it may, so the next-speaker check hands back to the
person) and never take a scripted reply.

Measured with gemini-cli 0.61.0: the router answer (`complexity_score` 1) sends turns to
`gemini-3.8-flash`; a 400 is shown at once; a 429 or 5xx is retried silently (10 attempts,
5 s doubling to 30 s, then again), so a test scripts as many `Error`s as retries it wants;
a 429 whose message says `limit: 0` is terminal (a "Usage limit reached" dialog). After a
content loop the CLI sends one more turn (a "Potential loop detected" nudge), which takes
the next scripted reply.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from tests.mockmodel.common import chunks, pick_tool
from tests.mockmodel.replies import Error, Hang, Reply, Text, ToolCall
from tests.mockmodel.wire import Json, Request, Silence, SseEvent, Stream, Turn

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    529: "UNAVAILABLE",
}


class Gemini:
    name = "gemini"

    def owns(self, request: Request) -> bool:
        return (
            request.path.startswith(("/v1beta/", "/v1/models/"))
            and (":" in request.path or request.method == "GET")
        ) or request.path.rstrip("/") == "/v1beta/models"

    def answer(self, request: Request, take: Callable[[], Reply]) -> Turn:
        body: dict[str, Any] = request.body if isinstance(request.body, dict) else {}
        model = request.path.rsplit("/", 1)[-1].split(":", 1)[0]
        if request.method == "GET":
            return Turn(Json({"models": [{"name": "models/gemini-2.5-pro"}]}), note="models")
        if request.path.endswith(":countTokens"):
            return Turn(Json({"totalTokens": 12}), note="countTokens")
        schema = _schema(body)
        if schema is not None:
            text = json.dumps(_fill(schema))
            return Turn(self._respond(request, model, Text(text), []), note="schema")
        tools = [
            str(decl.get("name", ""))
            for tool in body.get("tools") or []
            if isinstance(tool, dict)
            for decl in tool.get("functionDeclarations") or []
            if isinstance(decl, dict)
        ]
        if not tools:
            return Turn(self._respond(request, model, Text("ok"), []), note="side")
        reply = take()
        return Turn(self._respond(request, model, reply, tools), turn=True, reply=reply)

    def _respond(self, request: Request, model: str, reply: Reply, tools: list[str]) -> Any:
        if isinstance(reply, Error):
            status = STATUS_NAMES.get(reply.status, "INTERNAL")
            return Json(
                {"error": {"code": reply.status, "message": reply.message, "status": status}},
                reply.status,
            )
        if isinstance(reply, Hang):
            return Silence(reply.seconds)
        if ":streamGenerateContent" in request.path:
            return Stream(_events(model, reply, tools))
        return Json(_candidate(model, _parts(reply, tools), "STOP"))

    def user_texts(self, body: Any) -> list[str]:
        texts = []
        for content in body.get("contents", []) if isinstance(body, dict) else []:
            if not isinstance(content, dict) or content.get("role") != "user":
                continue
            parts = [
                p["text"] for p in content.get("parts") or [] if isinstance(p, dict) and "text" in p
            ]
            if parts:
                texts.append("\n".join(parts))
        return texts


def _schema(body: dict[str, Any]) -> dict[str, Any] | None:
    config = body.get("generationConfig") or {}
    if config.get("responseMimeType") != "application/json":
        return None
    schema = config.get("responseJsonSchema") or config.get("responseSchema") or {}
    return schema if isinstance(schema, dict) else {}


def _fill(schema: dict[str, Any]) -> Any:
    """A value that matches `schema` (enough of JSON Schema for the CLI's side questions)."""
    if "enum" in schema:
        values = list(schema["enum"])
        return "user" if "user" in values else values[0]
    kind = str(schema.get("type", "object")).lower()
    if kind == "object":
        props = schema.get("properties") or {}
        return {name: _fill(sub) for name, sub in props.items() if isinstance(sub, dict)}
    if kind == "array":
        return []
    if kind in ("integer", "number"):
        # The router's `complexity_score` is validated as 1..100 although its schema says
        # no minimum; 0 makes the CLI log a ZodError.
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    return "mock"


def _parts(reply: Reply, tools: list[str]) -> list[dict[str, Any]]:
    tool = pick_tool(tools) if isinstance(reply, ToolCall) else None
    if isinstance(reply, ToolCall) and tool is not None:
        # run_shell_command's schema: `command` (required), `description`, `dir_path`,
        # `is_background`, `delay_ms`.
        args = {"command": reply.command, "description": "mock tool call", **reply.arguments}
        return [{"functionCall": {"name": tool, "args": args}}]
    return [{"text": reply.text if isinstance(reply, Text) else "ok"}]


def _candidate(model: str, parts: list[dict[str, Any]], finish: str | None) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return {
        "candidates": [candidate],
        "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 3, "totalTokenCount": 15},
        "modelVersion": model,
    }


def _events(model: str, reply: Reply, tools: list[str]) -> Iterator[SseEvent]:
    parts = _parts(reply, tools)
    if "text" not in parts[0]:
        yield SseEvent(_candidate(model, parts, "STOP"))
        return
    pieces = chunks(parts[0]["text"], reply.chunks if isinstance(reply, Text) else 1)
    delay = reply.chunk_delay if isinstance(reply, Text) else 0.0
    for number, piece in enumerate(pieces, 1):
        last = number == len(pieces)
        yield SseEvent(_candidate(model, [{"text": piece}], "STOP" if last else None), None, delay)


FORMAT = Gemini()

"""The mock model server: one HTTP server on 127.0.0.1, a reply script, a request log.

Started per test session (`tests/realcli/conftest.py`) or as a process
(`python -m tests.mockmodel --port N`) for the benchmarks and the screen-capture script;
a test scripts the next replies either in process (`MockModel.script`) or over HTTP
(`POST /_mock/script`, `GET /_mock/log`, `POST /_mock/reset`). Every request is logged
with its parsed body, so a test can assert what reached the model and how many times.

It binds to 127.0.0.1 only and answers nothing it does not know with a 404 that names the
path (a CLI that calls a new endpoint shows up in the log instead of hanging).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass, is_dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.mockmodel import anthropic, chat, gemini, responses
from tests.mockmodel.replies import Error, Hang, Reply, Text, ToolCall
from tests.mockmodel.wire import Json, Request, Silence, Stream, Turn, WireFormat

FORMATS: tuple[WireFormat, ...] = (
    anthropic.FORMAT,
    responses.FORMAT,
    chat.FORMAT,
    gemini.FORMAT,
)


@dataclass(frozen=True)
class Logged:
    """One request as the mock saw it."""

    at: float
    format: str  # the wire format's name, or "unknown"
    method: str
    path: str
    body: Any
    turn: bool
    reply: Reply | None
    note: str
    status: int

    def user_texts(self) -> list[str]:
        """Every user text of this request's conversation (empty for a non-turn)."""
        for fmt in FORMATS:
            if fmt.name == self.format:
                return fmt.user_texts(self.body)
        return []


class MockModel:
    """The server, its script of replies and its log; thread-safe."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the mock model server binds to loopback only")
        self._lock = threading.Lock()
        self._script: deque[Reply] = deque()
        self._log: list[Logged] = []
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- lifecycle -------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MockModel:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> MockModel:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # --- script and log --------------------------------------------------------------

    def script(self, *replies: Reply) -> None:
        """Queue replies for the next conversation turns, in order."""
        with self._lock:
            self._script.extend(replies)

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self._log.clear()

    def take(self) -> Reply:
        with self._lock:
            return self._script.popleft() if self._script else Text("ok")

    def log(self) -> list[Logged]:
        with self._lock:
            return list(self._log)

    def turns(self, fmt: str | None = None) -> list[Logged]:
        """The conversation turns received, oldest first (optionally of one format)."""
        return [r for r in self.log() if r.turn and (fmt is None or r.format == fmt)]

    def count_turns_with(self, text: str) -> int:
        """How many turns carried `text` as the newest user text: a message reached the model
        that many times."""
        return sum(1 for r in self.turns() if (r.user_texts() or [""])[-1].find(text) >= 0)

    def _record(self, entry: Logged) -> None:
        with self._lock:
            self._log.append(entry)

    # --- dispatch --------------------------------------------------------------------

    def answer(self, request: Request) -> tuple[str, Turn]:
        for fmt in FORMATS:
            if fmt.owns(request):
                return fmt.name, fmt.answer(request, self.take)
        return "unknown", Turn(Json({"error": f"mock: no route for {request.path}"}, 404))


def _reply_dict(reply: Reply | None) -> dict[str, Any] | None:
    if reply is None or not is_dataclass(reply):
        return None
    return {"kind": type(reply).__name__, **asdict(reply)}


def reply_from_dict(data: dict[str, Any]) -> Reply:
    """A reply from its JSON form (`{"kind": "Text", "text": "hi"}`), for `/_mock/script`."""
    kinds: dict[str, type[Any]] = {"Text": Text, "ToolCall": ToolCall, "Error": Error, "Hang": Hang}
    fields = {k: v for k, v in data.items() if k != "kind"}
    reply: Reply = kinds[data["kind"]](**fields)
    return reply


def _handler_for(mock: MockModel) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib's name)
            """Quiet: the mock's own log is the record."""

        def _body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if not raw:
                return None
            try:
                return json.loads(raw)
            except ValueError:
                return raw.decode("utf-8", errors="replace")

        def _control(self, path: str, body: Any) -> bool:
            if path == "/_mock/script" and self.command == "POST":
                mock.script(*(reply_from_dict(item) for item in body or []))
                self._send_json(Json({"queued": len(body or [])}))
            elif path == "/_mock/reset" and self.command == "POST":
                mock.reset()
                self._send_json(Json({}))
            elif path == "/_mock/log" and self.command == "GET":
                entries = [
                    {
                        "at": e.at,
                        "format": e.format,
                        "path": e.path,
                        "turn": e.turn,
                        "note": e.note,
                        "status": e.status,
                        "reply": _reply_dict(e.reply),
                        "userTexts": e.user_texts(),
                    }
                    for e in mock.log()
                ]
                self._send_json(Json(entries))
            else:
                return False
            return True

        def _serve(self) -> None:
            path, _, query = self.path.partition("?")
            body = self._body()
            if path.startswith("/_mock/") and self._control(path, body):
                return
            request = Request(method=self.command, path=path, query=query, body=body)
            name, turn = mock.answer(request)
            status = turn.response.status if not isinstance(turn.response, Silence) else 0
            mock._record(
                Logged(
                    at=time.time(),
                    format=name,
                    method=self.command,
                    path=path,
                    body=body,
                    turn=turn.turn,
                    reply=turn.reply,
                    note=turn.note,
                    status=status,
                )
            )
            response = turn.response
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                if isinstance(response, Json):
                    self._send_json(response)
                elif isinstance(response, Stream):
                    self._send_stream(response.status, response.events)
                else:
                    time.sleep(response.seconds)

        def _send_json(self, response: Json) -> None:
            data = json.dumps(response.body).encode()
            self.send_response(response.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _send_stream(self, status: int, events: Iterable[Any]) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            for event in events:
                if event.delay:
                    time.sleep(event.delay)
                self.wfile.write(event.encode())
                self.wfile.flush()
            self.close_connection = True

        do_GET = _serve
        do_POST = _serve
        do_PUT = _serve
        do_DELETE = _serve

    return Handler

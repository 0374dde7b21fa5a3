"""What the fake agent reads in a message and how it answers: header, directives, reports.

Role in the loop: the messages controller pastes ``[team-agent] msg-N from X task=T`` and
a body into an agent's pane; a real worker does the task and reports with
``team-agent report``. The fake does the same mechanically, so delivery, results reaching
the leader, busy agents and approval prompts run end to end with no AI CLI:

* the reply to a multi-line message is one line that proves what arrived
  (``fake: <first line> (+N lines, M bytes, sha256 H)``): a test compares it with what it
  sent, so a message cut short or mixed with another shows;
* directives, each on a line of its own in the message: ``[sleep:S]`` (be busy S seconds),
  ``[tool:NAME]`` (ask for approval of tool NAME), ``[no-report]`` (do not report);
* a message with a header that names a task is reported as done, through the real
  ``report`` verb (``python -m reconciler report -``, the envelope on stdin).

``TEAM_AGENT_FAKE_REPORT_CMD`` (a JSON list) replaces that command, for tests that check
the envelope without a workspace. Standard library only, like the rest of the fake.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from reconciler.launcher.interpreter import module_argv

ENV_REPORT_CMD = "TEAM_AGENT_FAKE_REPORT_CMD"
REPORT_TIMEOUT = 30.0  # seconds: a report that takes longer is killed and counted as failed
HEADER_RE = re.compile(
    r"^\[team-agent\] (?P<id>msg-\d+) from (?P<from>\S+)(?: task=(?P<task>\S+))?$"
)
_SLEEP_RE = re.compile(r"^\[sleep:(?P<seconds>\d+(?:\.\d+)?)\]$")
_TOOL_RE = re.compile(r"^\[tool:(?P<name>[A-Za-z0-9_.:-]+)\]$")
_NO_REPORT = "[no-report]"
_REASON_MAX = 200  # characters of a failed report's stderr shown on screen


@dataclass(frozen=True)
class Directive:
    """One thing the fake does before it replies: sleep S seconds or ask about a tool."""

    kind: Literal["sleep", "tool"]
    seconds: float = 0.0
    tool: str = ""


@dataclass(frozen=True)
class Incoming:
    """A submitted message as the fake understands it.

    ``body`` is the text after the header line when there is a header, the whole text
    otherwise; directives are looked for in it.
    """

    text: str
    message_id: str | None
    sender: str | None
    task: str | None
    body: str
    directives: tuple[Directive, ...]
    no_report: bool


def parse_message(text: str) -> Incoming:
    """Read the header (first line) and the directives (lines of the body) of ``text``."""
    first, _, rest = text.partition("\n")
    header = HEADER_RE.match(first)
    body = rest if header else text
    directives: list[Directive] = []
    no_report = False
    for raw in body.split("\n"):
        line = raw.strip()
        if line == _NO_REPORT:
            no_report = True
        elif sleep := _SLEEP_RE.match(line):
            directives.append(Directive("sleep", seconds=float(sleep["seconds"])))
        elif tool := _TOOL_RE.match(line):
            directives.append(Directive("tool", tool=tool["name"]))
    return Incoming(
        text=text,
        message_id=header["id"] if header else None,
        sender=header["from"] if header else None,
        task=header["task"] if header else None,
        body=body,
        directives=tuple(directives),
        no_report=no_report,
    )


def fingerprint(text: str) -> tuple[int, int, str]:
    """Lines (newlines + 1; 0 for ""), utf-8 bytes and the first 12 hex digits of sha256."""
    data = text.encode("utf-8")
    lines = text.count("\n") + 1 if text else 0
    return lines, len(data), hashlib.sha256(data).hexdigest()[:12]


def reply_line(text: str) -> str:
    """``fake: <text>`` for one line; for more, the first line and a fingerprint of all."""
    if "\n" not in text:
        return f"fake: {text}"
    lines, size, digest = fingerprint(text)
    first = text.partition("\n")[0]
    return f"fake: {first} (+{lines - 1} lines, {size} bytes, sha256 {digest})"


def result_envelope(message: Incoming, agent_id: str) -> dict[str, object]:
    """The result envelope (v1) the fake reports for a task message: always ``done``."""
    lines, size, digest = fingerprint(message.body)
    summary = f"fake handled {message.message_id}: {lines} lines, {size} bytes, sha256 {digest}"
    return {
        "version": 1,
        "task_id": message.task,
        "agent_id": agent_id,
        "status": "done",
        "summary": summary,
    }


def report_command() -> list[str]:
    """The command that stores a report; ``$TEAM_AGENT_FAKE_REPORT_CMD`` replaces it in tests.

    Raises ValueError when that variable is not a JSON list of strings.
    """
    configured = os.environ.get(ENV_REPORT_CMD)
    if not configured:
        # Not `-m`: the fake agent runs in the workspace, which may hold its own `reconciler/`.
        return module_argv(sys.executable, "reconciler", "report", "-")
    try:
        argv = json.loads(configured)
    except ValueError:
        argv = None
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        raise ValueError(f"{ENV_REPORT_CMD} is not a JSON list of strings")
    return argv


def send_report(
    envelope: dict[str, object], *, command: Sequence[str], timeout: float = REPORT_TIMEOUT
) -> str | None:
    """Run ``command`` with the envelope as JSON on stdin; None on success, else why not.

    Never raises for the command's own failure: a report that fails is shown on screen
    and the fake carries on, as a worker whose ``team-agent report`` failed would.
    """
    payload = json.dumps(envelope, ensure_ascii=False).encode("utf-8")
    try:
        done = subprocess.run(
            list(command),
            input=payload,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"no answer within {timeout:g}s"
    except OSError as exc:
        return f"cannot run {command[0]}: {exc.strerror or exc}"
    if done.returncode == 0:
        return None
    said = (done.stderr or done.stdout).decode("utf-8", "replace").strip().splitlines()
    last = said[-1].strip()[:_REASON_MAX] if said else "no message"
    return f"exit {done.returncode}: {last}"


def report_task(message: Incoming, *, agent_id: str | None) -> str:
    """Report ``message``'s task as done; the line to show: ``reported T`` or why it failed."""
    if not agent_id:
        return "report failed: TEAM_AGENT_ID is not set"
    try:
        command = report_command()
    except ValueError as exc:
        return f"report failed: {exc}"
    failure = send_report(result_envelope(message, agent_id), command=command)
    return f"reported {message.task}" if failure is None else f"report failed: {failure}"

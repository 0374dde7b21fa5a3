"""The result envelope v1: what a worker hands back when it finishes (or gives up on) work.

A worker reports with `team-agent report`; the store keeps the envelope as JSON and, when
`communication.leader_receives_results` holds, turns it into one message to the leader
whose body is `render_result(...)`. The envelope is the machine contract (`results -o
json` returns it as is, `schemas/result-envelope.schema.json` describes it); the rendered
text is for the leader to read, so it is short and bounded however long the envelope is:
a leader's context window is the scarce resource, and the full envelope stays one
`team-agent results --task T -o json` away.

Identifiers are restricted because they travel in the header line pasted into panes
(`[team-agent] msg-7 from impl task=T1`), which agents parse by whitespace. Rendered text
drops control characters: a summary carrying `ESC[201~` must not end the leader's
bracketed paste early and type the rest as keystrokes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Final, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from reconciler.api.spec import AGENT_ID_PATTERN, ResultFormat

ENVELOPE_VERSION: Final = 1
TASK_ID_PATTERN: Final = r"^[^\s\x00-\x1f\x7f]{1,100}$"  # one printable word: it ends a header
MAX_SUMMARY_CHARS: Final = 2000
MAX_ENTRIES: Final = 500  # per list
MAX_ENTRY_CHARS: Final = 2000
# The rendered result: at most this many lines of at most this many characters.
MAX_RENDERED_LINES: Final = 12
MAX_LINE_CHARS: Final = 200
_SUMMARY_LINES: Final = 5  # of the 12: header, summary, one line per list, a "more" line

ResultStatus = Literal["done", "partial", "failed", "blocked"]

_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f]")


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


Entry = Annotated[str, Field(min_length=1, max_length=MAX_ENTRY_CHARS)]
Entries = Annotated[list[Entry], Field(max_length=MAX_ENTRIES)]


class ResultEnvelope(BaseModel):
    """One result: which task, who, how it went, and what a reader needs to follow up."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = Field(default=ENVELOPE_VERSION, description="Envelope format version.")
    task_id: str | None = Field(
        default=None,
        pattern=TASK_ID_PATTERN,
        description="The task this result answers (the `task=` of the message), if any.",
    )
    agent_id: str = Field(
        pattern=AGENT_ID_PATTERN, description="The reporting agent (`$TEAM_AGENT_ID`)."
    )
    status: ResultStatus = Field(description="How the task ended.")
    summary: Annotated[str, AfterValidator(_not_blank)] = Field(
        min_length=1, max_length=MAX_SUMMARY_CHARS, description="What was done, for people."
    )
    changes: Entries = Field(default=[], description="Files or changes made.")
    tests: Entries = Field(default=[], description="Tests run and their outcome, one per entry.")
    risks: Entries = Field(default=[], description="What might break or needs a second look.")
    artifacts: Entries = Field(default=[], description="Paths or URLs of what was produced.")
    next_actions: Entries = Field(default=[], description="What should happen next.")


def render_result(env: ResultEnvelope, fmt: ResultFormat) -> str:
    """The short text the leader receives for `env`: at most 12 lines of 200 characters.

    `envelope-v1` keeps the envelope's shape (a `[result]` header, then one labelled line
    per non-empty list); `text` reads as a sentence or two. Both end with where to find
    the rest when something had to be cut.
    """
    task = env.task_id or "-"
    summary = [line for line in (_clean(s) for s in env.summary.splitlines()) if line.strip()]
    summary = summary or ["(no printable summary)"]
    lists = (
        ("changes", env.changes),
        ("tests", env.tests),
        ("risks", env.risks),
        ("artifacts", env.artifacts),
        ("next", env.next_actions),
    )
    lines: list[str] = []
    cut = len(summary) > _SUMMARY_LINES
    if fmt == "envelope-v1":
        lines.append(f"[result] {task} from {env.agent_id}: {env.status} - {summary[0]}")
        lines.extend(summary[1:_SUMMARY_LINES])
        lines.extend(f"{label}: {_joined(items)}" for label, items in lists if items)
    else:
        lines.append(f"{env.agent_id} reports task {task} {env.status}: {summary[0]}")
        lines.extend(summary[1:_SUMMARY_LINES])
        parts = [f"{label.capitalize()}: {_joined(items)}." for label, items in lists if items]
        if parts:
            lines.append(" ".join(parts))
    bounded = [_clip(line) for line in lines]
    cut = cut or bounded != lines
    if cut:
        where = f" --task {env.task_id}" if env.task_id else f" --agent {env.agent_id}"
        bounded = bounded[: MAX_RENDERED_LINES - 1]
        bounded.append(f"(shortened; full result: team-agent results{where} -o json)")
    return "\n".join(bounded)


def _clean(text: str) -> str:
    return _CONTROL.sub("", text.replace("\t", " ")).rstrip()


def _joined(items: Sequence[str]) -> str:
    shown = [_clean(item).replace("\n", " ") for item in items[:10]]
    more = f" (+{len(items) - 10} more)" if len(items) > 10 else ""
    return ", ".join(shown) + more


def _clip(line: str) -> str:
    return line if len(line) <= MAX_LINE_CHARS else line[: MAX_LINE_CHARS - 1] + "…"

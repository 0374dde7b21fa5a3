"""Helpers the wire formats share: ids, text chunks, picking the shell tool."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

_ids = itertools.count(1)

SHELL_TOOL_NAMES = ("Bash", "bash", "run_shell_command", "exec_command", "shell", "powershell")


def new_id(prefix: str) -> str:
    return f"{prefix}_mock{next(_ids):06d}"


def chunks(text: str, count: int) -> list[str]:
    """`text` cut into `count` pieces (at least one; never an empty piece)."""
    count = max(1, min(count, len(text) or 1))
    size = -(-len(text) // count) if text else 0
    return [text[i : i + size] for i in range(0, len(text), size)] if text else [""]


def pick_tool(names: Iterable[str]) -> str | None:
    """The request's shell tool: the first of `SHELL_TOOL_NAMES` it offers, else any tool
    whose name says shell or bash; None when it offers none."""
    offered = list(names)
    for name in SHELL_TOOL_NAMES:
        if name in offered:
            return name
    for name in offered:
        if "shell" in name.lower() or "bash" in name.lower():
            return name
    return None

"""Each closed set of values is declared once (issue 15: one declaration per vocabulary).

A `Literal[...]` written out twice (the spec's `restart_policy` and the backoff's policy
were) drifts the day one copy gains a value: mypy then accepts in one place what the other
rejects. This scans the source for two `Literal`s of the same values; a one-value
`Literal` is a constant (`version: Literal[1]`), not a vocabulary, and may repeat. The
agents' typed status updates are held equal to the status model they update.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path
from typing import get_type_hints

import msgspec

from reconciler.api.status import AgentStatus, AgentStatusUpdate

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("reconciler", "controllers")


def _literal_values(node: ast.Subscript) -> tuple[str, ...] | None:
    name = node.value
    if not (
        (isinstance(name, ast.Name) and name.id == "Literal")
        or (isinstance(name, ast.Attribute) and name.attr == "Literal")
    ):
        return None
    items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    values = tuple(sorted(repr(i.value) for i in items if isinstance(i, ast.Constant)))
    return values if len(values) > 1 else None


def literal_sets(source: str, where: str) -> dict[tuple[str, ...], list[str]]:
    found: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript) and (values := _literal_values(node)) is not None:
            found[values].append(f"{where}:{node.lineno}")
    return found


def test_no_literal_vocabulary_is_declared_twice() -> None:
    everywhere: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            where = str(path.relative_to(ROOT))
            for values, places in literal_sets(path.read_text(encoding="utf-8"), where).items():
                everywhere[values].extend(places)
    twice = {values: places for values, places in everywhere.items() if len(places) > 1}
    assert twice == {}


def test_the_scan_sees_a_second_declaration() -> None:
    source = 'A = Literal["x", "y"]\nB = typing.Literal["y", "x"]\nC = Literal[1]\n'
    assert dict(literal_sets(source, "m.py")) == {("'x'", "'y'"): ["m.py:1", "m.py:2"]}


def test_agent_status_update_is_agent_status_field_for_field() -> None:
    """The typed updates the agents' status builder takes name exactly `AgentStatus`'s
    fields (all but the conditions it keeps itself), with the same types."""
    hints = get_type_hints(AgentStatus)
    model = {field.name: hints[field.name] for field in msgspec.structs.fields(AgentStatus)}
    del model["conditions"]
    assert get_type_hints(AgentStatusUpdate) == model

"""The README's conditions tables say what `conditions.VOCABULARY` says, both ways.

People and monitors write rules against the documented types and reasons, so a reason the
code can write but the README omits (or one the README promises that nothing writes) is a
broken contract. Each reasons cell is read as "True: `A` (why), `B`; False: `C`": the
names outside parentheses after a status label are the reasons with that status; prose in
parentheses is free.
"""

from __future__ import annotations

import re
from pathlib import Path

from reconciler.api import conditions as C

ROOT = Path(__file__).resolve().parents[2]
ANY = "any"

Row = tuple[str, str, str, str | None]  # on, type, reason, status (None: no label before it)

_LABEL_OR_NAME = re.compile(r"\b(True|False|Unknown):|`([A-Z][A-Za-z0-9]*)`")
_TYPE = re.compile(r"^`([A-Z][A-Za-z0-9]*)`$")


def declared() -> set[Row]:
    return {
        (kind.on, kind.type or ANY, reason.name, reason.status)
        for kind in C.VOCABULARY
        for reason in kind.reasons
    }


def _outside_parentheses(text: str) -> str:
    kept: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        elif depth == 0:
            kept.append(char)
    return "".join(kept)


def _cell_rows(on: str, type_cell: str, reasons_cell: str) -> set[Row]:
    match = _TYPE.match(type_cell.strip())
    cond_type = match.group(1) if match else type_cell.strip()
    rows: set[Row] = set()
    status: str | None = None
    for found in _LABEL_OR_NAME.finditer(_outside_parentheses(reasons_cell)):
        if found.group(1):
            status = found.group(1)
        else:
            rows.add((on, cond_type, found.group(2), status))
    return rows


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _table_after(lines: list[str], start: int) -> list[list[str]]:
    """The body rows of the first table at or after line `start` (header and rule skipped)."""
    while not lines[start].startswith("|"):
        start += 1
    body: list[list[str]] = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        body.append(_cells(line))
    return body


def readme_rows() -> set[Row]:
    """README.md: one table, `| on | type | reasons |`."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    header = lines.index("| on | type | reasons |")
    rows: set[Row] = set()
    for on, type_cell, reasons in _table_after(lines, header):
        rows |= _cell_rows(on, type_cell, reasons)
    return rows


def monitoring_rows() -> set[Row]:
    """deploy/monitoring/README.md: a `### Team|Agent|Leader|Any ...` table each."""
    lines = (ROOT / "deploy/monitoring/README.md").read_text(encoding="utf-8").splitlines()
    first = lines.index("## Conditions and what to alert on")
    rows: set[Row] = set()
    for number in range(first, len(lines)):
        if lines[number].startswith("## ") and number > first:
            break
        if lines[number].startswith("### "):
            on = lines[number].removeprefix("### ").split()[0].lower()
            for type_cell, reasons, *_ in _table_after(lines, number):
                rows |= _cell_rows(on, type_cell, reasons)
    return rows


def test_readme_table_is_the_vocabulary() -> None:
    documented = readme_rows()
    assert documented - declared() == set(), "documented in README.md, not in VOCABULARY"
    assert declared() - documented == set(), "in VOCABULARY, missing from README.md"


def test_monitoring_tables_are_the_vocabulary() -> None:
    documented = monitoring_rows()
    assert documented - declared() == set(), "documented for monitors, not in VOCABULARY"
    assert declared() - documented == set(), "in VOCABULARY, missing from the monitoring README"


def test_every_name_is_in_the_table() -> None:
    """A type or reason constant outside `VOCABULARY` is a second, undocumented declaration."""
    statuses = {C.TRUE, C.FALSE, C.UNKNOWN}
    names = {
        value
        for name, value in vars(C).items()
        if name.isupper()
        and isinstance(value, str)
        and re.fullmatch(C.CAMEL_CASE_PATTERN, value)
        and value not in statuses
    }
    assert names - (C.CONDITION_TYPES | C.REASONS) == set()


def test_the_table_has_one_row_per_place_and_one_status_per_reason_meaning() -> None:
    places = [(kind.on, kind.type) for kind in C.VOCABULARY]
    assert len(places) == len(set(places))
    for kind in C.VOCABULARY:
        pairs = [(reason.name, reason.status) for reason in kind.reasons]
        assert len(pairs) == len(set(pairs)), kind.type
        assert all(reason.meaning for reason in kind.reasons), kind.type


def test_the_parser_reads_labels_names_and_skips_parentheses() -> None:
    cell = "True: `Bound` (see `LeaderBound`), `TakenOver`; False: `NotBound` (no `Foo`)"
    assert _cell_rows("leader", "`LeaderBound`", cell) == {
        ("leader", "LeaderBound", "Bound", "True"),
        ("leader", "LeaderBound", "TakenOver", "True"),
        ("leader", "LeaderBound", "NotBound", "False"),
    }
    assert _cell_rows("team", "`Ready`", "`Running`") == {("team", "Ready", "Running", None)}

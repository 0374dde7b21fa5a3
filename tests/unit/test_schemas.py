"""The committed JSON Schemas match the models they are generated from."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.specfile.schema_gen import SCHEMAS, render_schema, write_schemas

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"
REGENERATE = "run `python -m reconciler.specfile.schema_gen` and commit the result"


@pytest.mark.parametrize(("filename", "generate"), SCHEMAS, ids=[name for name, _ in SCHEMAS])
def test_committed_schema_is_current(filename: str, generate: Callable[[], dict[str, Any]]) -> None:
    path = SCHEMA_DIR / filename
    assert path.is_file(), f"{path} is missing: {REGENERATE}"
    committed = json.loads(path.read_text(encoding="utf-8"))
    assert committed == generate(), f"{path} is out of date with the models: {REGENERATE}"


def test_write_schemas_writes_every_entry_as_rendered(tmp_path: Path) -> None:
    written = write_schemas(tmp_path)
    assert [path.name for path in written] == [name for name, _ in SCHEMAS]
    for (_, generate), path in zip(SCHEMAS, written, strict=True):
        text = path.read_text(encoding="utf-8")
        assert text == render_schema(generate())
        assert text.endswith("}\n")

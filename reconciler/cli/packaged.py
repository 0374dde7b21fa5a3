"""Files shipped inside the package: the JSON Schemas and the example specs.

They live at the top of the repository (`schemas/`, `examples/`), where people and editors
look for them; `reconciler/data/` links to both, and `pyproject.toml` puts them in the wheel
as package data, so `init` and `demo` find them in every kind of install: a checkout, an
editable install, or a wheel installed by `pipx`, `uv tool` or `pip` (where no repository
exists to look in).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

DATA_DIR: Final = Path(__file__).resolve().parent.parent / "data"
TEAM_SCHEMA: Final = DATA_DIR / "schemas" / "team.schema.json"
EXAMPLES: Final = ("minimal", "full")
SCHEMA_LINE_PREFIX: Final = "# yaml-language-server: $schema="


def example_path(name: str) -> Path:
    """The shipped example spec `name` (one of EXAMPLES)."""
    if name not in EXAMPLES:
        raise ValueError(f"unknown example {name!r} (expected one of: {', '.join(EXAMPLES)})")
    return DATA_DIR / "examples" / f"{name}.team.spec.yaml"


def schema_line() -> str:
    """The editor hint that points yaml-language-server at the installed team schema.

    The examples carry `../schemas/…`, right only inside the repository; a spec written
    elsewhere gets the schema's absolute location in this install instead.
    """
    return f"{SCHEMA_LINE_PREFIX}{TEAM_SCHEMA.resolve().as_uri()}"


def with_schema_line(text: str) -> str:
    """`text` with its first line's schema hint replaced (or one added) by `schema_line()`."""
    lines = text.splitlines(keepends=True)
    if lines and lines[0].startswith(SCHEMA_LINE_PREFIX):
        lines = lines[1:]
    return schema_line() + "\n" + "".join(lines)

"""JSON Schemas generated from the models, committed under `schemas/`.

The models are the source of truth; the schema files exist for editors (YAML language
servers), CI and monitors that do not run Python. A unit test compares each committed
file with what this module generates, so they cannot drift. Regenerate with
`python -m reconciler.specfile.schema_gen [OUT_DIR]`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from reconciler.api.envelope import ResultEnvelope
from reconciler.api.spec import Spec
from reconciler.api.status import TeamStatus

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
DEFAULT_OUT_DIR = Path(__file__).resolve().parent.parent / "schemas"


def team_schema() -> dict[str, Any]:
    """The schema of `team.spec.yaml` (keys as written in YAML, e.g. `from`)."""
    schema = Spec.model_json_schema(by_alias=True)
    schema["$schema"] = JSON_SCHEMA_DIALECT
    schema["title"] = "team.spec.yaml"
    return schema


def status_schema() -> dict[str, Any]:
    """The schema of `.team/status.json`, for monitors that validate what they read.

    msgspec puts every struct under `$defs` and the document at a `$ref`; the top struct
    is lifted to the root so the file keeps its shape (the root is the TeamStatus object).
    """
    generated = msgspec.json.schema(TeamStatus)
    defs: dict[str, Any] = generated["$defs"]
    schema: dict[str, Any] = defs.pop("TeamStatus")
    schema["$defs"] = defs
    schema["$schema"] = JSON_SCHEMA_DIALECT
    schema["title"] = "status.json"
    return schema


def result_envelope_schema() -> dict[str, Any]:
    """The schema of a result envelope v1 (`team-agent report`, `results -o json`)."""
    schema = ResultEnvelope.model_json_schema(by_alias=True)
    schema["$schema"] = JSON_SCHEMA_DIALECT
    schema["title"] = "result envelope v1"
    return schema


# (file name under schemas/, generator).
SCHEMAS: tuple[tuple[str, Callable[[], dict[str, Any]]], ...] = (
    ("team.schema.json", team_schema),
    ("status.schema.json", status_schema),
    ("result-envelope.schema.json", result_envelope_schema),
)


def render_schema(schema: dict[str, Any]) -> str:
    """The exact text committed: stable key order, indented, trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_schemas(out_dir: Path) -> list[Path]:
    """Write every schema in `SCHEMAS` into `out_dir`; return the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for filename, generate in SCHEMAS:
        target = out_dir / filename
        target.write_text(render_schema(generate()), encoding="utf-8")
        written.append(target)
    return written


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT_DIR
    for written_path in write_schemas(out):
        print(written_path)

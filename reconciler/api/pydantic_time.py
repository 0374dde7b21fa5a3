"""The timestamp field type of the models that stay pydantic (events, leader records).

The status file's models are msgspec structs (`reconciler.api.status`), so the verbs that
only read the status never import pydantic; `reconciler.api.structs.Timestamp` is theirs.
This is the same contract for pydantic models: the written form, and a real date.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from reconciler.api.clock import TIMESTAMP_PATTERN, check_timestamp

Timestamp = Annotated[str, Field(pattern=TIMESTAMP_PATTERN), AfterValidator(check_timestamp)]
"""A pydantic field type for timestamps we write: `2026-11-25T09:00:00Z`, a real date."""

"""The base of the status file's models: msgspec structs that check what a schema cannot.

`status.json` is read by every `status`, `wait` and `approvals` an agent or a monitor runs,
often once a turn, so its models are `msgspec.Struct`s rather than pydantic models: decoding
the file with them costs a few milliseconds where importing pydantic and building its
schemas cost a quarter of a second (issue 16). The contract does not move: unknown keys are
refused (`forbid_unknown_fields`), constraints ride on the types (`msgspec.Meta`: patterns,
bounds, lengths), and decoding checks them all.

Two rules a type annotation cannot carry are checked here, in `__post_init__`, which
msgspec runs after every decode and every construction: a `Timestamp` is a real date and
time (the pattern lets 2026-02-30 through), and a `ConditionList` holds at most one
condition per type. The fields each rule applies to are found once per class, from the
annotations as written (`Timestamp`, `Timestamp | None`, `ConditionList`), so a field is
declared once; a unit test checks that the names found match the resolved types.

The structs are frozen: a status is built whole (`msgspec.structs.replace` makes the next
one), never patched field by field. Constraints are checked on decode, not on `__init__`;
so a status is re-validated before it is written (`TeamStatus.to_json`), and the agents'
status builder converts its fields through the type (`controllers.agents.status`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Protocol

import msgspec

from reconciler.api.clock import TIMESTAMP_PATTERN, check_timestamp

Timestamp = Annotated[str, msgspec.Meta(pattern=TIMESTAMP_PATTERN)]
"""A timestamp as we write it, `2026-11-25T09:00:00Z`: the pattern is checked on decode
and published in the schema, the date by `StatusStruct.__post_init__`."""

NonNegativeInt = Annotated[int, msgspec.Meta(ge=0)]
NonNegativeFloat = Annotated[float, msgspec.Meta(ge=0)]

# Annotations as written in the models (`from __future__ import annotations` keeps them as
# text), and the rule each one brings.
_TIMESTAMP_ANNOTATIONS = frozenset({"Timestamp", "Timestamp | None"})
_CONDITION_LIST_ANNOTATION = "ConditionList"


class _Typed(Protocol):
    @property
    def type(self) -> str: ...


def check_unique_types(items: Sequence[_Typed]) -> None:
    """Refuse a list in which two conditions share a type (ValueError naming it)."""
    seen: set[str] = set()
    for item in items:
        if item.type in seen:
            raise ValueError(f"condition type {item.type!r} appears more than once")
        seen.add(item.type)


class StatusStruct(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A frozen struct that refuses unknown keys and checks its timestamps and conditions.

    Subclasses pass `kw_only=True` (msgspec does not inherit it: fields with defaults may
    then precede required ones, keeping the declared JSON key order) and `frozen=True`
    (inherited at run time, but mypy's dataclass view wants it on each class).
    """

    _timestamp_fields: ClassVar[tuple[str, ...]] = ()
    _condition_list_fields: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        annotations: dict[str, object] = {}
        for klass in reversed(cls.__mro__):
            annotations.update(vars(klass).get("__annotations__", {}))
        cls._timestamp_fields = tuple(
            name for name, text in annotations.items() if text in _TIMESTAMP_ANNOTATIONS
        )
        cls._condition_list_fields = tuple(
            name for name, text in annotations.items() if text == _CONDITION_LIST_ANNOTATION
        )

    def __post_init__(self) -> None:
        for name in self._timestamp_fields:
            value = getattr(self, name)
            if value is not None:
                check_timestamp(value)
        for name in self._condition_list_fields:
            check_unique_types(getattr(self, name))

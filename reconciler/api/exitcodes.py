"""The exit codes every verb shares (DESIGN.md, CLI): part of the contract.

Kept apart from the engine, which defined them first, so that verbs that only read
(`status`, `wait`) can exit with them without importing the engine and its controllers.
"""

from __future__ import annotations

from typing import Final

EXIT_READY: Final = 0
EXIT_NOT_READY: Final = 1
EXIT_SPEC_INVALID: Final = 2
EXIT_LOCKED: Final = 3
EXIT_UNUSABLE: Final = 4

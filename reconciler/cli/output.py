"""Where a verb prints, with rich loaded only when a table is drawn.

JSON and YAML (what agents, CI and monitors ask for) go straight to stdout; rich costs
about 45 ms of imports at every start, which `status -o json` from an agent's turn must
not pay. `Output.print` builds the rich console on first use.
"""

from __future__ import annotations

import sys
from collections.abc import Collection
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

# Output that is not a terminal goes to a pipe, a file or `grep`: one row a line, never
# wrapped (rich would otherwise assume 80 columns, or $COLUMNS, and fold the tables).
PIPE_WIDTH = 100_000


class Output:
    """stdout for machine formats (`file`), rich for people (`print`, `console`)."""

    def __init__(self, file: IO[str] | None = None) -> None:
        self.file: IO[str] = file if file is not None else sys.stdout
        self._console: Console | None = None

    @property
    def console(self) -> Console:
        """Rich output: the terminal's width on a TTY, no wrapping otherwise."""
        if self._console is None:
            from rich.console import Console

            if self.file.isatty():
                self._console = Console(file=self.file, highlight=False)
            else:
                self._console = Console(
                    file=self.file, highlight=False, soft_wrap=True, width=PIPE_WIDTH
                )
        return self._console

    def print(self, *objects: Any, **options: Any) -> None:
        self.console.print(*objects, **options)


def table(*columns: str, wrap: Collection[str] = ("MESSAGE",)) -> Table:
    """A borderless table; only the `wrap` columns may fold."""
    from rich.table import Table

    drawn = Table(box=None, pad_edge=False)
    for column in columns:
        drawn.add_column(column, no_wrap=column not in wrap)
    return drawn


def cells(*values: str) -> list[Text]:
    """Plain cells: other programs' text (`[result]`) never read as rich markup."""
    from rich.text import Text

    return [Text(value) for value in values]

"""The wake file: how a CLI verb asks a running reconciler for a pass now.

`send` and `report` write intent into the message store and must not wait for the
periodic resync to see it delivered. They touch `<workspace>/.team/wake`; the run loop
watches that file and treats a change as "reconcile now", like any other trigger (the
pass re-reads everything; the file's content means nothing, only its mtime moves).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

WAKE_FILE: Final = "wake"
_FILE_MODE: Final = 0o600


def wake_path(state_dir: Path) -> Path:
    return state_dir / WAKE_FILE


def touch_wake(state_dir: Path) -> None:
    """Create `.team/wake` (0600) if missing and move its mtime to now.

    Raises `OSError`; a caller whose intent is already stored may ignore it: the next
    periodic pass picks the work up anyway.
    """
    path = wake_path(state_dir)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, _FILE_MODE))
    os.utime(path)

"""One reconcile pass that SIGKILLs itself at a named point of a message delivery.

Run by tests/e2e/test_messages.py as `python delivery_kill_child.py SPEC POINT` with POINT
one of `pasted` (the text is in the input box, Enter not recorded), `entering` (the store
says Enter, Enter not sent) or `entered` (Enter sent, not yet confirmed). SIGKILL: no
`finally`, no lock release, no store close runs, as when a machine loses power.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from reconciler.api.actions import Action
from reconciler.api.hooks import PassPoint
from reconciler.engine.engine import Engine


class KillAt:
    def __init__(self, point: str) -> None:
        self.point = point

    def reached(self, point: PassPoint, action: Action | None) -> None:
        if point == self.point:
            os.kill(os.getpid(), signal.SIGKILL)


def main(spec: str, point: str) -> int:
    path = Path(spec)
    engine = Engine(spec_path=path, workspace=path.parent.resolve(), hooks=KillAt(point))
    engine.reconcile()
    return 3  # the point was never reached


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:3]))

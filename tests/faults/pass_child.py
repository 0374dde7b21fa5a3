"""One reconcile pass in a child process that faults itself at a chosen point of the pass.

Usage: `python -m tests.faults.pass_child SPEC MODE INDEX`

It does what `team-agent reconcile --once` does (take the workspace lock, run one pass
of the real `Engine`) with a `PassHooks` (reconciler/api/hooks.py) that counts the points the
pass reaches: spec loaded, world observed, plan made, before and after each action, all
applied, status written. At point number INDEX (0-based) it faults:

* `sigkill`: SIGKILL to its own process, so no `finally`, no lock release, no flush runs,
  as when the OOM killer or a power cut ends the reconciler;
* `kill-server`: `tmux kill-server` on the team's server, then the pass goes on (the
  world vanishes under a pass that already planned against it).

Each point reached is printed as a line `POINT ACTION` on stdout, flushed before the
fault, so the test knows exactly where the fault landed. The exit code is the pass's
(0 Ready, 1 not Ready, 2 spec invalid, 4 state or tmux unusable); SIGKILL shows as -9.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from reconciler.api.actions import Action
from reconciler.api.errors import StateUnwritable
from reconciler.api.exitcodes import EXIT_UNUSABLE
from reconciler.api.hooks import PassPoint
from reconciler.engine.engine import Engine
from reconciler.observe.tmux import Tmux
from reconciler.specfile.load import load_spec
from reconciler.store.lock import WorkspaceLock
from reconciler.store.statusfile import ensure_state_dir

LOCK_TIMEOUT_SEC = 10.0


class FaultAt:
    """Counts pass points and faults at number `index`."""

    def __init__(self, mode: str, index: int, socket: str | None) -> None:
        self.mode = mode
        self.index = index
        self.socket = socket
        self.count = 0

    def reached(self, point: PassPoint, action: Action | None) -> None:
        line = f"{point} {action.render() if action is not None else '-'}"
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
        number, self.count = self.count, self.count + 1
        if number != self.index:
            return
        sys.stdout.write(f"FAULT {self.mode}\n")
        sys.stdout.flush()
        if self.mode == "sigkill":
            os.kill(os.getpid(), signal.SIGKILL)
        elif self.mode == "kill-server":
            Tmux(socket_name=self.socket).kill_server()
        else:
            raise SystemExit(f"unknown mode {self.mode!r}")


def main(argv: list[str]) -> int:
    spec_path, mode, index = Path(argv[0]).resolve(), argv[1], int(argv[2])
    loaded = load_spec(spec_path)
    socket = os.environ.get("TEAM_AGENT_TMUX_SOCKET") or loaded.spec.runtime.tmux_socket
    engine = Engine(
        spec_path=spec_path,
        workspace=loaded.workspace,
        tmux_socket=os.environ.get("TEAM_AGENT_TMUX_SOCKET"),
        hooks=FaultAt(mode, index, socket),
    )
    try:
        with WorkspaceLock(ensure_state_dir(loaded.workspace), timeout=LOCK_TIMEOUT_SEC):
            result = engine.reconcile()
    except StateUnwritable as err:
        print(f"team-agent: {err}", file=sys.stderr)
        return EXIT_UNUSABLE
    print("COMPLETED")
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

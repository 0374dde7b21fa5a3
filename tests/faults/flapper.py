"""An agent whose readiness flaps: its prompt comes and goes, and it exits now and then.

Usage: `python flapper.py SHOWN HIDDEN LIFETIME` (seconds). It prints `ready> ` for SHOWN
seconds, clears the screen for HIDDEN seconds, over and over, and exits 0 after LIFETIME
seconds, so a readiness pattern `^ready> ` is seen or not depending on when the pane is
captured, and every restart starts the readiness wait again. Standard library only: the
soak test (test_soak.py) runs it as a `shell` agent's command by file path.
"""

from __future__ import annotations

import sys
import time

CLEAR = "\x1b[H\x1b[2J"


def main(argv: list[str]) -> int:
    shown, hidden, lifetime = (float(a) for a in argv[:3])
    end = time.monotonic() + lifetime
    while time.monotonic() < end:
        sys.stdout.write(CLEAR + "ready> ")
        sys.stdout.flush()
        time.sleep(shown)
        sys.stdout.write(CLEAR + "busy...")
        sys.stdout.flush()
        time.sleep(hidden)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

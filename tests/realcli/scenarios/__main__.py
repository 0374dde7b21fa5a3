"""`python -m tests.realcli.scenarios [CLI ...]`: re-capture the screen fixtures.

Installs the pinned CLIs when needed, starts one mock model server, and runs each named
CLI's scenario (`tests/realcli/scenarios/<cli>.py`, all five by default), which saves its
screens under `tests/fixtures/screens/<cli>/<version>/`. `scripts/refresh-clis` calls this
after bumping the pins.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from tests.mockmodel.server import MockModel
from tests.realcli import install

ALL = ("claude", "codex", "gemini", "copilot", "opencode")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.realcli.scenarios")
    parser.add_argument("clis", nargs="*", default=list(ALL), metavar="CLI")
    args = parser.parse_args()
    install.ensure()
    failed = 0
    with MockModel() as mock:
        for cli in args.clis:
            module = importlib.import_module(f"tests.realcli.scenarios.{cli}")
            mock.reset()
            try:
                saved = module.capture(mock)
            except Exception as err:
                failed += 1
                print(f"capture: {cli}: FAILED: {err}", file=sys.stderr)
                continue
            print(f"capture: {cli}: {len(saved)} screens: {', '.join(saved)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

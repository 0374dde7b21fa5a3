"""`python -m tests.mockmodel [--port N]`: the mock model server as a process.

Prints `http://127.0.0.1:PORT` on its first line, then serves until killed. Scripted over
HTTP: `POST /_mock/script` with a JSON list of replies (`[{"kind": "Text", "text": "hi"}]`),
`GET /_mock/log`, `POST /_mock/reset`.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from tests.mockmodel.server import MockModel


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.mockmodel")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with MockModel(port=args.port) as mock:
        print(mock.url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    sys.exit(0)


if __name__ == "__main__":
    main()

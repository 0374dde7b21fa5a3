"""Running the fake agent as a process for its tests: over pipes, or over a pty like a pane.

Shared by tests/process/test_fake_agent.py (the program, its terminal, pastes) and
tests/process/test_fake_messages.py (replies, directives, reports). Every wait has a deadline:
a subprocess timeout or ``read_until``, never a blind sleep.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 5.0
COMMAND = [sys.executable, "-m", "reconciler.fakeagent.agent"]
BANNER_RE = re.compile(
    r"^fake-agent \S+ ready \(agent=(?P<agent>\S+), session=(?P<session>[0-9a-f-]{36})\)$",
    re.MULTILINE,
)


def clean_env(home: Path) -> dict[str, str]:
    """A clean environment: our own FAKE_AGENT_* and TEAM_AGENT_* only."""
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("FAKE_AGENT_", "TEAM_AGENT_"))
    }
    clean["FAKE_AGENT_HOME"] = str(home)
    clean["TEAM_AGENT_ID"] = "impl"
    return clean


def run_fake(
    env: dict[str, str], *args: str, stdin: str = "", timeout: float = DEADLINE
) -> subprocess.CompletedProcess[str]:
    """Run to completion; end of stdin ends the fake with 0 unless something exits earlier."""
    return subprocess.run(
        [*COMMAND, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=timeout,
        check=False,
    )


class Running:
    """A fake agent kept running, read with deadlines."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.proc = subprocess.Popen(
            [*COMMAND, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env=env,
        )
        self.out = b""
        self._seen = 0

    def read_until(self, marker: str) -> str:
        """Output since the last marker, up to and including this one; fails at the deadline."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        wanted = marker.encode()
        end = time.monotonic() + DEADLINE
        while (found := self.out.find(wanted, self._seen)) < 0:
            remaining = end - time.monotonic()
            assert remaining > 0, f"no {marker!r} in {self.out[self._seen :]!r}"
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, 65536)
                assert chunk, f"stdout closed before {marker!r}: {self.out[self._seen :]!r}"
                self.out += chunk
        start, self._seen = self._seen, found + len(wanted)
        return self.out[start : self._seen].decode()

    def send(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def close_stdin(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()

    def wait(self) -> int:
        return self.proc.wait(timeout=DEADLINE)

    def rest_of_stdout(self) -> bytes:
        """Whatever the process wrote after the last read, once it has exited."""
        assert self.proc.stdout is not None
        return self.out[self._seen :] + self.proc.stdout.read()

    def stop(self) -> None:
        """Kill it if it still runs (by its handle) and close its pipes."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=DEADLINE)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


class PtyFake:
    """A fake agent on a pseudo-terminal, as in a tmux pane: keys in, screen bytes out.

    Output is read while keys are written: a pty holds about 4 KB each way, so a long
    paste written without reading would block the fake on its echo and the test on it.
    """

    def __init__(self, env: dict[str, str], *args: str) -> None:
        master, slave = os.openpty()
        self.proc = subprocess.Popen(
            [*COMMAND, *args], stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, env=env
        )
        os.close(slave)
        os.set_blocking(master, False)
        self.master = master
        self.out = b""
        self._seen = 0
        self._eof = False

    def _read(self) -> None:
        try:
            chunk = os.read(self.master, 65536)
        except BlockingIOError:
            return
        except OSError:  # EIO: every slave side is closed, the fake has exited
            chunk = b""
        self._eof = not chunk
        self.out += chunk

    def type(self, keys: bytes, *, deadline: float = DEADLINE) -> None:
        """Write ``keys`` as a terminal would receive them, reading the echo meanwhile."""
        view = memoryview(keys)
        end = time.monotonic() + deadline
        while view:
            remaining = end - time.monotonic()
            assert remaining > 0, f"{len(view)} bytes not taken: {self.out[-200:]!r}"
            readable, writable, _ = select.select([self.master], [self.master], [], remaining)
            if readable:
                self._read()
            if writable:
                with contextlib.suppress(BlockingIOError):
                    view = view[os.write(self.master, view[:4096]) :]

    def read_until(self, marker: bytes, *, deadline: float = DEADLINE) -> bytes:
        """Screen bytes since the last marker, up to and including this one."""
        end = time.monotonic() + deadline
        while (found := self.out.find(marker, self._seen)) < 0:
            remaining = end - time.monotonic()
            assert remaining > 0 and not self._eof, f"no {marker!r} in {self.out[-300:]!r}"
            if select.select([self.master], [], [], remaining)[0]:
                self._read()
        start, self._seen = self._seen, found + len(marker)
        return self.out[start : self._seen]

    def finish(self) -> bytes:
        """Everything the fake wrote until it exited (read to the pty's end)."""
        end = time.monotonic() + DEADLINE
        while not self._eof and time.monotonic() < end:
            if select.select([self.master], [], [], 0.1)[0]:
                self._read()
            elif self.proc.poll() is not None:
                self._read()
                break
        return self.out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=DEADLINE)
        os.close(self.master)


class Stoppable(Protocol):
    def stop(self) -> None: ...


S = TypeVar("S", bound=Stoppable)


@contextlib.contextmanager
def stopping(factory: Callable[..., S]) -> Iterator[Callable[..., S]]:
    """A starter for fakes (`factory(*args)`) that stops every one it started on exit."""
    started: list[S] = []

    def start(*args: str) -> S:
        fake = factory(*args)
        started.append(fake)
        return fake

    try:
        yield start
    finally:
        for fake in started:
            fake.stop()


def transcripts(home: Path) -> list[Path]:
    folder = home / "sessions"
    return sorted(folder.iterdir()) if folder.exists() else []


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def user_texts(home: Path) -> list[str]:
    """The text of every ``user`` record of the one transcript under ``home``."""
    (path,) = transcripts(home)
    return [r["text"] for r in records(path) if r["type"] == "user"]


def session_of(stdout: str) -> str:
    match = BANNER_RE.search(stdout)
    assert match, stdout
    return match["session"]

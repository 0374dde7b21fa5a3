"""A stand-in agent CLI: the program behind ``provider: fake``.

Role in the loop: the reconciler starts ``python -m controllers.fake_agent`` in a tmux pane
wherever a spec says ``provider: fake``. The program copies what the reconciler watches
in a real CLI (Claude Code, Codex, ...). That way readiness, session capture, restarts,
crash-loop backoff and orphan handling can run in demos and tests with no AI CLI and no
network:

* a prompt, ``fake> ``, printed at the start of a line after every reply. This gives the
  readiness pattern ``^fake> ``;
* sessions kept the way real CLIs keep them: a uuid4 session id and a JSONL transcript
  ``<FAKE_AGENT_HOME or ~/.fake-agent>/sessions/<id>.jsonl``. As with Claude Code, the
  transcript does not exist until the first message, so session capture must allow for
  that gap. ``--session-id`` and ``--resume`` fail with Claude Code's messages and exit codes;
* misbehaviour on demand (crash on start, exit after a delay, slow start, surviving SIGHUP)
  to drive the restart, backoff and orphan paths;
* ``FAKE_AGENT_ARGV_LOG``: one JSON line per start, so tests can see how it was launched.

Input is handled one line at a time. A plain line is a message: it appends a ``user`` record,
is echoed as ``fake: <line>``, and appends an ``assistant`` record. Blank lines are skipped,
as real CLIs skip an empty submit. The slash commands ``/exit [N]``, ``/crash``, ``/sleep S``
and ``/id`` are local, like a CLI's own commands: they are never recorded, so they do not
create a transcript. Any other line that starts with ``/`` is a plain message.

On a terminal the program reads in non-canonical mode and echoes its own input, as real CLIs
do. In canonical mode the kernel cuts each line at 4095 bytes, so a long paste would lose
data. Only the standard library is used, so the fake runs on any Python 3.10+, inside the
project's venv or outside it.
"""

from __future__ import annotations

import argparse
import contextlib
import enum
import json
import os
import re
import select
import signal
import sys
import termios
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import FrameType
from typing import Any, Literal, TypedDict

VERSION = "0.3.0"
PROMPT = "fake> "
ENV_HOME = "FAKE_AGENT_HOME"
ENV_ARGV_LOG = "FAKE_AGENT_ARGV_LOG"
ENV_AGENT_ID = "TEAM_AGENT_ID"
EXIT_SIGINT = 130
EXIT_SIGTERM = 143
DOUBLE_INTERRUPT_WINDOW = 1.0  # seconds: a second Ctrl-C within this exits, as in Claude Code
_READ_SIZE = 65536
# Session ids become file names; this keeps "../x" and "a/b" out of the sessions folder.
_SESSION_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class SessionMeta(TypedDict):
    """First line of a new transcript, what session capture reads to match it to an agent."""

    type: Literal["session_meta"]
    sessionId: str
    cwd: str
    agentId: str | None
    timestamp: str
    argv: list[str]


class Message(TypedDict):
    """One conversation turn in a transcript."""

    type: Literal["user", "assistant"]
    text: str
    timestamp: str
    sessionId: str


class ArgvLogEntry(TypedDict):
    """One line of ``$FAKE_AGENT_ARGV_LOG``: how one start was invoked."""

    pid: int
    argv: list[str]
    env_team_agent_id: str | None
    time: str


@dataclass(frozen=True)
class Options:
    """The parsed command line; see ``build_parser`` for what each option is for."""

    prompt: str | None
    session_id: str | None
    resume: str | None
    print_session_file: bool
    exit_after: float | None
    exit_code: int
    crash_on_start: bool
    ready_delay: float
    ignore_sighup: bool
    banners: tuple[str, ...]


class _Exit(Exception):
    """Unwinds to ``run_agent`` from any wait, so the terminal is restored on every exit."""

    def __init__(self, code: int, message: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.message = message


class Wake(enum.Enum):
    """Why a wait ended without input."""

    TIMEOUT = "timeout"
    INTERRUPT = "interrupt"


def _utc_now() -> str:
    """Timestamp in the format Claude Code's transcripts use, e.g. ``2026-11-25T09:00:00.123Z``."""
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    return now.replace("+00:00", "Z")


def _json_line(record: SessionMeta | Message | ArgvLogEntry) -> bytes:
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def _write_all(fd: int, data: bytes) -> None:
    """``os.write`` can write less than asked on a terminal; loop until all is out."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _session_id(text: str) -> str:
    if not _SESSION_ID_RE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"invalid session ID: {text!r}")
    return text


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0.0:  # also rejects nan
        raise argparse.ArgumentTypeError(f"not a number of seconds >= 0: {text!r}")
    return value


def _exit_status(text: str) -> int:
    if not text.isdigit() or int(text) > 255:
        raise argparse.ArgumentTypeError(f"not an exit code 0..255: {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    """Describe the command line, including the options for misbehaving in tests."""
    parser = argparse.ArgumentParser(
        prog="fake-agent",
        description="A stand-in interactive agent CLI for team-agent demos and tests.",
    )
    parser.add_argument("prompt", nargs="?", help="initial prompt, handled as the first input")
    sessions = parser.add_mutually_exclusive_group()
    sessions.add_argument(
        "--session-id", type=_session_id, metavar="ID", help="start a new session with this id"
    )
    sessions.add_argument(
        "--resume",
        type=_session_id,
        metavar="ID",
        help="continue the session ID (appends to its transcript)",
    )
    parser.add_argument(
        "--print-session-file",
        action="store_true",
        help="print the transcript path this run would use, then exit 0",
    )
    parser.add_argument(
        "--exit-after",
        type=_seconds,
        metavar="SECONDS",
        help="exit with --exit-code once SECONDS have passed since start",
    )
    parser.add_argument(
        "--exit-code",
        type=_exit_status,
        default=1,
        metavar="N",
        help="exit code for --exit-after and --crash-on-start (default 1)",
    )
    parser.add_argument(
        "--crash-on-start",
        action="store_true",
        help="print an error to stderr and exit with --exit-code at once",
    )
    parser.add_argument(
        "--ready-delay",
        type=_seconds,
        default=0.0,
        metavar="SECONDS",
        help="wait this long before the first prompt (a slow start)",
    )
    parser.add_argument(
        "--ignore-sighup",
        action="store_true",
        help="ignore SIGHUP and outlive stdin (a CLI that survives its pane)",
    )
    parser.add_argument(
        "--banner",
        action="append",
        default=[],
        metavar="TEXT",
        help="extra line printed before the prompt (repeatable)",
    )
    parser.add_argument("--version", action="version", version=f"fake-agent {VERSION}")
    return parser


def parse_options(argv: Sequence[str]) -> Options:
    """Parse ``argv`` (no program name); raises SystemExit on bad usage, as argparse does."""
    ns = build_parser().parse_args(list(argv))
    return Options(
        prompt=ns.prompt,
        session_id=ns.session_id,
        resume=ns.resume,
        print_session_file=ns.print_session_file,
        exit_after=ns.exit_after,
        exit_code=ns.exit_code,
        crash_on_start=ns.crash_on_start,
        ready_delay=ns.ready_delay,
        ignore_sighup=ns.ignore_sighup,
        banners=tuple(ns.banner),
    )


def agent_home() -> Path:
    """Where sessions live: ``$FAKE_AGENT_HOME``, so tests and demos can isolate them."""
    return Path(os.environ.get(ENV_HOME) or Path.home() / ".fake-agent")


def session_file(home: Path, session_id: str) -> Path:
    return home / "sessions" / f"{session_id}.jsonl"


def count_messages(path: Path) -> int:
    """User and assistant records in a transcript; unreadable lines are skipped, not fatal."""
    count = 0
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("type") in ("user", "assistant"):
                count += 1
    return count


class Transcript:
    """The append-only JSONL file of one session.

    The file is opened on the first append, not before, which makes it lazy the way Claude
    Code's is. Each append is a single ``os.write`` on an ``O_APPEND`` descriptor, so a
    SIGTERM or SIGKILL never leaves half a line behind.
    """

    def __init__(self, path: Path, *, meta: SessionMeta | None) -> None:
        """``meta`` is the first line of a new session; None when resuming an existing file."""
        self.path = path
        self._meta = meta
        self._fd: int | None = None

    def append(self, record: Message) -> None:
        data = _json_line(record)
        if self._fd is None:
            self._fd = self._open()
            if self._meta is not None:
                data = _json_line(self._meta) + data
        _write_all(self._fd, data)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _open(self) -> int:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
        if self._meta is not None:
            # O_EXCL: two processes started with the same --session-id must not share a file.
            flags |= os.O_EXCL
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        return os.open(self.path, flags, 0o600)  # transcripts may quote secrets


class LineReader:
    """Splits raw input bytes into lines; on a terminal it also does the line editing.

    The kernel's canonical mode is off on a terminal (see the module docstring), so this
    class takes over its part: echo, backspace, Ctrl-U, Ctrl-D on an empty line, and skipping
    escape sequences (arrow keys). Echo is gathered and written in one call per line, not
    one call per byte, so a 100 KB paste is echoed quickly.
    """

    def __init__(self, *, interactive: bool, echo: Callable[[bytes], None]) -> None:
        self._interactive = interactive
        self._echo = echo
        self._pending = bytearray()
        self._pos = 0
        self._scan = 0  # no newline before here: a long line is searched once, not per read
        self._line = bytearray()  # the line being edited (interactive only)
        self._escape = 0  # 0: none, 1: after ESC, 2: inside a CSI/SS3 sequence
        self._closed = False

    @property
    def exhausted(self) -> bool:
        """True once input has ended and every complete line has been taken."""
        return self._closed and self._pos >= len(self._pending)

    def feed(self, data: bytes) -> None:
        """Add input read from stdin; ``b""`` means end of input."""
        if not data:
            self._closed = True
            return
        if self._pos:
            del self._pending[: self._pos]
            self._scan -= self._pos
            self._pos = 0
        self._pending += data

    def discard_line(self) -> None:
        """Ctrl-C drops the line being typed, as a shell or a CLI does."""
        self._line.clear()
        self._escape = 0

    def next_line(self) -> str | None:
        """The next complete line without its newline, or None when more input is needed."""
        if self._interactive:
            return self._next_edited()
        end = self._pending.find(b"\n", max(self._pos, self._scan))
        if end < 0:
            self._scan = len(self._pending)
            if not self._closed or self._pos >= len(self._pending):
                return None
            end = len(self._pending)  # a last line without a newline still counts
        raw = bytes(self._pending[self._pos : end])
        self._pos = self._scan = end + 1
        return raw.removesuffix(b"\r").decode("utf-8", "replace")

    def _next_edited(self) -> str | None:
        echo = bytearray()
        line: str | None = None
        while line is None and self._pos < len(self._pending):
            byte = self._pending[self._pos]
            self._pos += 1
            line = self._edit(byte, echo)
        if echo:
            self._echo(bytes(echo))
        return line

    def _edit(self, byte: int, echo: bytearray) -> str | None:
        if self._escape == 1:
            self._escape = 2 if byte in b"[O" else 0
        elif self._escape == 2:
            if 0x40 <= byte <= 0x7E:  # final byte of a CSI/SS3 sequence
                self._escape = 0
        elif byte in b"\r\n":
            line = self._line.decode("utf-8", "replace")
            self._line.clear()
            echo += b"\n"
            return line
        elif byte in (0x7F, 0x08):
            if self._line:
                self._drop_char()
                echo += b"\b \b"
        elif byte == 0x15:  # Ctrl-U
            echo += b"\b \b" * sum(1 for b in self._line if b & 0xC0 != 0x80)
            self._line.clear()
        elif byte == 0x04:  # Ctrl-D: end of input on an empty line, ignored otherwise
            if not self._line:
                self._closed = True
                self._pos = len(self._pending)
        elif byte == 0x1B:
            self._escape = 1
        elif byte >= 0x20 or byte == 0x09:
            self._line.append(byte)
            echo.append(byte)
        return None

    def _drop_char(self) -> None:
        """Remove the last UTF-8 character: its continuation bytes, then its lead byte."""
        while self._line and self._line[-1] & 0xC0 == 0x80:
            self._line.pop()
        if self._line:
            self._line.pop()


class Waiter:
    """Every blocking wait of the fake goes through here.

    Because of that, SIGINT and the ``--exit-after`` deadline end a wait the same way whether
    it happens at the prompt, in ``/sleep`` or during ``--ready-delay``. Signals arrive through
    ``signal.set_wakeup_fd``, so a wait is a ``select`` on two descriptors. No exception is
    raised from a signal handler in the middle of other work.
    """

    def __init__(
        self, *, wakeup_fd: int, input_fd: int, deadline: float | None, exit_code: int
    ) -> None:
        self._wakeup_fd = wakeup_fd
        self._input_fd = input_fd
        self._deadline = deadline
        self._exit_code = exit_code

    def poll(self) -> Wake:
        """Check for a pending signal or a passed deadline without blocking."""
        got = self.wait(0.0, read_input=False)
        return Wake.TIMEOUT if isinstance(got, bytes) else got  # bytes only with read_input

    def wait(self, timeout: float | None, *, read_input: bool) -> bytes | Wake:
        """Input bytes (``b""`` at end of input), or why the wait ended without any.

        Raises ``_Exit`` once the ``--exit-after`` deadline has passed.
        """
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            now = time.monotonic()
            if self._deadline is not None and now >= self._deadline:
                raise _Exit(self._exit_code, f"fake-agent: exit {self._exit_code} (--exit-after)")
            limits = [t for t in (end, self._deadline) if t is not None]
            remaining = max(0.0, min(limits) - now) if limits else None
            fds = [self._wakeup_fd, self._input_fd] if read_input else [self._wakeup_fd]
            ready, _, _ = select.select(fds, [], [], remaining)
            if self._wakeup_fd in ready and signal.SIGINT in self._drain_signals():
                return Wake.INTERRUPT
            if self._input_fd in ready and read_input:
                try:
                    return os.read(self._input_fd, _READ_SIZE)
                except OSError:  # EIO: the terminal is gone, which is the end of input too
                    return b""
            if end is not None and time.monotonic() >= end:
                return Wake.TIMEOUT

    def _drain_signals(self) -> set[int]:
        received: set[int] = set()
        while True:
            try:
                chunk = os.read(self._wakeup_fd, 512)
            except BlockingIOError:
                return received
            if not chunk:
                return received
            received.update(chunk)


class TerminalMode:
    """Switches a terminal to non-canonical, no-echo input and back.

    ISIG stays on, so Ctrl-C is still SIGINT. ICRNL stays on, so Enter is still ``\\n``.
    OPOST stays on, so output is unchanged.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._saved: list[Any] | None = None  # termios attributes: an untyped list in typeshed

    def enter(self) -> bool:
        """Switch if ``fd`` is a terminal; False (and no change) otherwise."""
        if not os.isatty(self._fd):
            return False
        try:
            saved = termios.tcgetattr(self._fd)
            raw = termios.tcgetattr(self._fd)
            raw[3] &= ~(termios.ICANON | termios.ECHO | termios.IEXTEN)
            raw[6][termios.VMIN] = 1
            raw[6][termios.VTIME] = 0
            termios.tcsetattr(self._fd, termios.TCSANOW, raw)
        except termios.error:
            return False
        self._saved = saved
        return True

    def restore(self) -> None:
        if self._saved is not None:
            with contextlib.suppress(termios.error):  # the terminal is gone: nothing to restore
                termios.tcsetattr(self._fd, termios.TCSANOW, self._saved)
            self._saved = None


def _note_signal(signum: int, frame: FrameType | None) -> None:
    """SIGINT handler that does nothing: the wakeup pipe already carries the signal.

    Installing it stops Python from raising KeyboardInterrupt at some arbitrary point.
    """


class Output:
    """Unbuffered output, so a pane shows each reply at once and SIGTERM loses nothing.

    A write error stops output and nothing else. With ``--ignore-sighup`` the fake keeps
    running after its pane is gone, with nowhere to print.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._ok = True

    def write(self, text: str) -> None:
        self.write_bytes(text.encode("utf-8", "replace"))

    def write_bytes(self, data: bytes) -> None:
        if not self._ok:
            return
        try:
            _write_all(self._fd, data)
        except OSError:
            self._ok = False


@dataclass(frozen=True)
class Session:
    """The session this run works in, resolved (and checked) before the loop starts."""

    session_id: str
    transcript: Transcript
    resumed_messages: int | None  # None for a new session


class FakeAgent:
    """The interactive loop: banner, prompt, then a reply to each input line.

    It owns no process state: ``run_agent`` sets up the terminal and signals and passes in
    the reader, waiter and output built on them.
    """

    def __init__(
        self,
        options: Options,
        session: Session,
        *,
        reader: LineReader,
        waiter: Waiter,
        output: Output,
    ) -> None:
        self._options = options
        self._session = session
        self._reader = reader
        self._waiter = waiter
        self._out = output
        self._last_interrupt: float | None = None

    def serve(self) -> int:
        """Run until an exit command or end of input; return the exit code.

        Raises ``_Exit`` for the deadline and a double Ctrl-C.
        """
        agent = os.environ.get(ENV_AGENT_ID) or "-"
        sid = self._session.session_id
        self._out.write(f"fake-agent {VERSION} ready (agent={agent}, session={sid})\n")
        if self._session.resumed_messages is not None:
            self._out.write(f"resumed session {sid} ({self._session.resumed_messages} messages)\n")
        for text in self._options.banners:
            self._out.write(text + "\n")
        delay = self._options.ready_delay
        if delay > 0 and self._waiter.wait(delay, read_input=False) is Wake.INTERRUPT:
            self._interrupted()
        if self._options.prompt is not None:
            code = self._handle(self._options.prompt)
            if code is not None:
                return code
        self._out.write(PROMPT)
        while True:
            if self._waiter.poll() is Wake.INTERRUPT:
                self._interrupted()
                self._out.write(PROMPT)
            line = self._reader.next_line()
            if line is not None:
                code = self._handle(line)
                if code is not None:
                    return code
                self._out.write(PROMPT)
            elif self._reader.exhausted:
                return self._input_ended()
            else:
                got = self._waiter.wait(None, read_input=True)
                if isinstance(got, bytes):
                    self._reader.feed(got)
                elif got is Wake.INTERRUPT:
                    self._interrupted()
                    self._out.write(PROMPT)

    def _input_ended(self) -> int:
        """End of input exits 0, unless SIGHUP is ignored.

        With SIGHUP ignored, the fake outlives its pane the way some CLIs do. It then exits
        only on SIGTERM, SIGKILL, a double Ctrl-C or ``--exit-after``.
        """
        if not self._options.ignore_sighup:
            return 0
        while True:
            if self._waiter.wait(None, read_input=False) is Wake.INTERRUPT:
                self._interrupted()

    def _interrupted(self) -> None:
        now = time.monotonic()
        last, self._last_interrupt = self._last_interrupt, now
        if last is not None and now - last < DOUBLE_INTERRUPT_WINDOW:
            raise _Exit(EXIT_SIGINT)
        self._reader.discard_line()
        self._out.write("^C\n")

    def _handle(self, line: str) -> int | None:
        """Act on one input line; an exit code ends the run, None carries on."""
        words = line.split()
        if not words:
            return None
        command, args = words[0], words[1:]
        if command == "/exit" and len(args) <= 1:
            if not args:
                return 0
            if args[0].isdigit() and int(args[0]) <= 255:
                return int(args[0])
            self._out.write("fake: usage: /exit [CODE 0..255]\n")
            return None
        if command == "/crash" and not args:
            return 1
        if command == "/id" and not args:
            self._out.write(self._session.session_id + "\n")
            return None
        if command == "/sleep" and len(args) == 1:
            self._sleep(args[0])
            return None
        self._message(line)
        return None

    def _sleep(self, arg: str) -> None:
        """Be busy: no prompt, and no input read, until the time is up or Ctrl-C."""
        try:
            seconds = _seconds(arg)
        except argparse.ArgumentTypeError:
            self._out.write("fake: usage: /sleep SECONDS\n")
            return
        self._out.write("working...\n")
        if self._waiter.wait(seconds, read_input=False) is Wake.INTERRUPT:
            self._interrupted()

    def _message(self, line: str) -> None:
        reply = f"fake: {line}"
        self._record("user", line)
        self._out.write(reply + "\n")
        self._record("assistant", reply)

    def _record(self, kind: Literal["user", "assistant"], text: str) -> None:
        sid = self._session.session_id
        record: Message = {"type": kind, "text": text, "timestamp": _utc_now(), "sessionId": sid}
        try:
            self._session.transcript.append(record)
        except FileExistsError:
            # Another process took this --session-id between main's check and this message.
            raise _Exit(1, f"Error: Session ID {sid} is already in use.") from None


def run_agent(
    options: Options,
    session: Session,
    *,
    deadline: float | None,
    input_fd: int = 0,
    output_fd: int = 1,
) -> int:
    """Set up the terminal and signals, run the loop, and undo the setup on every exit.

    SIGINT reaches the loop through a wakeup pipe. SIGTERM exits 143 from its handler at
    once, after restoring the terminal, and writes nothing more. ``deadline`` is the
    monotonic time for ``--exit-after``.
    """
    terminal = TerminalMode(input_fd)

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        terminal.restore()
        os._exit(EXIT_SIGTERM)

    output = Output(output_fd)
    reader = LineReader(interactive=terminal.enter(), echo=output.write_bytes)
    wakeup_r, wakeup_w = os.pipe()
    os.set_blocking(wakeup_r, False)
    os.set_blocking(wakeup_w, False)
    old_wakeup = signal.set_wakeup_fd(wakeup_w, warn_on_full_buffer=False)
    old_handlers = {
        signal.SIGINT: signal.signal(signal.SIGINT, _note_signal),
        signal.SIGTERM: signal.signal(signal.SIGTERM, on_sigterm),
    }
    if options.ignore_sighup:
        old_handlers[signal.SIGHUP] = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    waiter = Waiter(
        wakeup_fd=wakeup_r, input_fd=input_fd, deadline=deadline, exit_code=options.exit_code
    )
    agent = FakeAgent(options, session, reader=reader, waiter=waiter, output=output)
    try:
        return agent.serve()
    except _Exit as exc:
        if exc.message:
            print(exc.message, file=sys.stderr, flush=True)
        return exc.code
    finally:
        terminal.restore()
        session.transcript.close()
        signal.set_wakeup_fd(old_wakeup)
        for signum, handler in old_handlers.items():
            signal.signal(signum, handler)
        os.close(wakeup_r)
        os.close(wakeup_w)


def _log_argv(argv: list[str]) -> None:
    """Append this start's argv to ``$FAKE_AGENT_ARGV_LOG``, so tests can see how it was run.

    A failure is reported on stderr and does not stop the agent: a test that relies on the
    log fails on its own assertions, while a demo keeps working.
    """
    target = os.environ.get(ENV_ARGV_LOG)
    if not target:
        return
    entry: ArgvLogEntry = {
        "pid": os.getpid(),
        "argv": argv,
        "env_team_agent_id": os.environ.get(ENV_AGENT_ID),
        "time": _utc_now(),
    }
    try:
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            _write_all(fd, _json_line(entry))
        finally:
            os.close(fd)
    except OSError as exc:
        print(f"fake-agent: cannot write {ENV_ARGV_LOG}: {exc}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Entry point. ``argv`` excludes the program name; None means ``sys.argv[1:]``."""
    started = time.monotonic()
    args = list(sys.argv[1:] if argv is None else argv)
    _log_argv(args)
    try:
        options = parse_options(args)
    except SystemExit as exc:  # argparse: --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else 2
    session_id = options.resume or options.session_id or str(uuid.uuid4())
    path = session_file(agent_home(), session_id)
    if options.print_session_file:
        print(path)
        return 0
    if options.crash_on_start:
        print("fake-agent: crashing on start (--crash-on-start)", file=sys.stderr)
        return options.exit_code
    resumed: int | None = None
    meta: SessionMeta | None = None
    if options.resume is not None:
        if not path.is_file():
            print(f"No conversation found with session ID: {session_id}", file=sys.stderr)
            return 1
        resumed = count_messages(path)
    else:
        if path.exists():
            print(f"Error: Session ID {session_id} is already in use.", file=sys.stderr)
            return 1
        meta = {
            "type": "session_meta",
            "sessionId": session_id,
            "cwd": os.getcwd(),
            "agentId": os.environ.get(ENV_AGENT_ID) or None,
            "timestamp": _utc_now(),
            "argv": args,
        }
    deadline = None if options.exit_after is None else started + options.exit_after
    session = Session(
        session_id=session_id, transcript=Transcript(path, meta=meta), resumed_messages=resumed
    )
    return run_agent(options, session, deadline=deadline)


if __name__ == "__main__":
    raise SystemExit(main())

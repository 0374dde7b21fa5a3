"""A stand-in agent CLI: the program behind ``provider: fake``.

Role in the loop: the reconciler starts ``python -m reconciler.fakeagent.agent`` in a tmux pane
wherever a spec says ``provider: fake``. The program copies what the reconciler watches
in a real CLI (Claude Code, Codex, ...). That way readiness, session capture, restarts,
crash-loop backoff and orphan handling can run in demos and tests with no AI CLI and no
network:

* a prompt, ``fake> ``, printed at the start of a line after every reply. This gives the
  readiness pattern ``^fake> ``;
* sessions kept the way real CLIs keep them (``reconciler.fakeagent.sessions``);
* misbehaviour on demand (crash on start, exit after a delay, slow start, surviving SIGHUP)
  to drive the restart, backoff and orphan paths (``reconciler.fakeagent.options``);
* input read and echoed as on a real CLI's terminal, bracketed paste included
  (``reconciler.fakeagent.terminal``);
* messages answered the way the messages controller expects a worker to: a reply that
  fingerprints a multi-line message, busy spells, tool approval prompts, and a result
  reported for each task (``reconciler.fakeagent.messages``).

This module is the program itself: the entry point, the signal and terminal setup around
the loop, the one place that waits, and the loop with its commands. Input is handled one
submitted line at a time (a pasted line may hold newlines). A plain line is a message
(``FakeAgent._message``). Blank lines are skipped, as real CLIs skip an empty submit. The
one-line slash commands ``/exit [N]``, ``/crash``, ``/sleep S`` and ``/id`` are local, like
a CLI's own commands: they are never recorded, so they do not create a transcript. Any
other line that starts with ``/`` is a plain message.

Only the standard library is used, here and in the other ``fake_*`` modules, so the fake
runs on any Python 3.10+, inside the project's venv or outside it.
"""

from __future__ import annotations

import argparse
import enum
import os
import select
import signal
import sys
import time
from types import FrameType
from typing import Literal

from reconciler.fakeagent.messages import Directive, parse_message, reply_line, report_task
from reconciler.fakeagent.options import VERSION, Options, parse_options, parse_seconds
from reconciler.fakeagent.sessions import (
    ENV_AGENT_ID,
    Message,
    Role,
    Session,
    SessionError,
    agent_home,
    log_argv,
    open_session,
    pick_session_id,
    session_file,
    utc_now,
)
from reconciler.fakeagent.terminal import LineReader, Output, TerminalMode

PROMPT = "fake> "
EXIT_SIGINT = 130
EXIT_SIGTERM = 143
DOUBLE_INTERRUPT_WINDOW = 1.0  # seconds: a second Ctrl-C within this exits, as in Claude Code
_READ_SIZE = 65536


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


def _note_signal(signum: int, frame: FrameType | None) -> None:
    """SIGINT handler that does nothing: the wakeup pipe already carries the signal.

    Installing it stops Python from raising KeyboardInterrupt at some arbitrary point.
    """


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
            line = self._read_line()
            if line is None:
                return self._input_ended()
            if line is Wake.INTERRUPT:
                self._interrupted()
            else:
                code = self._handle(line)
                if code is not None:
                    return code
            self._out.write(PROMPT)

    def _read_line(self) -> str | Literal[Wake.INTERRUPT] | None:
        """The next submitted line, waiting for input; None once input has ended."""
        while True:
            line = self._reader.next_line()
            if line is not None:
                return line
            if self._reader.exhausted:
                return None
            got = self._waiter.wait(None, read_input=True)
            if isinstance(got, bytes):
                self._reader.feed(got)
            elif got is Wake.INTERRUPT:
                return got

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
        if "\n" in line:  # a pasted text is a message even if it starts like a command
            self._message(line)
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
        try:
            self._busy(parse_seconds(arg))
        except argparse.ArgumentTypeError:
            self._out.write("fake: usage: /sleep SECONDS\n")

    def _busy(self, seconds: float) -> bool:
        """Be busy: no prompt, and no input read, until the time is up (True) or Ctrl-C."""
        self._out.write("working...\n")
        if self._waiter.wait(seconds, read_input=False) is Wake.INTERRUPT:
            self._interrupted()
            return False
        return True

    def _message(self, text: str) -> None:
        """Record, run the directives, reply in one line, record the reply, report a task.

        Ctrl-C during a directive abandons the turn (no reply, no report), as in a real CLI.
        """
        self._record("user", text)
        message = parse_message(text)
        for directive in message.directives:
            if not self._run(directive):
                return
        reply = reply_line(text)
        self._out.write(reply + "\n")
        self._record("assistant", reply)
        if message.task is not None and not (self._options.no_report or message.no_report):
            self._out.write(report_task(message, agent_id=os.environ.get(ENV_AGENT_ID)) + "\n")

    def _run(self, directive: Directive) -> bool:
        """Carry out one directive; False when Ctrl-C or the end of input cut it short."""
        if directive.kind == "sleep":
            return self._busy(directive.seconds)
        self._out.write(f"Allow tool {directive.tool}? [y/n] ")
        answer = self._read_line()
        if answer is Wake.INTERRUPT:
            self._interrupted()
            return False
        if answer is None:
            return False
        verdict = "approved" if answer.strip().lower() in ("y", "yes") else "denied"
        self._out.write(f"tool {directive.tool} {verdict}\n")
        return True

    def _record(self, kind: Role, text: str) -> None:
        sid = self._session.session_id
        record: Message = {"type": kind, "text": text, "timestamp": utc_now(), "sessionId": sid}
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
    terminal = TerminalMode(input_fd, output_fd)

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


def main(argv: list[str] | None = None) -> int:
    """Entry point. ``argv`` excludes the program name; None means ``sys.argv[1:]``."""
    started = time.monotonic()
    args = list(sys.argv[1:] if argv is None else argv)
    log_argv(args)
    try:
        options = parse_options(args)
    except SystemExit as exc:  # argparse: --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else 2
    session_id = pick_session_id(resume=options.resume, session_id=options.session_id)
    path = session_file(agent_home(), session_id)
    if options.print_session_file:
        print(path)
        return 0
    if options.crash_on_start:
        print("fake-agent: crashing on start (--crash-on-start)", file=sys.stderr)
        return options.exit_code
    try:
        session = open_session(session_id, path, resume=options.resume is not None, argv=args)
    except SessionError as exc:
        print(exc, file=sys.stderr)
        return 1
    deadline = None if options.exit_after is None else started + options.exit_after
    return run_agent(options, session, deadline=deadline)


if __name__ == "__main__":
    raise SystemExit(main())

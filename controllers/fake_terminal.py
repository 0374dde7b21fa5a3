"""Terminal input and output for the fake agent: line editing, raw mode and unbuffered writes.

Role in the loop: the reconciler types into the fake's tmux pane and watches what it prints,
so the fake has to take input and show output the way a real CLI does on a terminal.

On a terminal the program reads in non-canonical mode and echoes its own input, as real CLIs
do. In canonical mode the kernel cuts each line at 4095 bytes, so a long paste would lose
data. ``TerminalMode`` switches the mode and back; ``LineReader`` then does the line editing
the kernel no longer does (and splits plain lines when stdin is a pipe); ``Output`` writes
each reply at once. This module does not block or wait: when to read is the loop's business.
Standard library only, like the rest of the fake.
"""

from __future__ import annotations

import contextlib
import os
import termios
from collections.abc import Callable
from typing import Any


def write_all(fd: int, data: bytes) -> None:
    """``os.write`` can write less than asked on a terminal; loop until all is out."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


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
            write_all(self._fd, data)
        except OSError:
            self._ok = False

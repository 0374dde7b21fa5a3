"""Terminal input and output for the fake agent: line editing, pastes, raw mode, writes.

Role in the loop: the reconciler types into the fake's tmux pane and watches what it prints,
so the fake has to take input and show output the way a real CLI does on a terminal.

On a terminal the program reads in non-canonical mode and echoes its own input, as real CLIs
do. In canonical mode the kernel cuts each line at 4095 bytes, so a long paste would lose
data. ``TerminalMode`` switches the mode and back, and turns on bracketed paste (``ESC[?2004h``)
so tmux's ``paste-buffer -p`` wraps a paste in ``ESC[200~`` ... ``ESC[201~``. ``LineReader``
then does the line editing the kernel no longer does (and splits plain lines when stdin is a
pipe): inside a paste, CR and LF are newlines *in* the line being edited, so a multi-line
message arrives as one line and the Enter after it submits it whole. ``Output`` writes each
reply at once. This module does not block or wait: when to read is the loop's business.
Standard library only, like the rest of the fake.
"""

from __future__ import annotations

import contextlib
import os
import re
import termios
from collections.abc import Callable
from typing import Any

PASTE_ON = b"\x1b[?2004h"
PASTE_OFF = b"\x1b[?2004l"
PASTE_START = b"\x1b[200~"
PASTE_END = b"\x1b[201~"
# Control bytes that a paste carries but a screen must not act on: echoed as ^X.
_CONTROL_RE = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]")
_CSI_PARAMS_MAX = 16  # longer parameters than this are no key anyone sends


def write_all(fd: int, data: bytes) -> None:
    """``os.write`` can write less than asked on a terminal; loop until all is out."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _caret(found: re.Match[bytes]) -> bytes:
    return b"^" + bytes([found[0][0] ^ 0x40])


def visible(data: bytes) -> bytes:
    """``data`` as echoed: control bytes other than tab and newline in caret notation."""
    return _CONTROL_RE.sub(_caret, data)


class LineReader:
    """Splits raw input bytes into lines; on a terminal it also does the line editing.

    The kernel's canonical mode is off on a terminal (see the module docstring), so this
    class takes over its part: echo, backspace, Ctrl-U, Ctrl-D on an empty line, and skipping
    escape sequences (arrow keys). A bracketed paste is taken as data: nothing inside it is
    an editing key except its end marker, CR, LF and CR LF become ``\\n`` in the line, and it
    is echoed as it is (a newline as ``\\n``, control bytes as ``^X``), so the screen ends with
    the pasted text. Echo is gathered and written in one call per read, never one per byte,
    and a paste is cut and copied with ``bytes`` operations, so a 100 KB paste takes
    milliseconds.
    """

    def __init__(self, *, interactive: bool, echo: Callable[[bytes], None]) -> None:
        self._interactive = interactive
        self._echo = echo
        self._pending = bytearray()
        self._pos = 0
        self._scan = 0  # no newline before here: a long line is searched once, not per read
        self._line = bytearray()  # the line being edited (interactive only)
        self._escape = 0  # 0: none, 1: after ESC, 2: inside a CSI/SS3 sequence
        self._params = bytearray()  # parameter bytes of the CSI sequence being read
        self._pasting = False  # between PASTE_START and PASTE_END
        self._paste_cr = False  # the paste's last byte was CR: an LF right after it is its pair
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
        """Ctrl-C drops the line being typed, as a shell or a CLI does.

        A paste still arriving stays a paste: its newlines must not become Enter presses.
        """
        self._line.clear()
        self._escape = 0

    def next_line(self) -> str | None:
        """The next complete line without its newline, or None when more input is needed.

        On a terminal a line may hold newlines: the ones a paste brought.
        """
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
            if self._pasting:
                if not self._take_paste(echo):
                    break  # the rest may be the start of the end marker: wait for more
                continue
            byte = self._pending[self._pos]
            self._pos += 1
            line = self._edit(byte, echo)
        if echo:
            self._echo(bytes(echo))
        return line

    def _take_paste(self, echo: bytearray) -> bool:
        """Move pasted bytes into the line, up to the end marker; False: wait for more input.

        Only the end marker ends a paste, so it is searched for, not parsed byte by byte.
        A marker cut in two by a read stays pending until the next read completes it.
        """
        data = self._pending
        end = data.find(PASTE_END, self._pos)
        if end >= 0:
            stop, resume = end, end + len(PASTE_END)
        else:
            stop = resume = len(data)
            tail = data.rfind(b"\x1b", max(self._pos, len(data) - len(PASTE_END) + 1))
            if tail >= 0 and PASTE_END.startswith(data[tail:]):
                stop = resume = tail
        chunk = bytes(data[self._pos : stop])
        self._pos = resume
        if self._paste_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]
        if chunk:
            self._paste_cr = chunk.endswith(b"\r")
            text = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            self._line += text
            echo += visible(text)
        if end < 0:
            return False
        self._pasting = False
        return True

    def _edit(self, byte: int, echo: bytearray) -> str | None:
        if self._escape == 1:
            self._escape = 2 if byte in b"[O" else 0
            self._params.clear()
        elif self._escape == 2:
            if 0x40 <= byte <= 0x7E:  # final byte of a CSI/SS3 sequence
                self._escape = 0
                if byte == 0x7E and self._params == PASTE_START[2:-1]:
                    self._pasting, self._paste_cr = True, False
            elif len(self._params) < _CSI_PARAMS_MAX:
                self._params.append(byte)
        elif byte in b"\r\n":
            line = self._line.decode("utf-8", "replace")
            self._line.clear()
            echo += b"\n"
            return line
        elif byte in (0x7F, 0x08):
            if self._line and self._line[-1] != 0x0A:  # a pasted newline is not erased
                self._drop_char()
                echo += b"\b \b"
        elif byte == 0x15:  # Ctrl-U: erase the line shown, back to a pasted newline
            start = self._line.rfind(b"\n") + 1
            echo += b"\b \b" * sum(1 for b in self._line[start:] if b & 0xC0 != 0x80)
            del self._line[start:]
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
    """Switches a terminal to non-canonical, no-echo input with bracketed paste, and back.

    ISIG stays on, so Ctrl-C is still SIGINT. ICRNL stays on, so Enter is still ``\\n``.
    OPOST stays on, so output is unchanged. Bracketed paste is asked of the terminal
    (``output_fd``): tmux remembers it per pane and wraps ``paste-buffer -p`` in markers.
    ``restore`` may run in a signal handler: it only makes two system calls.
    """

    def __init__(self, fd: int, output_fd: int | None = None) -> None:
        self._fd = fd
        self._output_fd = output_fd
        self._saved: list[Any] | None = None  # termios attributes: an untyped list in typeshed
        self._paste = False

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
        if self._output_fd is not None and os.isatty(self._output_fd):
            with contextlib.suppress(OSError):
                write_all(self._output_fd, PASTE_ON)
                self._paste = True
        return True

    def restore(self) -> None:
        if self._paste and self._output_fd is not None:
            self._paste = False
            with contextlib.suppress(OSError):  # the terminal is gone: nothing to turn off
                write_all(self._output_fd, PASTE_OFF)
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

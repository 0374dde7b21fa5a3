"""What the stub CLIs in `tests/stubs/bin/` share: argv log, option parsing, terminal, dialogs.

The stubs stand in for Claude Code, Codex, Gemini CLI, Copilot CLI and OpenCode on machines
that have none of them and no network. Each accepts the real CLI's flags, prints its prompt,
shows its first-run dialogs, and writes its session files where and how the real CLI does
(the paths come from `controllers.providers.transcripts`, the module team-agent reads them
with, re-implemented here: the stubs must run with the standard library alone).

Test hooks, all through the environment:

* `STUB_ARGV_LOG`: a JSONL file; one `start` record per start (argv, cwd, pid, the *names*
  of the environment variables), and one record per dialog answer and per input line.
* `STUB_SHOW_TRUST_DIALOG=1`: show the folder-trust dialog even when the folder is trusted.
* `STUB_SHOW_DIALOG=NAME`: show another first-run dialog (`login`, `update`, ...) first.

Standard library only; runs on the `python3` found on PATH.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import termios
import tty
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ENTER = "\n"
ESC = "\x1b"
CLEAR = "\x1b[2J\x1b[3J\x1b[H"  # erase screen and scrollback, cursor home
PASTE_ON = "\x1b[?2004h"  # bracketed paste mode, as the real CLIs turn it on
PASTE_OFF = "\x1b[?2004l"
PASTE_START = b"\x1b[200~"
PASTE_END = b"\x1b[201~"


class UsageError(Exception):
    """Bad command line: the stub prints the CLI's kind of message and exits."""


# --- the argv log ----------------------------------------------------------------------


def log(cli: str, kind: str, **data: Any) -> None:
    """Append one record to `$STUB_ARGV_LOG` (one write, O_APPEND: lines never interleave)."""
    target = os.environ.get("STUB_ARGV_LOG")
    if not target:
        return
    record = {"cli": cli, "kind": kind, "pid": os.getpid(), "time": now_iso(), **data}
    line = (json.dumps(record, ensure_ascii=False) + "\n").encode()
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def log_start(cli: str, argv: Sequence[str]) -> None:
    log(cli, "start", argv=list(argv), cwd=os.getcwd(), env_names=sorted(os.environ))


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- options ---------------------------------------------------------------------------


@dataclass
class Options:
    values: dict[str, Any] = field(default_factory=dict)
    positionals: list[str] = field(default_factory=list)

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)


def parse(
    argv: Sequence[str],
    *,
    values: Sequence[str] = (),
    flags: Sequence[str] = (),
    optional: Sequence[str] = (),
    repeat: Sequence[str] = (),
    variadic: Sequence[str] = (),
    aliases: dict[str, str] | None = None,
) -> Options:
    """A small getopt in the style of commander/clap/yargs: `--x v`, `--x=v`, `-x v`.

    `optional` options take the next word unless it starts with `-`; `repeat` collect a
    list; `variadic` take words up to the next option. Unknown options raise UsageError.
    """
    names = {*values, *flags, *optional, *repeat, *variadic}
    aliases = aliases or {}
    out = Options()
    words = list(argv)
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if word == "--":
            out.positionals += words[i:]
            break
        if not word.startswith("-") or word == "-":
            out.positionals.append(word)
            continue
        name, eq, inline = word.partition("=")
        name = aliases.get(name, name)
        if name not in names:
            raise UsageError(f"unknown option '{word}'")
        if name in flags:
            out.values[name] = True
        elif name in optional:
            if eq:
                out.values[name] = inline
            elif i < len(words) and not words[i].startswith("-"):
                out.values[name] = words[i]
                i += 1
            else:
                out.values[name] = ""
        elif name in variadic:
            taken = [inline] if eq else []
            while i < len(words) and not words[i].startswith("-"):
                taken.append(words[i])
                i += 1
            out.values.setdefault(name, []).extend(taken)
        else:
            if eq:
                value = inline
            elif i < len(words):
                value = words[i]
                i += 1
            else:
                raise UsageError(f"option '{name}' argument missing")
            if name in repeat:
                out.values.setdefault(name, []).append(value)
            else:
                out.values[name] = value
    return out


# --- files -----------------------------------------------------------------------------


def home() -> Path:
    return Path(os.environ.get("HOME") or "/")


def git_root(start: str) -> str | None:
    folder = Path(start)
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return str(candidate)
    return None


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(tmp, path)


class JsonlFile:
    """An append-only JSONL transcript, created at its first line (never before)."""

    def __init__(self, path: Path, *, exclusive: bool) -> None:
        self.path = path
        self.exclusive = exclusive

    def append(self, *records: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
        if self.exclusive:
            flags |= os.O_EXCL
            self.exclusive = False
        data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()
        fd = os.open(self.path, flags, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)


# --- terminal --------------------------------------------------------------------------


class Terminal:
    """Key-at-a-time input (cbreak) on a terminal, so `1` or Enter reach a dialog at once.

    Like the real CLIs, it turns on bracketed paste, so tmux's `paste-buffer -p` arrives
    wrapped in `ESC[200~` ... `ESC[201~`: a pasted newline is then part of the line being
    typed, not Enter, and a multi-line message is one input. Input is read in big chunks
    and kept here, so a 100 KB paste is a few reads, not one read per byte.
    """

    def __init__(self) -> None:
        self.fd = sys.stdin.fileno()
        self.saved: list[Any] | None = None
        self.buffer = bytearray()
        self.pos = 0
        self.closed = False

    def __enter__(self) -> Terminal:
        if os.isatty(self.fd):
            self.saved = termios.tcgetattr(self.fd)
            tty.setcbreak(self.fd)
            out(PASTE_ON)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.saved is not None:
            with contextlib.suppress(OSError):
                out(PASTE_OFF)
            with contextlib.suppress(termios.error):
                termios.tcsetattr(self.fd, termios.TCSANOW, self.saved)

    def _more(self) -> bool:
        """Read what input there is (waiting for at least a byte); False at its end."""
        if self.closed:
            return False
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return False
        del self.buffer[: self.pos]
        self.pos = 0
        self.buffer += data
        return True

    def byte(self) -> int | None:
        """The next input byte; None at the end of input."""
        if self.pos >= len(self.buffer) and not self._more():
            return None
        self.pos += 1
        return self.buffer[self.pos - 1]

    def key(self) -> str:
        """One key: a character, ENTER, ESC, or "" at the end of input."""
        first = self.byte()
        if first is None:
            return ""
        if first in b"\r\n":
            return ENTER
        if first == 0x1B:
            return ESC
        data = bytes([first])
        if first >= 0x80:  # the rest of a UTF-8 character
            need = 1 if first < 0xE0 else 2 if first < 0xF0 else 3
            for _ in range(need):
                more = self.byte()
                if more is None:
                    break
                data += bytes([more])
        return data.decode("utf-8", "replace")

    def escape(self) -> bytes:
        """The rest of an escape sequence after ESC: `[` or `O`, parameters, final byte."""
        kind = self.byte()
        if kind is None:
            return b""
        if kind not in b"[O":  # a lone Esc: the byte after it is the next key
            self.pos -= 1
            return b""
        seq = bytes([kind])
        while (more := self.byte()) is not None:
            seq += bytes([more])
            if 0x40 <= more <= 0x7E or len(seq) > 16:
                break
        return seq

    def paste(self) -> bytes:
        """A bracketed paste up to its end marker (gone), CR, LF and CR LF made LF."""
        while (end := self.buffer.find(PASTE_END, self.pos)) < 0:
            if not self._more():
                end = len(self.buffer)
                break
        data = bytes(self.buffer[self.pos : end])
        self.pos = min(end + len(PASTE_END), len(self.buffer))
        return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")

    def line(self) -> str | None:
        """A line, echoed as typed (a paste as a whole); None at the end of input."""
        chars: list[str] = []
        while True:
            key = self.key()
            if key == "":
                return None
            if key == ENTER:
                out("\n")
                return "".join(chars)
            if key in ("\x7f", "\b"):
                if chars and chars[-1] != "\n":
                    chars.pop()
                    out("\b \b")
                continue
            if key == ESC:
                if self.escape() == PASTE_START[1:]:
                    text = self.paste().decode("utf-8", "replace")
                    chars.extend(text)
                    out(text)
                continue
            if len(key) == 1 and ord(key) < 0x20:
                continue
            chars.append(key)
            out(key)


def out(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


# --- dialogs and the prompt loop -------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    label: str
    value: str


def choose(
    cli: str,
    name: str,
    term: Terminal,
    *,
    text: str,
    choices: Sequence[Choice],
    pointer: str,
    footer: str,
    selected: int = 0,
) -> str | None:
    """Show a select-list dialog; a digit picks and confirms, Enter confirms, Esc cancels.

    Returns the chosen value, or None (Esc, or the end of input). Every answer is logged.
    """
    out(text.rstrip("\n") + "\n\n")
    for index, option in enumerate(choices):
        mark = pointer if index == selected else " "
        out(f"{mark} {index + 1}. {option.label}\n")
    out(f"\n{footer}\n")
    while True:
        key = term.key()
        if key == "":
            return None
        if key == ESC:
            log(cli, "dialog", dialog=name, key="Esc", answer=None)
            return None
        if key == ENTER:
            value = choices[selected].value
        elif key.isdigit() and 1 <= int(key) <= len(choices):
            value = choices[int(key) - 1].value
        else:
            continue
        log(cli, "dialog", dialog=name, key=key, answer=value)
        out(CLEAR)  # a TUI takes the dialog off the screen once it is answered
        return value


def repl(
    cli: str,
    term: Terminal,
    *,
    render_prompt: Callable[[], None],
    on_message: Callable[[str], str],
    first: str | None = None,
) -> int:
    """The interactive loop: a first message if given, then prompt, line, reply, forever."""
    if first:
        log(cli, "input", text=first)
        out(on_message(first) + "\n")
    while True:
        render_prompt()
        line = term.line()
        if line is None:
            return 0
        log(cli, "input", text=line)
        if line.strip() == "/exit":
            return 0
        if not line.strip():
            continue  # an empty submit does nothing, as in the real CLIs
        out(on_message(line) + "\n")


def run(main: Callable[[Terminal], int], cli: str) -> None:
    """Run a stub's main with the terminal set up, turning UsageError into exit code 1."""
    try:
        with Terminal() as term:
            code = main(term)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        code = 130
    sys.stdout.flush()
    sys.exit(code)


def iter_lines(path: Path) -> Iterator[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return
    for raw in text.splitlines():
        with contextlib.suppress(ValueError):
            record = json.loads(raw)
            if isinstance(record, dict):
                yield record

"""The fake agent CLI, run as a subprocess over pipes, and over a pty as in a tmux pane.

These tests pin the behaviour other tests and the reconciler rely on: the banner and the
``fake> `` prompt, the lazy transcript with ``session_meta`` first, Claude-Code-like
``--session-id``/``--resume`` errors, the exit codes, the argv log, and on a terminal the
line editing and bracketed paste (a multi-line paste and the Enter after it are one
message, 100 KB of it included). Every wait has a deadline: a subprocess timeout or a
``read_until``, never a blind sleep. Replies, directives and reports are in
tests/process/test_fake_messages.py.
"""

from __future__ import annotations

import hashlib
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from reconciler.fakeagent.terminal import PASTE_END, PASTE_OFF, PASTE_ON, PASTE_START, LineReader
from tests.process.fakeproc import (
    BANNER_RE,
    COMMAND,
    DEADLINE,
    ROOT,
    PtyFake,
    Running,
    clean_env,
    records,
    run_fake,
    session_of,
    stopping,
    transcripts,
    user_texts,
)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def env(home: Path) -> dict[str, str]:
    return clean_env(home)


@pytest.fixture
def spawn(env: dict[str, str]) -> Iterator[Callable[..., Running]]:
    """Start fakes over pipes; any still running at the end of the test are killed."""
    with stopping(lambda *args: Running(env, *args)) as start:
        yield start


@pytest.fixture
def pty(env: dict[str, str]) -> Iterator[Callable[..., PtyFake]]:
    """Start fakes on a pty, as in a pane; killed (by handle) at the end of the test."""
    with stopping(lambda *args: PtyFake(env, *args)) as start:
        yield start


def test_banner_then_prompt(env: dict[str, str]) -> None:
    result = run_fake(env)
    assert result.returncode == 0
    match = BANNER_RE.match(result.stdout)
    assert match and match["agent"] == "impl"
    assert re.search(r"(?m)^fake> ", result.stdout)


def test_banner_without_agent_id(env: dict[str, str]) -> None:
    del env["TEAM_AGENT_ID"]
    match = BANNER_RE.match(run_fake(env).stdout)
    assert match and match["agent"] == "-"


def test_echo_with_a_prompt_after_every_reply(env: dict[str, str]) -> None:
    result = run_fake(env, stdin="hello\nworld\n")
    assert result.stdout.endswith("fake> fake: hello\nfake> fake: world\nfake> ")


def test_banner_option_and_ready_delay(env: dict[str, str]) -> None:
    started = time.monotonic()
    result = run_fake(env, "--banner", "Trust this folder?", "--ready-delay", "0.2")
    assert time.monotonic() - started >= 0.2
    assert result.stdout.splitlines()[1:] == ["Trust this folder?", "fake> "]


def test_transcript_appears_with_the_first_message(
    spawn: Callable[..., Running], home: Path
) -> None:
    fake = spawn("--banner", "x")
    session = session_of(fake.read_until("fake> "))
    assert transcripts(home) == []
    fake.send("/id\n")
    assert fake.read_until("fake> ") == f"{session}\nfake> "
    assert transcripts(home) == [], "local commands are not messages"
    fake.send("hi\n")
    fake.read_until("fake: hi\nfake> ")
    (path,) = transcripts(home)
    assert path.name == f"{session}.jsonl"
    assert path.stat().st_mode & 0o777 == 0o600
    meta, user, assistant = records(path)
    assert meta["type"] == "session_meta"
    assert (meta["sessionId"], meta["agentId"], meta["cwd"]) == (session, "impl", str(ROOT))
    assert meta["argv"] == ["--banner", "x"]
    assert (user["type"], user["text"], user["sessionId"]) == ("user", "hi", session)
    assert (assistant["type"], assistant["text"]) == ("assistant", "fake: hi")


def test_agent_id_null_without_env(env: dict[str, str], home: Path) -> None:
    del env["TEAM_AGENT_ID"]
    run_fake(env, stdin="hi\n")
    (path,) = transcripts(home)
    assert records(path)[0]["agentId"] is None


def test_initial_prompt_is_the_first_message(env: dict[str, str], home: Path) -> None:
    result = run_fake(env, "do the thing")
    assert "fake: do the thing\nfake> " in result.stdout
    (path,) = transcripts(home)
    assert [r["type"] for r in records(path)] == ["session_meta", "user", "assistant"]
    assert records(path)[1]["text"] == "do the thing"


def test_resume_appends_to_the_same_transcript(env: dict[str, str], home: Path) -> None:
    session = session_of(run_fake(env, stdin="one\n").stdout)
    result = run_fake(env, "--resume", session, stdin="two\n")
    assert result.returncode == 0
    assert session_of(result.stdout) == session
    assert f"resumed session {session} (2 messages)\n" in result.stdout
    (path,) = transcripts(home)
    lines = records(path)
    assert [r["type"] for r in lines] == ["session_meta", "user", "assistant", "user", "assistant"]
    assert [r.get("text") for r in lines if r["type"] == "user"] == ["one", "two"]
    assert {r["sessionId"] for r in lines} == {session}


def test_resume_of_an_unknown_session_fails(env: dict[str, str], home: Path) -> None:
    result = run_fake(env, "--resume", "0b5c9d3e-0000-4000-8000-000000000000", stdin="hi\n")
    assert result.returncode == 1
    expected = "No conversation found with session ID: 0b5c9d3e-0000-4000-8000-000000000000"
    assert expected in result.stderr
    assert transcripts(home) == []


def test_session_id_in_use_fails(env: dict[str, str], home: Path) -> None:
    first = run_fake(env, "--session-id", "s-1", stdin="a\n")
    assert first.returncode == 0
    assert [p.name for p in transcripts(home)] == ["s-1.jsonl"]
    second = run_fake(env, "--session-id", "s-1", stdin="b\n")
    assert second.returncode == 1
    assert "Error: Session ID s-1 is already in use." in second.stderr
    assert len(records(home / "sessions" / "s-1.jsonl")) == 3


def test_session_id_must_be_a_file_name(env: dict[str, str]) -> None:
    assert run_fake(env, "--session-id", "../escape").returncode == 2


def test_print_session_file(env: dict[str, str], home: Path) -> None:
    result = run_fake(env, "--session-id", "abc", "--print-session-file")
    assert (result.returncode, result.stdout) == (0, f"{home / 'sessions' / 'abc.jsonl'}\n")
    assert transcripts(home) == []


class ExitCase(NamedTuple):
    stdin: str
    code: int


EXIT_CASES = {
    "exit": ExitCase("/exit\nafter\n", 0),
    "exit-3": ExitCase("/exit 3\nafter\n", 3),
    "crash": ExitCase("/crash\nafter\n", 1),
    "end-of-input": ExitCase("", 0),
}


@pytest.mark.parametrize("case", EXIT_CASES.values(), ids=EXIT_CASES.keys())
def test_exit_codes(env: dict[str, str], case: ExitCase) -> None:
    result = run_fake(env, stdin=case.stdin)
    assert result.returncode == case.code
    assert "fake: after" not in result.stdout


def test_crash_on_start(env: dict[str, str]) -> None:
    result = run_fake(env, "--crash-on-start", "--exit-code", "7")
    assert (result.returncode, result.stdout) == (7, "")
    assert result.stderr.strip()


@pytest.mark.parametrize(("args", "code"), [([], 1), (["--exit-code", "4"], 4)], ids=["1", "4"])
def test_exit_after(spawn: Callable[..., Running], args: list[str], code: int) -> None:
    started = time.monotonic()
    fake = spawn("--exit-after", "0.2", *args)  # stdin stays open: it must exit on its own
    assert fake.wait() == code
    assert time.monotonic() - started >= 0.2


def test_argv_log(env: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "argv.jsonl"
    env["FAKE_AGENT_ARGV_LOG"] = str(log)
    session = session_of(run_fake(env, stdin="hi\n").stdout)
    proc = subprocess.Popen(
        [*COMMAND, "--resume", session],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    assert proc.wait(timeout=DEADLINE) == 0
    first, second = records(log)
    assert first["argv"] == []
    assert second["argv"] == ["--resume", session]
    assert second["pid"] == proc.pid
    assert second["env_team_agent_id"] == "impl"
    assert isinstance(second["time"], str)


def test_500_lines_arrive_whole(env: dict[str, str], home: Path) -> None:
    lines = [f"line {i:03d} " + "x" * 200 for i in range(500)]  # about 100 KB
    result = run_fake(env, stdin="\n".join(lines) + "\n")
    assert result.returncode == 0
    assert result.stdout.count("\nfake> ") == 1 + 500  # the first prompt, then one a reply
    (path,) = transcripts(home)
    assert [r["text"] for r in records(path) if r["type"] == "user"] == lines


def test_sleep_is_busy_then_prompts(spawn: Callable[..., Running]) -> None:
    fake = spawn()
    fake.read_until("fake> ")
    fake.send("/sleep 0.1\nafter\n")
    assert fake.read_until("fake> ") == "working...\nfake> "
    assert fake.read_until("fake> ") == "fake: after\nfake> "


def test_sigint_interrupts_then_a_second_one_exits(spawn: Callable[..., Running]) -> None:
    fake = spawn()
    fake.read_until("fake> ")
    fake.send("/sleep 30\n")
    fake.read_until("working...\n")
    fake.proc.send_signal(signal.SIGINT)
    assert fake.read_until("fake> ") == "^C\nfake> "
    fake.proc.send_signal(signal.SIGINT)
    assert fake.wait() == 130


def test_sigterm_exits_143_writing_nothing_more(spawn: Callable[..., Running]) -> None:
    fake = spawn()
    fake.read_until("fake> ")
    fake.proc.send_signal(signal.SIGTERM)
    assert fake.wait() == 143
    assert fake.rest_of_stdout() == b""


def test_sighup_kills_unless_ignored(spawn: Callable[..., Running]) -> None:
    plain, hardy = spawn(), spawn("--ignore-sighup")
    for fake in (plain, hardy):
        fake.read_until("fake> ")
        fake.proc.send_signal(signal.SIGHUP)
    assert plain.wait() == -signal.SIGHUP
    hardy.send("still here\n")
    hardy.read_until("fake: still here\nfake> ")
    hardy.close_stdin()  # its pane is gone: it lives on
    hardy.proc.send_signal(signal.SIGINT)
    hardy.read_until("^C\n")
    hardy.proc.send_signal(signal.SIGTERM)
    assert hardy.wait() == 143


def test_terminal_input_is_not_cut_at_4095_bytes(pty: Callable[..., PtyFake], home: Path) -> None:
    """Over a pty: the fake edits lines itself, so a 10 KB line survives, as in a pane."""
    fake = pty()
    fake.read_until(b"fake> ")
    long_line = "y" * 10_000
    fake.type(b"helx\x7flo\x1b[A\r")
    fake.read_until(b"fake: hello\r\nfake> ")
    fake.type(long_line.encode() + b"\r")
    fake.read_until(f"fake: {long_line}\r\nfake> ".encode())
    fake.type(b"\x04")  # Ctrl-D on an empty line
    assert fake.proc.wait(timeout=DEADLINE) == 0
    assert user_texts(home) == ["hello", long_line]


class EditCase(NamedTuple):
    interactive: bool
    chunks: list[bytes]  # b"" is end of input
    lines: list[str]
    exhausted: bool


EDIT_CASES = {
    "pipe-lines": EditCase(False, [b"a\r\nb", b"c\n"], ["a", "bc"], False),
    "pipe-last-line-without-newline": EditCase(False, [b"a\nb", b""], ["a", "b"], True),
    "tty-backspace": EditCase(True, [b"ab\x7fc\r"], ["ac"], False),
    "tty-backspace-utf8": EditCase(True, ["xé".encode() + b"\x7f\r"], ["x"], False),
    "tty-escape-sequences": EditCase(True, [b"a\x1b[1;5Ab\x1bOCc\r"], ["abc"], False),
    "tty-ctrl-u": EditCase(True, [b"abc\x15d\r"], ["d"], False),
    "tty-ctrl-d-ends-input": EditCase(True, [b"a\r\x04b\r"], ["a"], True),
    "tty-ctrl-d-mid-line-ignored": EditCase(True, [b"a\x04b\r"], ["ab"], False),
    "tty-paste-is-one-line": EditCase(
        True, [b"x\x1b[200~a\rb\nc\r\nd\x1b[201~y\r"], ["xa\nb\nc\ndy"], False
    ),
    "tty-paste-markers-cut-by-reads": EditCase(
        True, [b"\x1b[20", b"0~a\r", b"b\x1b", b"[20", b"1~\r"], ["a\nb"], False
    ),
    "tty-paste-cr-lf-cut-by-reads": EditCase(
        True, [b"\x1b[200~a\r", b"\nb\x1b[201~\r"], ["a\nb"], False
    ),
    "tty-paste-keys-are-data": EditCase(
        True, [b"\x1b[200~a\x7fb\x15c\x04\x1b[Ad\x1b[201~\r"], ["a\x7fb\x15c\x04\x1b[Ad"], False
    ),
    "tty-paste-newline-is-not-erased": EditCase(
        True, [b"\x1b[200~a\rbc\x1b[201~\x7f\x7f\x7fz\x15w\r"], ["a\nw"], False
    ),
    "tty-paste-of-a-marker-start-is-data": EditCase(
        True, [b"\x1b[200~a\x1b[20\x1b[201~\r"], ["a\x1b[20"], False
    ),
    "tty-other-csi-tilde-ignored": EditCase(True, [b"a\x1b[3~\x1b[201~b\r"], ["ab"], False),
}


@pytest.mark.parametrize("case", EDIT_CASES.values(), ids=EDIT_CASES.keys())
def test_line_reader(case: EditCase) -> None:
    echoed: list[bytes] = []
    reader = LineReader(interactive=case.interactive, echo=echoed.append)
    lines: list[str] = []
    for chunk in case.chunks:
        reader.feed(chunk)
        while (line := reader.next_line()) is not None:
            lines.append(line)
    assert lines == case.lines
    assert reader.exhausted == case.exhausted
    assert bool(echoed) == case.interactive


def test_a_paste_is_echoed_as_it_is_in_one_write() -> None:
    echoed: list[bytes] = []
    reader = LineReader(interactive=True, echo=echoed.append)
    reader.feed(PASTE_START + b"one\rtwo\x1b[Athree\tfour" + PASTE_END + b"\r")
    assert reader.next_line() == "one\ntwo\x1b[Athree\tfour"
    assert echoed == [b"one\ntwo^[[Athree\tfour\n"]


def paste(text: str) -> bytes:
    """What tmux sends for ``paste-buffer -p``: LF made CR, inside the paste markers."""
    return PASTE_START + text.replace("\n", "\r").encode() + PASTE_END


def test_terminal_turns_bracketed_paste_on_and_off(pty: Callable[..., PtyFake]) -> None:
    fake = pty()
    assert fake.read_until(b"fake> ").startswith(PASTE_ON)
    fake.type(b"/exit\r")
    assert fake.proc.wait(timeout=DEADLINE) == 0
    assert fake.finish().endswith(PASTE_OFF)


def test_a_multi_line_paste_is_one_message(pty: Callable[..., PtyFake], home: Path) -> None:
    text = "first line\nsecond\n\n  /exit\nlast line"
    fake = pty()
    fake.read_until(b"fake> ")
    fake.type(paste(text))
    assert fake.read_until(b"last line") == b"first line\r\nsecond\r\n\r\n  /exit\r\nlast line"
    fake.type(b"\r")
    size = len(text.encode())
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    reply = f"fake: first line (+4 lines, {size} bytes, sha256 {digest})"
    assert fake.read_until(b"fake> ") == f"\r\n{reply}\r\nfake> ".encode()
    assert fake.proc.poll() is None, "a pasted /exit is text, not a command"
    assert user_texts(home) == [text]
    (path,) = transcripts(home)
    assert records(path)[-1] == {**records(path)[-1], "type": "assistant", "text": reply}


def test_a_100_kb_500_line_paste_arrives_whole_and_fast(
    pty: Callable[..., PtyFake], home: Path
) -> None:
    """The executor's worst case: one paste, one Enter, one message, head intact."""
    lines = [f"line {i:03d} " + "x" * 200 for i in range(500)]
    text = "\n".join(lines)
    assert len(text) > 100_000
    fake = pty()
    fake.read_until(b"fake> ")
    started = time.monotonic()
    fake.type(paste(text) + b"\r", deadline=30.0)
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    fake.read_until(f"(+499 lines, {len(text)} bytes, sha256 {digest})".encode(), deadline=30.0)
    elapsed = time.monotonic() - started
    assert elapsed < 5.0, f"a 100 KB paste took {elapsed:.2f}s"
    assert user_texts(home) == [text]


def test_ctrl_c_during_a_paste_drops_the_text_but_not_the_paste() -> None:
    """The rest of an interrupted paste still arrives as data: its CRs are not Enter."""
    reader = LineReader(interactive=True, echo=lambda data: None)
    reader.feed(PASTE_START + b"a\rb")
    assert reader.next_line() is None
    reader.discard_line()
    reader.feed(b"c\rd" + PASTE_END + b"\r")
    assert reader.next_line() == "c\nd"

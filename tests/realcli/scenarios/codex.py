"""Codex CLI's screens (`@openai/codex`), captured against the mock model.

Codex is started as team-agent starts it, with `-c developer_instructions=...`: any `-c`
override (like `--no-daemon`) makes the TUI run its app server in process, so no shared
`codex app-server` daemon is left behind and the session is ready in about a second. One
pane runs without `-c` to record the daemon's slower start (the trust dialog ~5 s after
the normal prompt); its daemon is stopped at the end (`codex app-server daemon stop` plus
SIGTERM to its `pid-update-loop`, which `stop` leaves running).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.mockmodel.replies import Error, Text, ToolCall
from tests.mockmodel.server import MockModel
from tests.realcli import install
from tests.realcli.capture import FIXTURES, CliPane, Shot, version_of

BOX = "Ask Codex to do anything"
READY = r"default · "  # the status line `<model> default · <cwd>[ · <title>]`
INSTRUCTIONS = ["-c", 'developer_instructions="Capture scenario. Session tag: team-agent:cap"']
NO_RETRIES = [
    "-c",
    "model_providers.mock.request_max_retries=0",
    "-c",
    "model_providers.mock.stream_max_retries=0",
]
SLOW = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi"
PASTE = "\n".join(
    f"line {i:03d}: lorem ipsum dolor sit amet, consectetur adipiscing elit sed do"
    for i in range(300)
)


def _root() -> Path:
    return Path(tempfile.mkdtemp(prefix="ta-cap-"))


def _exchange(cli: CliPane, mock: MockModel, text: str, reply: str) -> Shot:
    """Type `text`, submit it (after a pause: Codex takes a fast type-then-Enter for a
    paste burst and inserts a newline), wait until `reply` is answered and done."""
    mock.script(Text(reply))
    cli.type(text)
    time.sleep(0.5)
    cli.keys("Enter")
    return _done(cli, reply)


def _done(cli: CliPane, reply: str, timeout: float = 30.0, box: str = BOX) -> Shot:
    """Wait for `reply` followed by Codex's `Worked for …` line and the box (empty)."""
    cli.wait_for(re.escape(reply) + r"[\s\S]*Worked for [\s\S]*" + box, timeout=timeout)
    return cli.settle(quiet=0.8)


def _save(cli: CliPane, state: str, note: str = "", shot: Shot | None = None) -> Shot:
    """`cli.save`, plus the pane title into the state's JSON (`"title"`): Codex draws its
    busy spinner only there (`⠋ <thread title> | <folder>` for the whole turn)."""
    shot = cli.save(state, note, shot)
    title = cli.tmux("display-message", "-p", "-t", cli.pane, "#{pane_title}").rstrip("\n")
    title = title.replace(socket.gethostname(), "<host>")  # tmux's default: the host name
    path = FIXTURES / cli.provider / version_of(cli.provider) / f"{state}.json"
    meta = json.loads(path.read_text())
    meta["title"] = title
    path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    return shot


def _session_id(cli: CliPane) -> str:
    rollouts = sorted((cli.home / ".codex" / "sessions").rglob("rollout-*.jsonl"))
    if not rollouts:
        raise RuntimeError("codex: no rollout file after the first message")
    return rollouts[-1].stem[-36:]


def _stop_daemon(cli: CliPane) -> None:
    """Stop the app-server daemon of this pane's CODEX_HOME (only ever ours: its HOME)."""
    codex = install.bin_dir() / install.EXECUTABLES["codex"]
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(
            [str(codex), "app-server", "daemon", "stop"],
            env={**os.environ, **cli.env},
            cwd=cli.workspace,
            capture_output=True,
            timeout=20,
            check=False,
        )
    prefix = str(cli.home / ".codex" / "packages" / "app-server-daemon") + "/"
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if (proc / "cmdline").read_bytes().startswith(prefix.encode()):
                os.kill(int(proc.name), signal.SIGTERM)


def _main(mock: MockModel, saved: list[str]) -> None:
    with CliPane("codex", url=mock.url, root=_root(), args=INSTRUCTIONS) as cli:
        cli.start()
        early = cli.wait_for(BOX, timeout=30)
        if not re.search(READY, early.text):
            _save(cli, "starting", "the early box, before the session is configured", early)
            saved.append("starting")
        cli.wait_for(READY, timeout=30)
        _save(cli, "idle", "empty box, session ready (status line shown)", cli.settle())
        mock.script(Text("reply one"))
        cli.type("hello codex")
        _save(cli, "typed", "short text typed, not submitted", cli.settle(quiet=0.5))
        cli.keys("Enter")
        shot = _done(cli, "reply one")
        _save(cli, "replied", "idle after one exchange; status line has the title", shot)

        mock.script(Text("reply two"))
        cli.paste(PASTE)
        cli.wait_for(r"\[Pasted Content \d+ chars\]", timeout=10)
        _save(cli, "typed_multiline", "300-line paste before Enter", cli.settle(quiet=0.5))
        cli.keys("Enter")
        _done(cli, "reply two")
        if mock.turns()[-1].user_texts()[-1] != PASTE:
            raise RuntimeError("codex: the pasted message did not arrive intact")
        shot = _exchange(cli, mock, "third message", "reply three")
        _save(cli, "replied3", "idle after three exchanges", shot)

        mock.script(Text(SLOW, chunks=3, chunk_delay=3.0), Text("reply five"))
        cli.type("a slow one")
        time.sleep(0.5)
        cli.keys("Enter")
        _save(cli, "busy", "before the first token", cli.wait_for(r"Working \(\d+s", timeout=10))
        shot = cli.wait_for(SLOW[:10], timeout=10)
        _save(cli, "busy_streaming", "mid-stream: no busy marker is drawn", shot)
        cli.type("queued text")
        shot = cli.wait_for("tab to queue", timeout=5)
        _save(cli, "busy_typed", "text typed while the reply streams", shot)
        _done(cli, SLOW[-10:], timeout=20, box="queued text")
        cli.keys("Enter")  # the typed text goes as the next message
        _done(cli, "reply five")

        mock.script(ToolCall("touch approval-probe"), Text("created the file"))
        cli.type("make a file")
        time.sleep(0.5)
        cli.keys("Enter")
        cli.wait_for(r"\u203a 1\. Yes, proceed", timeout=20)
        _save(cli, "approval", "exec_command with require_escalated", cli.settle(quiet=0.5))
        cli.keys("y")
        _save(cli, "after_approval", "after 'Yes, proceed'", _done(cli, "created the file"))
        if not (cli.workspace / "approval-probe").exists():
            raise RuntimeError("codex: the approved command did not run")

        mock.script(Error(429, "mock rate limit"))
        cli.type("rate limited")
        time.sleep(0.5)
        cli.keys("Enter")
        cli.wait_for("last status: 429", timeout=15)
        _save(cli, "error_429", "429: no retry, one request", cli.settle(quiet=0.5))

        mock.script(*[Error(500, "mock server error")] * 40)
        cli.type("server error")
        time.sleep(0.5)
        cli.keys("Enter")
        shot = cli.wait_for(r"Reconnecting\.\.\. 1/5", timeout=20)
        _save(cli, "error_500_retrying", "500 with default retries: 5 requests x 6 rounds", shot)
        cli.keys("Escape")
        cli.wait_for(r"Reconnecting", timeout=10, absent=True)
        mock.reset()

        sid = _session_id(cli)
        os.kill(cli.pid(), signal.SIGKILL)
        cli.wait_for("Pane is dead", timeout=10)
        cli.start(["resume", sid, *INSTRUCTIONS, *NO_RETRIES])
        cli.wait_for("Pane is dead", timeout=10, absent=True)
        cli.wait_for(READY, timeout=20)
        _save(cli, "resumed", "`codex resume <id>` after kill -9", cli.settle(quiet=1.0))

        for status, expect in ((500, "high demand"), (529, "unexpected status 529")):
            mock.script(Error(status, f"mock {status}"))
            cli.type(f"error {status}")
            time.sleep(0.5)
            cli.keys("Enter")
            cli.wait_for(f"\u25a0 .*{expect}", timeout=15)
            _save(cli, f"error_{status}", f"{status} with retries off: final screen", cli.settle())

        cli.keys("C-c")  # one Ctrl-C on an empty box quits
        cli.wait_for("Pane is dead", timeout=10)
        _save(cli, "exited", "after one Ctrl-C on the empty box (exit status 0)", cli.shot())
    saved += [
        "idle",
        "typed",
        "replied",
        "typed_multiline",
        "replied3",
        "busy",
        "busy_streaming",
        "busy_typed",
        "approval",
        "after_approval",
        "error_429",
        "error_500_retrying",
        "resumed",
        "error_500",
        "error_529",
        "exited",
    ]


def _trust(mock: MockModel, saved: list[str]) -> None:
    with CliPane("codex", url=mock.url, root=_root(), trusted=False, git=True) as cli:
        cli.start([])  # no `-c`: the shared daemon starts, the dialog comes ~5 s late
        try:
            preflash = cli.wait_for(BOX, timeout=20)
            while "Trust this folder?" not in (shot := cli.shot()).text:
                if BOX in shot.text:
                    preflash = shot
                time.sleep(0.1)
            _save(cli, "trust_preflash", "normal prompt drawn before the trust dialog", preflash)
            _save(cli, "trust", "git repository, untrusted", cli.settle(quiet=0.5))
            cli.keys("Enter")
            cli.wait_for(READY, timeout=20)
            _save(cli, "after_trust", "after 'Trust and continue'", cli.settle())
        finally:
            _stop_daemon(cli)
    with CliPane("codex", url=mock.url, root=_root(), args=INSTRUCTIONS, trusted=False) as cli:
        cli.start()
        cli.wait_for(READY, timeout=20)
        _save(cli, "idle_untrusted", "no git, untrusted: no dialog, a tips screen", cli.settle())
    saved += ["trust_preflash", "trust", "after_trust", "idle_untrusted"]


def _other_screens(mock: MockModel, saved: list[str]) -> None:
    """The login screen (no model provider configured) and the folder question of a
    resume from another folder than the session's."""
    with CliPane("codex", url=mock.url, root=_root(), args=INSTRUCTIONS) as cli:
        (cli.home / ".codex" / "config.toml").write_text("check_for_update_on_startup = false\n")
        cli.start()
        cli.wait_for("Choose how you want to use Codex", timeout=20)
        _save(cli, "login", "no model provider and no login", cli.settle(quiet=0.5))
    with CliPane("codex", url=mock.url, root=_root(), args=INSTRUCTIONS) as cli:
        cli.start()
        cli.wait_for(READY, timeout=30)
        _exchange(cli, mock, "hello codex", "reply one")
        sid = _session_id(cli)
        os.kill(cli.pid(), signal.SIGKILL)
        cli.wait_for("Pane is dead", timeout=10)
        cli.workspace = cli.root / "elsewhere"
        cli.workspace.mkdir()
        cli.start(["resume", sid, *INSTRUCTIONS])
        cli.wait_for("Working directory · resume", timeout=20)
        _save(cli, "resume_elsewhere", "resume from another folder", cli.settle(quiet=0.5))
    saved += ["login", "resume_elsewhere"]


def capture(mock: MockModel) -> list[str]:
    saved: list[str] = []
    _main(mock, saved)
    mock.reset()
    _trust(mock, saved)
    mock.reset()
    _other_screens(mock, saved)
    return saved

"""Drive one real agent CLI in a private tmux server and save what it draws as fixtures.

A `CliPane` starts a CLI (from the pinned install, `tests.realcli.install`) in its own
`tmux -L ta-cap-…` server at 200x50, with a fresh HOME prepared by `tests.realcli.homes`
and pointed at a mock model server. A scenario (`tests/realcli/scenarios/<cli>.py`) types,
pastes, waits for what the CLI draws, and saves screens. Each saved state is three files in
`tests/fixtures/screens/<cli>/<version>/`:

* `<state>.txt`: `tmux capture-pane -p` of the visible screen, row for row (no `-J`, so
  row N is the cursor's row N);
* `<state>.ansi`: the same with `-e` (colours and attributes, e.g. a dim placeholder);
* `<state>.json`: `{"cursor": [x, y], "size": [w, h], "cli", "version", "state", "note"}`.

Workspace and HOME paths are replaced by fixed placeholders (`/work/ws`, `/work/home`) so
fixtures do not depend on the temporary folder they were captured in; `load()` reads them.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psutil

from tests.realcli import homes, install

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "screens"
WS_PLACEHOLDER = "/work/ws"
HOME_PLACEHOLDER = "/work/home"
WIDTH, HEIGHT = 200, 50


@dataclass(frozen=True)
class Shot:
    """One screen: its rows, the cursor, the size."""

    text: str
    cursor_x: int
    cursor_y: int
    width: int = WIDTH
    height: int = HEIGHT
    ansi: str = ""


def version_of(provider: str) -> str:
    """The pinned version of `provider`'s npm package (the fixture folder's name)."""
    names = {
        "claude": "@anthropic-ai/claude-code",
        "codex": "@openai/codex",
        "gemini": "@google/gemini-cli",
        "copilot": "@github/copilot",
        "opencode": "opencode-ai",
    }
    return install.pinned()[names[provider]]


def load(provider: str, state: str, version: str | None = None) -> Shot:
    """A saved fixture (the pinned version's by default)."""
    folder = FIXTURES / provider / (version or version_of(provider))
    meta = json.loads((folder / f"{state}.json").read_text())
    text = (folder / f"{state}.txt").read_text()
    ansi_path = folder / f"{state}.ansi"
    width, height = meta["size"]
    return Shot(
        text=text,
        cursor_x=meta["cursor"][0],
        cursor_y=meta["cursor"][1],
        width=width,
        height=height,
        ansi=ansi_path.read_text() if ansi_path.exists() else "",
    )


def states(provider: str, version: str | None = None) -> list[str]:
    folder = FIXTURES / provider / (version or version_of(provider))
    return sorted(p.stem for p in folder.glob("*.json"))


class CliPane:
    """One CLI in its own tmux server (see the module docstring). Always `close()` it."""

    def __init__(
        self,
        provider: str,
        *,
        url: str,
        root: Path,
        args: list[str] | None = None,
        trusted: bool = True,
        git: bool = False,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.provider = provider
        self.root = root
        self.workspace = root / "ws"
        self.home = root / "home"
        self.workspace.mkdir(parents=True, exist_ok=True)
        if git:
            subprocess.run(["git", "init", "-q", str(self.workspace)], check=True)
        self.env = homes.prepare(
            provider, self.home, url, workspace=self.workspace, trusted=trusted
        )
        self.env.update(extra_env or {})
        self.env["PATH"] = f"{install.bin_dir()}:{os.environ.get('PATH', '/usr/bin:/bin')}"
        self.args = list(args or [])
        self.socket = f"ta-cap-{provider}-{uuid.uuid4().hex[:8]}"
        self.pane = ""

    # --- tmux ------------------------------------------------------------------------

    def tmux(self, *args: str, check: bool = True, stdin: str | None = None) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            input=stdin,
            check=False,
            timeout=30,
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"tmux {args[0]}: {done.stderr.strip()}")
        return done.stdout

    def start(self, args: list[str] | None = None) -> CliPane:
        """Start (or, after `kill()`, restart in the same pane) the CLI with `args`."""
        argv = [
            str(install.bin_dir() / install.EXECUTABLES[self.provider]),
            *(args if args is not None else self.args),
        ]
        env_args = [part for key, value in self.env.items() for part in ("-e", f"{key}={value}")]
        command = shlex.join(argv)
        if not self.pane:
            self.tmux(
                "-f",
                "/dev/null",
                "start-server",
                ";",
                "set-option",
                "-g",
                "remain-on-exit",
                "on",
                ";",
                "new-session",
                "-d",
                "-x",
                str(WIDTH),
                "-y",
                str(HEIGHT),
                "-c",
                str(self.workspace),
                *env_args,
                command,
            )
            self.pane = self.tmux("list-panes", "-a", "-F", "#{pane_id}").split()[0]
        else:
            self.tmux(
                "respawn-pane", "-k", "-t", self.pane, "-c", str(self.workspace), *env_args, command
            )
        return self

    def close(self) -> None:
        """Kill the server, then what outlives it (Gemini's launcher and child survive the
        loss of their terminal, measured): only processes started with this pane's HOME."""
        self.tmux("kill-server", check=False)
        for proc in psutil.process_iter():
            try:
                if proc.environ().get("HOME") == str(self.home):
                    proc.kill()
            except (psutil.Error, OSError):
                continue
        socket = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}" / self.socket
        socket.unlink(missing_ok=True)

    def __enter__(self) -> CliPane:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- reading ---------------------------------------------------------------------

    def shot(self) -> Shot:
        sep = "\x1eteam-agent:cursor\x1e"
        out = self.tmux(
            "capture-pane",
            "-p",
            "-t",
            self.pane,
            ";",
            "display-message",
            "-p",
            "-t",
            self.pane,
            sep + "#{cursor_x} #{cursor_y} #{pane_width} #{pane_height}",
        )
        text, _, tail = out.rpartition(sep)
        x, y, w, h = (int(v) for v in tail.split())
        ansi = self.tmux("capture-pane", "-p", "-e", "-t", self.pane)
        return Shot(
            text=text.rstrip("\n"),
            cursor_x=x,
            cursor_y=y,
            width=w,
            height=h,
            ansi=ansi.rstrip("\n"),
        )

    def text(self) -> str:
        return self.shot().text

    def wait_for(self, pattern: str, *, timeout: float = 30.0, absent: bool = False) -> Shot:
        """Poll until `pattern` (a regex, multiline) is on screen (or gone, with `absent`)."""
        deadline = time.monotonic() + timeout
        shot = self.shot()
        while time.monotonic() < deadline:
            shot = self.shot()
            if (re.search(pattern, shot.text, re.MULTILINE) is None) == absent:
                return shot
            time.sleep(0.1)
        raise TimeoutError(
            f"{self.provider}: {pattern!r} {'still' if absent else 'not'} on screen:\n{shot.text}"
        )

    def settle(self, quiet: float = 1.0, timeout: float = 20.0) -> Shot:
        """Wait until the screen stops changing for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        last = self.shot()
        since = time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now = self.shot()
            if (now.text, now.cursor_x, now.cursor_y) != (last.text, last.cursor_x, last.cursor_y):
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return now
        return last

    def pid(self) -> int:
        return int(self.tmux("display-message", "-p", "-t", self.pane, "#{pane_pid}").strip())

    # --- typing ----------------------------------------------------------------------

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.pane, "-l", text)

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.pane, *keys)

    def paste(self, text: str) -> None:
        """A bracketed paste, as team-agent delivers a message."""
        self.tmux("load-buffer", "-b", "cap", "-", stdin=text)
        self.tmux("paste-buffer", "-p", "-d", "-b", "cap", "-t", self.pane)

    # --- saving ----------------------------------------------------------------------

    def save(self, state: str, note: str = "", shot: Shot | None = None) -> Shot:
        """Save the current screen (or `shot`) as fixture `state` of the pinned version."""
        shot = shot or self.shot()
        version = version_of(self.provider)
        folder = FIXTURES / self.provider / version
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{state}.txt").write_text(self._scrub(shot.text) + "\n")
        (folder / f"{state}.ansi").write_text(self._scrub(shot.ansi) + "\n")
        meta = {
            "cli": self.provider,
            "version": version,
            "state": state,
            "note": note,
            "cursor": [shot.cursor_x, shot.cursor_y],
            "size": [shot.width, shot.height],
        }
        (folder / f"{state}.json").write_text(json.dumps(meta, indent=2) + "\n")
        return shot

    def _scrub(self, text: str) -> str:
        """Fixed placeholders for the temporary paths, padded so columns do not move."""
        for real, fixed in (
            (str(self.workspace.resolve()), WS_PLACEHOLDER),
            (str(self.home.resolve()), HOME_PLACEHOLDER),
        ):
            text = text.replace(real, fixed.ljust(len(real)) if len(fixed) < len(real) else fixed)
        return text

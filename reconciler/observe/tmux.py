"""The one adapter through which every tmux call goes.

Why one adapter: the reconciler's speed promise ("a no-op pass costs O(1) tmux calls") and
its safety promise (no shell interpolation, targets by id) are only checkable when every
call passes through a single place. `Tmux` counts its invocations, builds argv lists (never
shell strings), and turns tmux's stderr into the error taxonomy:

* the server is not running (socket missing or refusing) is a *fact about the world*
  (nothing exists), reported as `ServerNotRunning`, not as an error of the pass;
* tmux missing or unreachable for another reason is `TmuxUnavailable`;
* anything else is a `TmuxCommandError` carrying the command and tmux's message.

Several tmux commands can run in one invocation (`Tmux.run_sequence`): tmux executes a
`;`-separated sequence in one go without returning to its event loop in between, which is
what makes "create a window and mark it" atomic with respect to a crash of ours or an
exit of the agent.

The transport is a plain `subprocess.run` of `tmux [-S PATH | -L NAME] ARGS...`. It used
to be libtmux's `Server.cmd`, which does the same, but importing libtmux costs about
45 ms of the 300 ms a whole `team-agent reconcile --once` may take (see
docs/benchmarks.md), for one function we can state in ten lines.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field

from reconciler.api.errors import TeamAgentError, TmuxUnavailable

SEQUENCE_SEPARATOR = ";"


class ServerNotRunning(TeamAgentError):
    """No tmux server listens on the socket: the world holds no panes there."""


class TmuxCommandError(TeamAgentError):
    """tmux ran and refused the command (bad target, index in use, ...)."""

    def __init__(self, argv: Sequence[str], stderr: str) -> None:
        self.argv = tuple(argv)
        self.stderr = stderr
        super().__init__(f"tmux {argv[0] if argv else ''}: {stderr}")

    @property
    def target_gone(self) -> bool:
        """The pane/window/session named by the command no longer exists."""
        text = self.stderr.lower()
        return "can't find" in text or "no such" in text


def format_literal(text: str) -> str:
    """`text` for an argument tmux expands as a format, such as the `-c` start directory.

    tmux expands `#{...}` in such arguments and runs `#(...)` as a shell command, so a
    workspace path holding `#(...)` would be executed. `##` is tmux's literal `#`; doubling
    every `#` leaves nothing for tmux to interpret.
    """
    return text.replace("#", "##")


def _lines(stdout: str) -> list[str]:
    """tmux's stdout as lines, trailing blank lines dropped (as libtmux hands them over)."""
    lines = stdout.split("\n")
    while lines and lines[-1] == "":
        lines.pop()
    return lines


def socket_path_for(socket_name: str | None) -> str:
    """The socket path tmux uses for `-L NAME` (as tmux puts it into `$TMUX`)."""
    folder = os.path.realpath(
        os.path.join(os.environ.get("TMUX_TMPDIR") or "/tmp", f"tmux-{os.getuid()}")
    )
    return os.path.join(folder, socket_name or "default")


def _server_not_up(stderr: str) -> bool:
    if "no server running" in stderr or "server exited unexpectedly" in stderr:
        return True  # the second: it was shutting down as we connected (kill-server)
    return "error connecting to" in stderr and (
        "No such file or directory" in stderr or "Connection refused" in stderr
    )


@dataclass
class Tmux:
    """A tmux server addressed by socket name (`tmux -L NAME`), socket path (`tmux -S PATH`,
    how `$TMUX` names the server a pane lives on), or the default server.

    `calls` counts tmux invocations; benchmarks and tests read it to hold the
    "constant calls per no-op pass" promise.
    """

    socket_name: str | None = None
    socket_path: str | None = None
    calls: int = field(default=0, init=False)

    def base_argv(self) -> list[str]:
        """The argv prefix for running tmux against this server from another program."""
        argv = ["tmux"]
        if self.socket_path:
            argv += ["-S", self.socket_path]
        elif self.socket_name:
            argv += ["-L", self.socket_name]
        return argv

    def run(self, *args: str) -> list[str]:
        """Run one tmux command and return its stdout lines."""
        return self.run_sequence([list(args)])

    def run_sequence(
        self, commands: Sequence[Sequence[str]], *, stdin: str | None = None
    ) -> list[str]:
        """Run several tmux commands in one invocation, in order, atomically for tmux.

        `stdin` feeds a command that reads the client's input (`load-buffer -b NAME -`),
        so message text reaches tmux as data, never as an argument or a shell word.
        """
        argv: list[str] = []
        for i, command in enumerate(commands):
            if i:
                argv.append(SEQUENCE_SEPARATOR)
            argv.extend(command)
        if not argv:
            return []
        self.calls += 1
        try:
            result = subprocess.run(
                [*self.base_argv(), *argv],
                input=stdin,
                stdin=None if stdin is not None else subprocess.DEVNULL,
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="backslashreplace",
                check=False,
            )
        except FileNotFoundError as err:
            raise TmuxUnavailable("tmux is not installed (not found on PATH)") from err
        except OSError as err:
            raise TmuxUnavailable(f"cannot run tmux: {err}") from err
        stderr = "\n".join(line for line in result.stderr.split("\n") if line)
        if result.returncode != 0:
            if _server_not_up(stderr):
                raise ServerNotRunning(stderr)
            if "permission denied" in stderr.lower():
                raise TmuxUnavailable(stderr)
            raise TmuxCommandError(argv, stderr)
        return _lines(result.stdout)

    def kill_server(self) -> None:
        """Kill this server (tests and `demo --clean` only); a server already gone is fine."""
        try:
            self.run("kill-server")
        except ServerNotRunning:
            return

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

The transport is libtmux's `Server.cmd` (socket selection, binary lookup); everything
above that is ours because it is the contract.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field

import libtmux
from libtmux import exc as libtmux_exc

from reconciler.errors import TeamAgentError, TmuxUnavailable

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


def _server_not_up(stderr: str) -> bool:
    if "no server running" in stderr or "server exited unexpectedly" in stderr:
        return True  # the second: it was shutting down as we connected (kill-server)
    return "error connecting to" in stderr and (
        "No such file or directory" in stderr or "Connection refused" in stderr
    )


@dataclass
class Tmux:
    """A tmux server addressed by socket name (`tmux -L NAME`), or the default server.

    `calls` counts tmux invocations; benchmarks and tests read it to hold the
    "constant calls per no-op pass" promise.
    """

    socket_name: str | None = None
    calls: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self._server = libtmux.Server(socket_name=self.socket_name)

    @property
    def available(self) -> bool:
        return shutil.which("tmux") is not None

    def base_argv(self) -> list[str]:
        """The argv prefix for running tmux against this server from another program."""
        argv = ["tmux"]
        if self.socket_name:
            argv += ["-L", self.socket_name]
        return argv

    def run(self, *args: str) -> list[str]:
        """Run one tmux command and return its stdout lines."""
        return self.run_sequence([list(args)])

    def run_sequence(self, commands: Sequence[Sequence[str]]) -> list[str]:
        """Run several tmux commands in one invocation, in order, atomically for tmux."""
        argv: list[str] = []
        for i, command in enumerate(commands):
            if i:
                argv.append(SEQUENCE_SEPARATOR)
            argv.extend(command)
        if not argv:
            return []
        self.calls += 1
        try:
            result = self._server.cmd(*argv)
        except libtmux_exc.TmuxCommandNotFound as err:
            raise TmuxUnavailable("tmux is not installed (not found on PATH)") from err
        except OSError as err:
            raise TmuxUnavailable(f"cannot run tmux: {err}") from err
        stderr = "\n".join(result.stderr)
        if result.returncode != 0:
            if _server_not_up(stderr):
                raise ServerNotRunning(stderr)
            if "permission denied" in stderr.lower():
                raise TmuxUnavailable(stderr)
            raise TmuxCommandError(argv, stderr)
        return list(result.stdout)

    def kill_server(self) -> None:
        """Kill this server (tests and `demo --clean` only); a server already gone is fine."""
        try:
            self.run("kill-server")
        except ServerNotRunning:
            return

"""The demo and starter teams: specs that run on any machine with tmux and Python.

The demo uses only the `fake` and `shell` providers and a private tmux socket, so it
needs no AI CLI, no API key, and never touches the person's own tmux server.

Each demo folder gets its own socket (`team-agent-demo-<hash of the folder>`): with one
fixed name, a second demo in another folder found the first one's session on the same
server, with another workspace's markers, and stalled on `SessionConflict`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from reconciler.cli.packaged import with_schema_line

DEMO_SOCKET_PREFIX = "team-agent-demo"

DEMO_SPEC = """\
# A demo team: two fake agents and one shell command, on a private tmux socket.
# Edit this file while `team-agent run` is running and watch the team follow.
version: 1
team:
  name: demo
agents:
  - id: lead
    provider: fake
    role: plans the work
  - id: impl
    provider: fake
    role: writes the code
    env:
      LOG_LEVEL: debug
  - id: clock
    provider: shell
    command: ["sh", "-c", "while true; do date; sleep 5; done"]
    restart_policy: Always
runtime:
  tmux_socket: {socket}
"""

STARTER_SPEC = """\
# team.spec.yaml: the desired state of your agent team (docs: README.md).
version: 1
team:
  name: my-team
agents:
  - id: impl
    provider: fake          # claude | codex | gemini | copilot | opencode | shell | fake
  # - id: reviewer
  #   provider: claude
  #   model: sonnet
  #   restart_policy: Always  # Always | OnFailure | Never
runtime:
  tmux_socket: my-team      # a private tmux server; remove to use your default one
"""


def demo_socket(directory: Path) -> str:
    """The demo's private tmux socket for `directory`: one server per demo folder."""
    digest = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:8]
    return f"{DEMO_SOCKET_PREFIX}-{digest}"


def write_demo(directory: Path) -> Path:
    """Write the demo spec in `directory` unless one is there (edits are kept); its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "team.spec.yaml"
    if not path.exists():
        text = DEMO_SPEC.format(socket=demo_socket(directory))
        path.write_text(with_schema_line(text), encoding="utf-8")
    return path.resolve()


def write_starter(directory: Path, text: str = STARTER_SPEC) -> Path:
    """Write a starter spec (`text`: the starter, or a shipped example) with the installed
    schema's editor hint; refuses to overwrite an existing one (FileExistsError)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "team.spec.yaml"
    with path.open("x", encoding="utf-8") as handle:
        handle.write(with_schema_line(text))
    return path.resolve()

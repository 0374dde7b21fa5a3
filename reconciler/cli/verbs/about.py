"""`version`: which team-agent runs, on which Python and which tmux (for bug reports).

`--version` prints the first line only, as other tools do; `version` adds what a bug
report needs besides: the interpreter (an isolated `pipx`/`uv tool` install has its own)
and the tmux on PATH (team-agent needs 3.3 or newer).
"""

from __future__ import annotations

import platform
import subprocess
import sys

import click

from reconciler.cli.main import package_version


@click.command()
def version() -> None:
    """Print team-agent's version, and the Python and tmux it uses."""
    click.echo(f"team-agent {package_version()}")
    click.echo(f"python {platform.python_version()} ({sys.executable})")
    click.echo(f"tmux {_tmux_version()}")


def _tmux_version() -> str:
    try:
        done = subprocess.run(
            ["tmux", "-V"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"unavailable ({err})"
    text = done.stdout.strip()
    return text.removeprefix("tmux ") if done.returncode == 0 and text else "unavailable"

"""The CLI where it runs another program: `version` asks tmux for its version."""

from __future__ import annotations

from reconciler.cli.main import package_version
from tests.unit.test_cli import invoke


def test_version_verb_adds_python_and_tmux() -> None:
    code, out = invoke("version")
    assert code == 0
    first, python, tmux = out.splitlines()
    assert first == f"team-agent {package_version()}"
    assert python.startswith("python 3.")
    assert tmux.startswith("tmux ")

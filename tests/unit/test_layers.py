"""The layer rules hold (issue 15): checked by import-linter's contracts in pyproject.toml.

The contracts say: `reconciler.api` imports nothing above it; the command line is imported
by nothing; the engine reaches controllers only through `controllers.registry` and the
plug-in contract `controllers.base`; the controllers' plan modules import no tmux,
subprocess, psutil, SQLite or executor. A broken contract fails here with import-linter's
report (which module imports which, and where).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "4 kept, 0 broken" in out

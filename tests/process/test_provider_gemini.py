"""The pinned `gemini` accepts every flag a permission mode maps to, and refuses a mode it
does not know.

They run the pinned CLI (installed by `scripts/bootstrap --with-clis`; skipped with the
reason without it), so they live here, apart from the pure mapping in
tests/unit/test_provider_gemini.py, and carry the `realcli` marker.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from controllers.providers.gemini import PERMISSION_FLAGS
from tests.realcli import install

pytestmark = pytest.mark.realcli


def list_sessions(home: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    """`gemini <flags> --list-sessions`: `--help` and `--version` skip Gemini's option
    checks (a bogus mode exits 0 there); `--list-sessions` parses every option, prints and
    exits (a bogus mode: exit 1)."""
    if not install.installed():
        pytest.skip("the pinned gemini is not installed (python -m tests.realcli.install)")
    exe = shutil.which("gemini", path=str(install.bin_dir()))
    assert exe is not None
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}
    return subprocess.run(
        [exe, *flags, "--list-sessions"],
        cwd=home,
        env={**env, "GEMINI_API_KEY": "x"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("mode", sorted(PERMISSION_FLAGS))
def test_the_real_cli_accepts_every_mapped_flag(mode: str, tmp_path: Path) -> None:
    done = list_sessions(tmp_path, *PERMISSION_FLAGS[mode])
    assert done.returncode == 0, done.stderr


def test_the_real_cli_refuses_an_unknown_mode(tmp_path: Path) -> None:
    """What makes the test above able to fail. Once, not once per mode: the answer does
    not depend on the mode under test."""
    assert list_sessions(tmp_path, "--approval-mode", "bogus").returncode == 1

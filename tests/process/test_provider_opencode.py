"""The pinned `opencode` accepts every flag a permission mode maps to.

They run the pinned CLI (installed by `scripts/bootstrap --with-clis`; skipped with the
reason without it), so they live here, apart from the pure mapping in
tests/unit/test_provider_opencode.py, and carry the `realcli` marker.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from controllers.providers.opencode import PERMISSION_FLAGS
from tests.realcli import install

pytestmark = pytest.mark.realcli


@pytest.mark.parametrize("mode", sorted(PERMISSION_FLAGS))
def test_the_real_cli_accepts_every_mapped_flag(mode: str) -> None:
    if not install.installed():
        pytest.skip("the pinned opencode is not installed (python -m tests.realcli.install)")
    exe = shutil.which("opencode", path=str(install.bin_dir()))
    assert exe is not None
    done = subprocess.run(
        [exe, *PERMISSION_FLAGS[mode], "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for flag in PERMISSION_FLAGS[mode]:
        assert flag in done.stdout + done.stderr

"""The pinned `codex` accepts the argv each permission mode maps to, fresh and resumed,
and refuses a policy it no longer knows.

They run the pinned CLI (installed by `scripts/bootstrap --with-clis`; skipped with the
reason without it), so they live here, apart from the pure mapping in
tests/unit/test_provider_codex.py, and carry the `realcli` marker.
"""

from __future__ import annotations

import subprocess

import pytest

from controllers.providers.codex import (
    CodexProvider,
)
from reconciler.api.spec import PERMISSION_MODES
from tests.realcli import install
from tests.unit.test_provider_codex import CTX, SID, agent

pytestmark = pytest.mark.realcli


def real_codex() -> str:
    if not install.installed():
        pytest.skip("the pinned codex is not installed (scripts/install-clis)")
    return str(install.bin_dir() / install.EXECUTABLES["codex"])


@pytest.mark.parametrize("mode", PERMISSION_MODES["codex"])
def test_the_real_cli_accepts_each_modes_argv_fresh_and_resumed(mode: str) -> None:
    """`--help` after the options: clap rejects a bad value first (exit 2), else exit 0."""
    codex = real_codex()
    spec = agent(permission_mode=mode, model="gpt-5-codex")
    provider = CodexProvider()
    launch = provider.launch(spec, CTX)
    resume = provider.profile(spec, CTX, launch).sessions
    assert resume is not None
    for argv in (launch.argv, resume.resume_argv(SID)):
        done = subprocess.run(
            [codex, *argv[1:], "--help"], capture_output=True, text=True, timeout=30, check=False
        )
        assert done.returncode == 0, (argv, done.stderr)


def test_the_real_cli_refuses_an_old_policy() -> None:
    """What makes the test above able to fail: clap rejects a bad value before `--help`.
    Once, not once per mode: the answer does not depend on the mode under test."""
    codex = real_codex()
    bad = subprocess.run([codex, "-a", "untrusted", "--help"], capture_output=True, timeout=30)
    assert bad.returncode == 2  # the check can fail: 0.171 refuses the old policies

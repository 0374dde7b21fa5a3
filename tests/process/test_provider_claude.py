"""The pinned `claude` accepts the argv each permission mode maps to, fresh and resumed,
and refuses a mode it does not know.

They run the pinned CLI (installed by `scripts/bootstrap --with-clis`; skipped with the
reason without it), so they live here, apart from the pure mapping in
tests/unit/test_provider_claude.py, and carry the `realcli` marker.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from controllers.providers.claude import (
    ROOT_REFUSED,
    ClaudeProvider,
)
from tests.realcli import install
from tests.unit.test_provider_claude import CTX, MODE_CASES, SANDBOX, SID, ModeCase, agent

pytestmark = pytest.mark.realcli


def real_claude() -> str:
    if not install.installed():
        pytest.skip("the pinned claude is not installed (scripts/install-clis)")
    return str(install.bin_dir() / install.EXECUTABLES["claude"])


@pytest.mark.parametrize("case", MODE_CASES, ids=[c.mode for c in MODE_CASES])
def test_the_real_cli_accepts_each_modes_argv(case: ModeCase, tmp_path: Path) -> None:
    """Each argv, fresh and resumed, run as `claude <argv> -p hi` against a closed port:
    accepted flags get as far as the API call ("Unable to connect to API", exit 1); a
    refused value or root's bypass refusal stops before it. The bypass modes get
    `IS_SANDBOX=1` here only when this test runs as root (it does in CI)."""
    claude = real_claude()
    env = SANDBOX if case.bypass and os.geteuid() == 0 else {}
    spec = agent(permission_mode=case.mode, env=env, model="claude-sonnet-4-5")
    provider = ClaudeProvider()
    launch = provider.launch(spec, CTX)
    sessions = provider.profile(spec, CTX, launch).sessions
    assert sessions is not None
    run_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "ANTHROPIC_BASE_URL": "http://127.0.0.1:9",
        "ANTHROPIC_API_KEY": "sk-ant-unused",
        "CLAUDE_CODE_MAX_RETRIES": "0",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        **env,
    }
    for argv in (sessions.fresh_argv(launch.argv, SID), sessions.resume_argv(SID)):
        done = subprocess.run(
            [claude, *argv[1:], "-p", "hi"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=run_env,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
        )
        # (`-p --resume` of an id this HOME does not hold goes on to the API too.)
        assert "Unable to connect to API" in done.stdout + done.stderr, (argv, done)
    if case.bypass and os.geteuid() == 0:  # and without IS_SANDBOX, Claude itself refuses
        refused = subprocess.run(
            [claude, *case.flags, "-p", "hi"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={k: v for k, v in run_env.items() if k != "IS_SANDBOX"},
            stdin=subprocess.DEVNULL,
        )
        assert refused.returncode == 1 and ROOT_REFUSED in refused.stderr + refused.stdout


def test_the_real_cli_refuses_an_unknown_mode() -> None:
    """What makes the test above able to fail: a value Claude does not know is refused.
    Once, not once per mode: the answer does not depend on the mode under test."""
    claude = real_claude()
    bad = subprocess.run(
        [claude, "--permission-mode", "bogus", "--help"], capture_output=True, timeout=60
    )
    assert bad.returncode == 1  # the check can fail: a refused value exits before the help

"""The deploy files run: the scripts parse as bash, the CI workflow's install step calls
pipx as documented (against recording shims), and `check_team.sh` maps each status to
its monitoring exit code (against a `team-agent` shim). The files read as data are
checked in tests/unit/test_deploy.py, which also holds the cases.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.unit.test_deploy import CHECK, CHECK_CASES, REPO, CheckCase, _runs, _workflow

SCRIPTS = [
    REPO / "scripts" / "bootstrap",
    REPO / "scripts" / "demo",
    REPO / "scripts" / "test",
    REPO / ".ci" / "run",
    CHECK,
]


class InstallCase(NamedTuple):
    name: str
    git: str | None  # TEAM_AGENT_GIT (None: the workflow's own default)
    code: int
    pipx: str  # the arguments pipx gets ("" when it must not run)


INSTALL_CASES = [
    InstallCase("placeholder-refused", None, 2, ""),
    InstallCase(
        "git",
        "https://git.example/acme/team-agent",
        0,
        "install --python python3 git+https://git.example/acme/team-agent@main",
    ),
    InstallCase("this-repository", ".", 0, "install --python python3 ."),
]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(REPO)))
def test_script_is_executable_bash(script: Path) -> None:
    # .ci/run calls ./scripts/test, which calls ./scripts/bootstrap: a lost x bit breaks CI.
    assert os.access(script, os.X_OK), f"{script} is not executable"
    assert script.read_text(encoding="utf-8").startswith("#!/usr/bin/env bash\n")
    checked = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize("case", INSTALL_CASES, ids=[c.name for c in INSTALL_CASES])
def test_workflow_installs_from_the_repository(tmp_path: Path, case: InstallCase) -> None:
    """No `team-agent` is published on PyPI, and one there would be someone else's (D17)."""
    (job,) = _workflow()["jobs"].values()
    (install,) = [s for s in job["steps"] if "pipx install" in s.get("run", "")]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("pipx", "team-agent"):  # record the call instead of installing anything
        shim = bin_dir / tool
        shim.write_text(f'#!/bin/sh\necho "$*" >> "{tmp_path}/{tool}.calls"\n')
        shim.chmod(0o755)
    env = {**os.environ, **job["env"], "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    if case.git is not None:
        env["TEAM_AGENT_GIT"] = case.git
    done = subprocess.run(
        ["bash", "-e", "-c", install["run"]], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == case.code, done.stdout + done.stderr
    calls = tmp_path / "pipx.calls"
    assert (calls.read_text().strip() if calls.exists() else "") == case.pipx
    assert not any("pip install" in run for run in _runs(job))


def _shim(bin_dir: Path, output: str, status_exit: int) -> Path:
    """A `team-agent` that records its arguments and prints `output` (no tmux, no spec)."""
    bin_dir.mkdir()
    (bin_dir / "output").write_text(output, encoding="utf-8")
    shim = bin_dir / "team-agent"
    shim.write_text(
        "#!/bin/sh\n"
        'printf "%s\\n" "$*" > "$(dirname "$0")/args"\n'
        '[ "$#" -gt 0 ] || exit 64\n'
        'cat "$(dirname "$0")/output"\n'
        f'[ {status_exit} -eq 0 ] || echo "team-agent: no status yet" >&2\n'
        f"exit {status_exit}\n",
        encoding="utf-8",
    )
    shim.chmod(0o755)
    return shim


@pytest.mark.skipif(shutil.which("python3") is None, reason="check_team.sh runs python3")
@pytest.mark.parametrize("case", CHECK_CASES, ids=[c.name for c in CHECK_CASES])
def test_check_team_exit_code(tmp_path: Path, case: CheckCase) -> None:
    bin_dir = tmp_path / "bin"
    _shim(bin_dir, case.output(datetime.now(timezone.utc)), case.status_exit)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    env.pop("TEAM_AGENT", None)
    argv = ["bash", str(CHECK), *case.args, "-f", "/srv/ws/team.spec.yaml"]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=30)
    assert (done.returncode, done.stderr) == (case.code, "")
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout
    assert lines[0].startswith(case.line), lines[0]
    # Options other than --max-age and --refresh reach team-agent, before `status -o json`.
    args = (bin_dir / "args").read_text(encoding="utf-8").split()
    assert args == ["-f", "/srv/ws/team.spec.yaml", *case.status_args]

"""team-agent as a user installs it: a built wheel in a virtualenv of its own (issue 12, D13, D17).

The suite itself runs from an editable install, which can hide what a wheel lacks (the
schemas and examples `init` and `demo` use) and how the installed program finds its own
packages. Here the wheel is built from a copy of the sources and installed without
`-e`; its dependencies come from the suite's virtualenv through a `.pth` line (so nothing
is downloaded but the build backend, which pip caches), and that line does not activate
the suite's editable finder, which only a `.pth` file in a site folder could do.

About ten seconds for the module (the wheel is built once).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.e2e.test_workspace_names import SHELL_TEAM, poison

pytestmark = pytest.mark.e2e

SOURCES = ("pyproject.toml", "README.md", "reconciler", "controllers", "schemas", "examples")
PACKAGED = (
    "reconciler/data/schemas/team.schema.json",
    "reconciler/data/schemas/status.schema.json",
    "reconciler/data/schemas/result-envelope.schema.json",
    "reconciler/data/examples/minimal.team.spec.yaml",
    "reconciler/data/examples/full.team.spec.yaml",
)


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path

    @property
    def program(self) -> Path:
        return self.venv / "bin" / "team-agent"

    def run(
        self, *args: str, cwd: Path, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        scrubbed = ("TMUX", "TMUX_PANE", "TEAM_AGENT_WORKSPACE", "PYTHONPATH")
        base = {k: v for k, v in os.environ.items() if k not in scrubbed}
        return subprocess.run(
            [str(self.program), *args],
            cwd=cwd,
            env={**base, **(env or {})},
            capture_output=True,
            text=True,
            timeout=120,
        )


def _run(*argv: str | Path, cwd: Path | None = None) -> None:
    done = subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, f"{argv}:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    root = tmp_path_factory.mktemp("install")
    source = root / "src"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in SOURCES:
        if (REPO / name).is_dir():  # symlinks=True: reconciler/data's links stay links
            shutil.copytree(REPO / name, source / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(REPO / name, source / name)
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", root / "dist", source)
    (wheel,) = (root / "dist").glob("team_agent-*.whl")
    venv = root / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", wheel)
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "suite-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    yield Installed(wheel, venv)


def test_the_wheel_carries_the_schemas_and_examples(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
    assert set(PACKAGED) <= names


def test_the_installed_program_is_not_the_checkout(installed: Installed, tmp_path: Path) -> None:
    """What follows tests the wheel: the checkout must not be what answers."""
    done = subprocess.run(
        [installed.venv / "bin" / "python", "-c", "import reconciler; print(reconciler.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(done.stdout.strip()).is_relative_to(installed.venv)
    version = installed.run("--version", cwd=tmp_path)
    assert version.stdout.startswith("team-agent "), version.stderr


def test_init_uses_the_installed_examples(installed: Installed, tmp_path: Path) -> None:
    done = installed.run("init", "--example", "full", str(tmp_path / "t"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    first = (tmp_path / "t" / "team.spec.yaml").read_text().splitlines()[0]
    schema = Path(first.split("$schema=file://", 1)[1])
    assert schema.is_file() and schema.is_relative_to(installed.venv)


def test_installed_team_runs_in_a_workspace_with_our_module_names(
    installed: Installed, tmp_path: Path, tmux_socket: str
) -> None:
    """D13 with a wheel: the workspace's `controllers/` and `reconciler/` are never imported."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    poison(workspace)
    (workspace / "team.spec.yaml").write_text(SHELL_TEAM)

    done = installed.run(
        "reconcile", "--once", "--wait", "20s", cwd=workspace, env={"HOME": str(tmp_path)}
    )

    assert done.returncode == 0, done.stdout + done.stderr
    status = installed.run("status", cwd=workspace)
    assert "worker" in status.stdout and "Running" in status.stdout, status.stdout

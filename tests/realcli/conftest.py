"""Fixtures for the real agent CLIs: the pinned install, one mock model server, a team.

The CLIs are installed once into a cache keyed by the lock file (`tests.realcli.install`).
Where node/npm are missing, these tests are skipped with the reason, on a developer's
machine only: under CI (`CI=true`) a missing CLI fails the run, so CI can never pass by
skipping the tests that prove the providers work.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TeamWorkspace
from tests.mockmodel.server import MockModel
from tests.realcli import install
from tests.realcli.team import RealTeam

pytestmark = pytest.mark.realcli


@pytest.fixture(scope="session")
def real_bin() -> Path:
    try:
        return install.ensure()
    except install.CliInstallError as err:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the real CLIs: {err}")
        pytest.skip(f"the real agent CLIs are not available here: {err}")


@pytest.fixture(scope="session")
def mock_server() -> Iterator[MockModel]:
    with MockModel() as mock:
        yield mock


@pytest.fixture
def mock(mock_server: MockModel) -> MockModel:
    mock_server.reset()
    return mock_server


@pytest.fixture
def real_team(
    tmp_path: Path,
    tmux_socket: str,
    monkeypatch: pytest.MonkeyPatch,
    real_bin: Path,
    mock: MockModel,
) -> Iterator[RealTeam]:
    """A workspace whose agents run the real CLIs (PATH has the pinned install)."""
    root = tmp_path / "ws"
    root.mkdir()
    monkeypatch.setenv("PATH", f"{real_bin}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("TEAM_AGENT_AUTO_TRUST_OWN_WORKSPACE", raising=False)
    real = RealTeam(
        team=TeamWorkspace(root=root, socket=tmux_socket), mock=mock, home=tmp_path / "home"
    )
    yield real
    real.cleanup()

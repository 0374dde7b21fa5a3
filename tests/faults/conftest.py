"""The fault suite's two lengths: a short run in every `pytest -q tests`, a long one on demand.

Every test here gets the `faults` marker. Trial counts and durations come from
`harness.RUN`: a few trials per test by default, the long counts (at least 50 where the
issue asks for 50) and the 10-minute soak when the long run is on. The long run is on when
`TEAM_AGENT_LONG=1` is set, or when the `-m` expression asks for `long` (`pytest tests -m
long`); in the long run every fault test also gets the `long` marker, so `-m long` selects
the whole suite at its long length (README.md in this folder).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults import harness

FAULTS_DIR = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    harness.RUN.configure(str(config.getoption("markexpr", "") or ""))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if FAULTS_DIR not in Path(str(item.path)).resolve().parents:
            continue
        item.add_marker(pytest.mark.faults)
        if harness.RUN.long:
            item.add_marker(pytest.mark.long)

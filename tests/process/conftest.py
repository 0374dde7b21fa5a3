"""Tests that start real child processes but no tmux server: the fake agent, the stub and
the real agent CLIs' flag checks, `exec_agent`, the CLI, the deploy scripts, and the
lock, events, store and requests across processes. Each gets the `process` marker
(`-m process` selects them); tests/README.md says what belongs where.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.store.statusfile import ensure_state_dir

PROCESS_DIR = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if PROCESS_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.process)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    """The workspace's state folder (`.team`, 0700), as the reconciler makes it."""
    return ensure_state_dir(tmp_path)

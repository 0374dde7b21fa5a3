"""The command line's own surface: version, piped output, `init`, the lock probe (issue 12, D).

Run in process with click's `CliRunner`, whose output is not a terminal: what a pipe, a
file or CI sees.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner

from reconciler.api import conditions as C
from reconciler.api.clock import format_time
from reconciler.api.status import AgentStatus, LastReconcile, TeamStatus
from reconciler.cli.main import cli, package_version
from reconciler.cli.packaged import TEAM_SCHEMA
from reconciler.cli.util import running_reconciler
from reconciler.store.lock import LOCK_FILE, LockHolder, WorkspaceLock
from reconciler.store.statusfile import StatusStore, ensure_state_dir

SPEC = "version: 1\nteam: {name: cli}\nagents:\n  - id: impl\n    provider: fake\n"


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.output


# --- D15: the version ------------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_flag_prints_the_installed_version(flag: str) -> None:
    code, out = invoke(flag)
    assert (code, out) == (0, f"team-agent {package_version()}\n")
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", package_version())  # metadata, not "unknown"


# --- D19: tables when piped ------------------------------------------------------------------


def test_status_table_does_not_wrap_when_piped(tmp_path: Path) -> None:
    """A pipe is not an 80-column terminal: each agent stays on one line for grep and awk."""
    spec = tmp_path / "team.spec.yaml"
    spec.write_text(SPEC)
    message = "waiting for the model to answer a very long question " * 4
    now = datetime.now(timezone.utc)
    ready = C.condition(C.READY, C.FALSE, "Starting", message, now=now, generation=1)
    status = msgspec.structs.replace(
        TeamStatus.empty("cli"),
        agents={"impl": AgentStatus(paneId="%1", pid=4242, conditions=[ready])},
        # Observed just now, as a pass writes it (a status never observed would read stale).
        lastReconcile=LastReconcile(id="p", startedAt=format_time(now), durationMs=1),
    )
    StatusStore(ensure_state_dir(tmp_path)).write(status)

    code, out = invoke("-f", str(spec), "status", env={"COLUMNS": "80"})

    assert code == 0
    (row,) = [line for line in out.splitlines() if line.startswith("impl")]
    assert row.split()[:5] == ["impl", "False", "Starting", "%1", "4242"]
    assert row.rstrip().endswith(message.strip())


# --- D17: init writes the shipped examples ---------------------------------------------------


@pytest.mark.parametrize("example", ["starter", "minimal", "full"])
def test_init_writes_a_valid_example_pointing_at_the_installed_schema(
    tmp_path: Path, example: str
) -> None:
    code, out = invoke("init", str(tmp_path / "t"), "--example", example)
    assert code == 0, out
    spec = tmp_path / "t" / "team.spec.yaml"
    first = spec.read_text().splitlines()[0]
    assert first == f"# yaml-language-server: $schema={TEAM_SCHEMA.resolve().as_uri()}"
    assert TEAM_SCHEMA.is_file()
    code, out = invoke("-f", str(spec), "validate")
    assert code == 0, out


# --- D14: is a reconciler running? -----------------------------------------------------------


def test_running_reconciler_is_the_live_lock_holder(tmp_path: Path) -> None:
    state = ensure_state_dir(tmp_path)
    assert running_reconciler(tmp_path) is None  # no lock file at all
    with WorkspaceLock(state):
        holder = running_reconciler(tmp_path)
        assert holder is not None and holder.pid == os.getpid()
    assert running_reconciler(tmp_path) is None  # released: the record is cleared


def test_a_dead_holders_record_is_no_running_reconciler(tmp_path: Path) -> None:
    """SIGKILL leaves the record behind; its pid and start time no longer match a process."""
    state = ensure_state_dir(tmp_path)
    dead = LockHolder(pid=os.getpid(), createTime=1.0, acquiredAt="2020-01-01T00:00:00Z")
    (state / LOCK_FILE).write_bytes(msgspec.json.encode(dead))
    assert running_reconciler(tmp_path) is None

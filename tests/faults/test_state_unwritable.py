"""The state folder failing under a running team: status or events unwritable, disk full.

Attacks: every way `.team/` can refuse a write, made real. The tests run as root here,
and chmod does not stop root, so each fault is one the kernel enforces on root too:

* `status.json` or `events.jsonl` is a directory (EISDIR); `.team` is a file (EEXIST);
* `.team` bind-mounted read-only, or `status.json` alone bind-mounted read-only (EROFS,
  EBUSY on the rename), in a private mount namespace that vanishes with the process;
* EACCES: `.team` made 0500 and the reconciler run by setpriv without root's
  permission-override capabilities (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER);
* disk full: a 256 KiB tmpfs over `.team` (state copied in), filled to its last page
  (ENOSPC); and a file-size limit, RLIMIT_FSIZE with SIGXFSZ ignored (EFBIG).

Must hold: `team-agent reconcile --once` exits 4 with one `team-agent: ...` line naming
the file and the OS error, and no traceback; every agent keeps its process (same pid,
same create time) and its window; no temp file is left; once the fault is gone, the next
pass exits 0 with nothing to do. Faults that need mount or setpriv are skipped, with the
reason, where the machine does not allow them.
"""

from __future__ import annotations

import resource
import signal
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from reconciler.store.lock import WorkspaceLock
from reconciler.store.statusfile import ensure_state_dir
from tests.conftest import TeamWorkspace, retry_until
from tests.faults import harness

SESSION = "team-state"


@dataclass
class Running:
    """A converged three-agent team and who its agents were before the fault."""

    team: TeamWorkspace
    before: dict[str, tuple[int, float]]

    @property
    def state(self) -> Path:
        return self.team.root / ".team"

    def reconcile(
        self, *, prefix: list[str] | None = None, preexec: Callable[[], None] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*(prefix or []), *harness.cli_argv(self.team.spec_path, "reconcile", "--once")],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=self.team.root,
            preexec_fn=preexec,
        )

    def assert_failed_cleanly(self, proc: subprocess.CompletedProcess[str], *words: str) -> None:
        harness.no_traceback(proc.stdout, proc.stderr)
        assert proc.returncode == 4, (proc.returncode, proc.stdout, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("team-agent: "), proc.stderr
        for word in words:
            assert word in lines[0], (word, lines[0])
        assert harness.identities(self.team.tmux, SESSION) == self.before

    def assert_recovers(self) -> None:
        """No temp file left; the next pass (in process: the CLI's pass without the
        process start) is Ready with nothing to do, and the agents are the same."""
        assert not [p for p in harness.leftovers(self.team.root) if ".status." in p]
        result = harness.engine_for(self.team.root, self.team.socket).reconcile()
        assert result.exit_code == 0, result.status.conditions
        assert result.plan.empty, result.plan.render()
        assert harness.identities(self.team.tmux, SESSION) == self.before


@pytest.fixture
def running(team: TeamWorkspace) -> Iterator[Running]:
    team.spec_path.write_text(harness.sleepers("state", 3, team.socket))
    with WorkspaceLock(ensure_state_dir(team.root), timeout=10):  # as the CLI: lock file exists
        harness.converge_within_two_passes(harness.engine_for(team.root, team.socket))
    harness.wait_started(team.tmux, SESSION, "sleep")
    yield Running(team=team, before=harness.identities(team.tmux, SESSION))


def test_status_file_is_a_directory(running: Running) -> None:
    """`status.json` is a directory: the status cannot be read nor replaced (EISDIR)."""
    with harness.swapped(running.state / "status.json", "dir"):
        proc = running.reconcile()
        running.assert_failed_cleanly(proc, "status.json", "EISDIR")
    running.assert_recovers()


def test_events_file_is_a_directory(running: Running) -> None:
    """`events.jsonl` is a directory and the pass has an event to write (the spec now sets
    a deprecated key, which is reported as an event when the generation bumps)."""
    spec = running.team.spec_path
    text = spec.read_text().replace("runtime:\n", "runtime:\n  auto_trust_own_workspace: false\n")
    spec.write_text(text)
    with harness.swapped(running.state / "events.jsonl", "dir"):
        proc = running.reconcile()
        running.assert_failed_cleanly(proc, "events.jsonl", "EISDIR")
    running.assert_recovers()


def test_state_folder_is_a_file(running: Running) -> None:
    """`.team` is a regular file: no lock, status or events can exist (EEXIST)."""
    with harness.swapped(running.state, "file"):
        proc = running.reconcile()
        running.assert_failed_cleanly(proc, ".team", "EEXIST")
    running.assert_recovers()


def test_state_folder_read_only_mount(running: Running) -> None:
    """`.team` bind-mounted read-only: even the lock cannot be opened for writing (EROFS)."""
    problem = harness.mount_namespace_problem()
    if problem is not None:
        pytest.skip(problem)
    script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
    before = (running.state / "status.json").read_bytes()
    proc = running.reconcile(prefix=harness.in_mount_namespace(script, str(running.state)))
    running.assert_failed_cleanly(proc, "EROFS")
    assert (running.state / "status.json").read_bytes() == before
    running.assert_recovers()


def test_status_file_read_only_mount(running: Running) -> None:
    """`status.json` alone bind-mounted read-only: the lock and the temp file work, the
    atomic rename onto the mount point fails (EBUSY); the temp file is removed."""
    problem = harness.mount_namespace_problem()
    if problem is not None:
        pytest.skip(problem)
    status = running.state / "status.json"
    script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
    before = status.read_bytes()
    proc = running.reconcile(prefix=harness.in_mount_namespace(script, str(status)))
    running.assert_failed_cleanly(proc, "status.json", "EBUSY")
    assert status.read_bytes() == before
    running.assert_recovers()


def test_state_folder_permission_denied(running: Running) -> None:
    """`.team` is 0500 and root's override capabilities are dropped: the status temp
    file cannot be created (EACCES), while the lock file (0600, ours) still opens."""
    problem = harness.cap_drop_problem()
    if problem is not None:
        pytest.skip(problem)
    running.state.chmod(0o500)
    try:
        proc = running.reconcile(prefix=harness.drop_caps_prefix())
    finally:
        running.state.chmod(0o700)
    running.assert_failed_cleanly(proc, "status.json", "EACCES")
    running.assert_recovers()


def test_disk_full_tmpfs(running: Running, tmp_path: Path) -> None:
    """A 256 KiB tmpfs over `.team` holding a copy of the state, filled to its last free
    page: the lock record fits, the status does not (ENOSPC)."""
    problem = harness.mount_namespace_problem()
    if problem is not None:
        pytest.skip(problem)
    copy = tmp_path / "state-copy"
    script = (
        'state="$1"; copy="$2"; shift 2; '
        'cp -a "$state/." "$copy/" && '
        'mount -t tmpfs -o size=256k,mode=0700 tmpfs "$state" && '
        'cp -a "$copy/." "$state/" && '
        '{ dd if=/dev/zero of="$state/filler" bs=4096 2>/dev/null; '
        'truncate -s -4096 "$state/filler"; } && exec "$@"'
    )
    copy.mkdir()
    before = (running.state / "status.json").read_bytes()
    proc = running.reconcile(
        prefix=harness.in_mount_namespace(script, str(running.state), str(copy))
    )
    running.assert_failed_cleanly(proc, "status.json", "ENOSPC")
    assert (running.state / "status.json").read_bytes() == before
    running.assert_recovers()


def _limit_file_size() -> None:
    """In the child: files may not grow past 1 KiB, and writing past it fails with EFBIG
    instead of killing the process (SIGXFSZ ignored, which survives exec)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))


def test_file_size_limit(running: Running) -> None:
    """RLIMIT_FSIZE of 1 KiB: the lock record fits, the status (several KiB) does not
    (EFBIG), which is how a full disk looks where no tmpfs can be mounted."""
    proc = running.reconcile(preexec=_limit_file_size)
    running.assert_failed_cleanly(proc, "status.json", "EFBIG")
    running.assert_recovers()


def test_run_keeps_going_while_status_unwritable(running: Running, tmp_path: Path) -> None:
    """`team-agent run` while `status.json` is a directory: each pass fails with one clear
    log line (no traceback), `run` stays up, the agents stay as they are; once the fault
    is gone the next pass writes the status again."""
    spec = running.team.spec_path
    spec.write_text(spec.read_text().replace("runtime:\n", "runtime:\n  resync_interval_sec: 1\n"))
    old = harness.check_status_parses(running.team.root)
    assert old is not None
    errors = tmp_path / "run.stderr"
    status = running.state / "status.json"
    with harness.swapped(status, "dir"), errors.open("w") as sink:
        run = subprocess.Popen(
            harness.cli_argv(spec, "run", "-q"),
            stdout=subprocess.DEVNULL,
            stderr=sink,
            cwd=running.team.root,
        )
        try:
            retry_until(lambda: errors.read_text().count("EISDIR") >= 2, timeout=20)
            assert run.poll() is None, errors.read_text()
            assert harness.identities(running.team.tmux, SESSION) == running.before
        except BaseException:
            run.kill()
            run.wait(timeout=10)
            raise
    try:

        def rewritten() -> bool:
            new = harness.check_status_parses(running.team.root) if status.is_file() else None
            return new is not None and new.generation > old.generation  # the edited spec

        retry_until(rewritten)
    finally:
        run.send_signal(signal.SIGTERM)
        run.wait(timeout=30)
    assert run.returncode == 0
    text = errors.read_text()
    harness.no_traceback(text)
    assert "reconcile pass failed: cannot write" in text and "status.json" in text, text
    assert harness.identities(running.team.tmux, SESSION) == running.before

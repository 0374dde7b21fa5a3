"""Soak: `team-agent run` for a long while with a crash-looping and a flapping agent.

Attacks: slow leaks and runaway costs that no single pass shows: memory, file
descriptors, threads and child processes of the loop; the event log growing per pass
instead of per change; a busy loop. The team: `steady` (a sleeper that must never be
touched), `crashy` (the fake agent exiting with code 3 one second after each start, so
it crash-loops through the backoff schedule) and `flappy` (tests/faults/flapper.py: its
readiness prompt shows 0.4 s of every 1.5 s, and it exits 0 every 12 s, so readiness is
waited for, timed out (timeout 1 s) and found again, over and over). The resync interval
is 1 s, the shortest allowed, so the loop makes as many passes as it ever would.

Runs 15 s in the short run and 10 minutes in the long run (TEAM_AGENT_LONG=1), sampling
the `run` process every second after a warm-up (imports, first passes, caches filled).

Must hold ("flat" made precise):
* RSS: the median of the last quarter of the samples after warm-up is at most the median
  of the first quarter plus 4 MiB (a leak of 7 KiB per pass over the ~600 passes of the
  long run would exceed it; allocator noise stays well below);
* open file descriptors and threads: the floor (fewest seen, i.e. between passes) of the
  last quarter is at most the floor of the first quarter plus 1, and no sample exceeds
  that first floor by more than 8 (a pass in flight holds a tmux client's pipes; a
  sample sometimes lands mid-pass, so a peak alone proves nothing);
* child processes never more than 3 (the `wait-for` waiter and a tmux client in flight);
* CPU: the loop uses at most 10% of one core on average after warm-up;
* `events.jsonl` stays within its rotation bound (1 MB a file, 4 files) and grows with
  changes, not with passes: at most 12 events per agent restart plus 30;
* `steady` keeps its process the whole time; `crashy` is restarted as its backoff
  allows (at least twice); `flappy` is seen Ready; `run` never dies and never prints a
  traceback; no launch file is left behind.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from reconciler.api import conditions as C
from reconciler.store.eventlog import EventLog
from tests.conftest import TeamWorkspace, retry_until
from tests.faults import harness

FLAPPER = Path(__file__).resolve().parent / "flapper.py"
# TEAM_AGENT_SOAK_SEC overrides the length (e.g. an hour before a release).
DURATION_SEC = float(os.environ.get("TEAM_AGENT_SOAK_SEC", 600.0 if harness.RUN.long else 15.0))
WARMUP_SEC = 30.0 if harness.RUN.long else 4.0
RSS_MARGIN = 4 * 1024 * 1024
CPU_BOUND = 0.10
EVENT_FILE_BOUND = 1_000_000
EVENT_FILES = 4


def soak_spec(socket: str) -> str:
    return f"""\
version: 1
team: {{name: soak}}
runtime:
  tmux_socket: {socket}
  resync_interval_sec: 1
  stop_grace_sec: 1
agents:
  - id: steady
    provider: shell
    command: ["sleep", "3600"]
  - id: crashy
    provider: fake
    args: ["--exit-after", "1", "--exit-code", "3"]
  - id: flappy
    provider: shell
    command: ["{sys.executable}", "{FLAPPER}", "0.4", "1.1", "12"]
    readiness: {{pattern: "^ready> ", timeout_sec: 1}}
"""


@dataclass(frozen=True)
class Sample:
    at: float
    rss: int
    fds: int
    threads: int
    children: int
    cpu: float


def sample(proc: psutil.Process, t0: float) -> Sample:
    with proc.oneshot():
        times = proc.cpu_times()
        return Sample(
            at=time.monotonic() - t0,
            rss=proc.memory_info().rss,
            fds=proc.num_fds(),
            threads=proc.num_threads(),
            children=len(proc.children()),
            cpu=times.user + times.system,
        )


def quarter(samples: list[Sample], attr: str, *, last: bool) -> list[int]:
    """The values of `attr` in the first or the last quarter of `samples`."""
    n = max(len(samples) // 4, 1)
    part = samples[-n:] if last else samples[:n]
    return [int(getattr(s, attr)) for s in part]


def test_run_soak_with_crash_loop_and_flapping_readiness(team: TeamWorkspace) -> None:
    """See the module docstring: resources flat, events bounded, CPU bounded."""
    team.spec_path.write_text(soak_spec(team.socket))
    run = subprocess.Popen(
        harness.cli_argv(team.spec_path, "run", "-q"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=team.root,
    )
    try:
        proc = psutil.Process(run.pid)
        t0 = time.monotonic()
        retry_until(lambda: harness.check_status_parses(team.root), timeout=20)
        steady = retry_until(lambda: _pid_of(team, "steady"), timeout=20)
        flappy_ready = False
        samples: list[Sample] = []
        while time.monotonic() - t0 < DURATION_SEC:
            time.sleep(1.0)
            assert run.poll() is None, "run died"
            now = sample(proc, t0)
            assert now.children <= 3, now
            if now.at >= WARMUP_SEC:
                samples.append(now)
            status = harness.check_status_parses(team.root)
            if status is not None and "flappy" in status.agents:
                flappy_ready |= C.is_true(status.agents["flappy"].conditions, C.READY)
        assert _pid_of(team, "steady") == steady, "steady was disturbed"
        status = harness.check_status_parses(team.root)
    finally:
        run.send_signal(signal.SIGTERM)
        _, stderr = run.communicate(timeout=30)
    harness.no_traceback(stderr)
    assert run.returncode == 0, stderr

    first, last = samples[0], samples[-1]
    cpu_share = (last.cpu - first.cpu) / (last.at - first.at)
    report = (
        f"rss {first.rss / 2**20:.1f}->{last.rss / 2**20:.1f} MiB, fds {first.fds}->{last.fds},"
        f" threads {first.threads}->{last.threads}, cpu {cpu_share:.1%}, {len(samples)} samples"
    )
    print(report, f"events {len(EventLog(team.root / '.team').read())}")
    rss_first = statistics.median(quarter(samples, "rss", last=False))
    assert statistics.median(quarter(samples, "rss", last=True)) <= rss_first + RSS_MARGIN, report
    for attr in ("fds", "threads"):
        floor = min(quarter(samples, attr, last=False))
        assert min(quarter(samples, attr, last=True)) <= floor + 1, (attr, report)
        assert max(int(getattr(s, attr)) for s in samples) <= floor + 8, (attr, report)
    assert cpu_share <= CPU_BOUND, report

    assert status is not None
    restarts = sum(a.restartCount for a in status.agents.values())
    assert status.agents["crashy"].restartCount >= 2, status.agents["crashy"]
    assert flappy_ready, "flappy was never seen Ready"
    log = EventLog(team.root / ".team")
    files = log.files()
    assert len(files) <= EVENT_FILES and all(f.stat().st_size <= EVENT_FILE_BOUND for f in files)
    events = log.read()
    assert len(events) <= 12 * restarts + 30, (len(events), restarts)
    harness.assert_no_leftovers(team.root)


def _pid_of(team: TeamWorkspace, agent: str) -> int | None:
    panes = [p for p in harness.session_panes(team.tmux, "team-soak") if p.agent == agent]
    return panes[0].pane_pid if panes and not panes[0].dead else None

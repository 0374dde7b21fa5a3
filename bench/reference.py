"""Side by side with the reference system (issue 16): every call on both, in one run, in turns.

The reference is the Rust team-agent, run from its npm release binary (`bench/refbinary.py`:
fetched once into a cache, nothing committed). Both systems get the same team: a fake
leader and N fake workers, no AI CLI, no key.

* **Reference** (`bench/refteam.py`): a team folder (`TEAM.md`, one role file per worker
  with `provider: fake`, which runs the binary's own `fake-worker`); the leader is a pane
  running a program named `claude` (a link to `sleep`) on a private tmux server, from
  which `quick-start` is run; private `HOME`; its workers on the tmux server it names
  itself (`ta-<hash of the workspace>`, never the default one).
* **team-agent** (`bench/ourteam.py`): `private_team` with N fake agents (our stand-in
  CLI) and `leader: {provider: fake}`; the leader is `team-agent leader fake` in a pane of
  a second private server. Every command is the installed console script, a fresh process.

What each row measures (wall time of the process, and its CPU time with everything it
waited for, from `getrusage(RUSAGE_CHILDREN)` deltas; median and min of 7 runs, 3 with
`--quick`; the two systems' runs alternate, and each round reverses the order):

* **tick**: the reference's `coordinator --workspace WS --once` (one pass of its
  coordinator loop) vs our no-op `reconcile --once -o json` (each run must report no
  action), at 5, 20 and 50 agents, with no daemon running on either side (the
  reference's coordinator daemon is stopped first: ours cannot run beside `run`, and a
  daemon ticking meanwhile would tax both).
* **status**: `status --json` vs `status -o json`, at 5 and 50 agents, in the same rounds.
* **hot verbs**, at 5 agents, each one process, with both daemons running (as in use:
  the reference's `send` restarts its coordinator when none runs, ours is delivered by
  `run`): `send`, `inbox`, `results`, `approvals`, `identity`, `validate` on both;
  `wait --for condition=Ready` (met) vs `wait-ready` (ready); `report`, which the
  reference has no command for (its workers report through MCP). Ours are held to the
  reference's `status` measured in the same rounds and to 3 x `python -c pass`.
* **floor**: `python -c pass` with our venv's interpreter, in the rounds of every size,
  beside the reference's `--version`.
* **idle daemon CPU**, 20 agents: our `team-agent run` and the reference's `coordinator`
  daemon, both running over the same window (60 s, 15 s with `--quick`), settled first;
  CPU of each process and the children it reaped, in % of one core.
* **cold start** (fresh sandboxes per trial, 5, 20, 50 agents, leader already up, no
  workers' server yet): the reference's `quick-start` (which binds the leader, creates the
  workers and starts its daemon) plus `wait-ready` until its workers are ready, vs our
  `reconcile --once --wait` until Ready (which binds the leader and starts no daemon).
* **stop**, right after that cold start: `shutdown` vs `down`, each checked to have
  stopped the team (no worker pane left; for the reference also none of its processes,
  within 5 s). The reference's own verdict is quoted, not trusted: it reports `failed`
  when an exited worker is not reaped yet and `partial` when its daemon is slow to stop.

Not like for like: the fake workers differ (the reference's is its own binary, ours a
Python program), and so do the leaders (`sleep` named `claude`, our fake agent); the
reference's cold start includes starting its daemon, ours does not; its `status` samples
tmux and processes, ours reads the status file a pass wrote; its tick is a daemon's pass
run once, ours a whole `reconcile --once` (spec load, lock, status write). Targets
(issue 16): read-only and intent verbs ≤ the reference's `status` and ≤ 3 x the floor;
no-op `reconcile --once` ≤ 0.5 x the reference's tick at 5 agents and CPU ≤ 150 ms at every
size; cold start and `down` ≤ the reference at every size. The side-by-side table goes to
stderr at the end; the figures join the usual table.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.harness import BenchError, wait_until
from bench.measure import Benchmark, Config, Figure, Target
from bench.ourteam import OurTeam, actions_of, agent_ids, private_our_team
from bench.refbinary import VERSION, ensure_binary
from bench.refteam import (
    TEAM_DIR,
    RefTeam,
    check_ready,
    check_started,
    measured_run,
    private_reference_team,
    shutdown_status,
    shutdown_verdicts,
    status_names,
    worker_ids,
)
from bench.sidebyside import (
    Limit,
    ProcessRun,
    Row,
    Side,
    Stat,
    alternate,
    fraction_limit,
    render_table,
    verb_limit,
)

NAME = "reference"
TICK_SIZES = (5, 20, 50)
STATUS_SIZES = (5, 50)
VERB_SIZE = 5
IDLE_SIZE = 20
COLD_SIZES = (5, 20, 50)
TICK_FRACTION_AT = (5, 0.5)  # our no-op pass ≤ half the reference's tick at 5 agents
TICK_CPU_LIMIT_MS = 150.0
SETTLE_SEC = 3.0
STOP_GRACE_SEC = 5.0  # after `shutdown` returns, for its processes to be gone
MESSAGE = "benchmark message"
OUR_AGENT, REF_WORKER = agent_ids(1)[0], worker_ids(1)[0]  # whom verbs address

Runner = Callable[[], ProcessRun]


@dataclass(frozen=True)
class Call:
    """One command as each system spells it (arguments after the executable)."""

    label: str
    ours: tuple[str, ...]
    reference: tuple[str, ...] | None  # None: the reference has no such command


STATUS = Call("`status`", ("status", "-o", "json"), ("status", "--json"))
HOT_VERBS = (
    Call("`send`", ("send", OUR_AGENT, MESSAGE), ("send", REF_WORKER, MESSAGE, "--json")),
    Call("`inbox`", ("inbox", OUR_AGENT, "-o", "json"), ("inbox", REF_WORKER, "--json")),
    Call("`results`", ("results", "-o", "json"), ("results", "--case", "task_initial", "--json")),
    Call(
        "`report`",
        ("report", "--task", "bench", "--status", "done", "--summary", "ok", "--agent", OUR_AGENT),
        None,
    ),
    Call("`approvals`", ("approvals", "-o", "json"), ("approvals", "--json")),
    Call(
        "`wait` (already met)",
        ("wait", "--for", "condition=Ready", "--timeout", "10s"),
        ("wait-ready", "--timeout", "10", "--json"),
    ),
    Call("`identity`", ("identity", "-o", "json"), ("identity", "--json")),
    Call("`validate`", ("validate",), ("validate", str(TEAM_DIR), "--json")),
)


@dataclass
class Collected:
    """The rows of the side-by-side table and the figures, in the order taken."""

    rows: list[Row] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)

    def add(
        self, row: Row, ref_name: str, our_name: str, limit: Limit | None = None, ref_note: str = ""
    ) -> None:
        """A row, the reference's figure (no target) and ours (with `limit`, if any)."""
        self.rows.append(row)
        if row.reference is not None and row.reference.wall is not None:
            self.figures.append(_figure(ref_name, row.reference, row.unit, None, ref_note))
        versus = f"ours ÷ reference {row.render_ratio()}" if row.reference else "no reference"
        note = f"{versus}; {limit.reason}" if limit else versus
        self.figures.append(_figure(our_name, row.ours, row.unit, limit, note))


def _figure(name: str, side: Side, unit: str, limit: Limit | None, note: str) -> Figure:
    main = side.wall or side.cpu
    assert main is not None
    cpu = f"CPU {side.cpu.median:.1f} {unit}" if side.wall and side.cpu else ""
    detail = "; ".join(p for p in (cpu, side.spread(unit), note) if p)
    target = Target("<=", limit.value) if limit else None
    value = round(main.median, 2 if main.median < 10 else 1)
    return Figure(NAME, name, value, unit, target, detail)


def run(config: Config) -> list[Figure]:
    binary = ensure_binary()
    config.progress(f"{NAME}: reference binary {binary} (team-agent {VERSION})")
    out = Collected()
    for size in sorted(set(TICK_SIZES) | set(STATUS_SIZES) | {VERB_SIZE, IDLE_SIZE}):
        _warm_phase(binary, size, config, out)
    for size in COLD_SIZES:
        _cold_phase(binary, size, config, out)
    config.progress(f"{NAME}: side by side, this run\n\n{render_table(out.rows)}\n")
    return out.figures


def _start_both(ours: OurTeam, ref: RefTeam, size: int) -> None:
    """Both teams up and ready; no daemon left running on either side."""
    ours.prepare(size)
    _exit_zero(f"our cold start of {size}")(ours.cold_start())
    ref.write_team(size)
    ref.start_leader()
    check_started(ref.quick_start())
    check_ready(ref.wait_ready())
    ref.stop_coordinators()
    ours.settle()


def _warm_phase(binary: Path, size: int, config: Config, out: Collected) -> None:
    """One pair of teams of `size`: the one-pass calls, then, with daemons, verbs or idle."""
    repeats = config.trials(full=7, quick=3)
    label = f"warm-{size}"
    with private_our_team(label) as ours, private_reference_team(label, binary) as ref:
        config.progress(f"{NAME}: {size} agents: starting both teams")
        _start_both(ours, ref, size)
        if size in TICK_SIZES or size in STATUS_SIZES:
            config.progress(f"{NAME}: {size} agents: {repeats} rounds of one-pass calls")
            _one_pass_rounds(ours, ref, size, repeats, out)
        if size not in (VERB_SIZE, IDLE_SIZE):
            return
        loop = ours.team.start("run", "-q")
        daemon = ref.start_coordinator()
        wait_until(ours.team.is_ready, timeout=120, interval=0.1, what="our `run` Ready")
        time.sleep(SETTLE_SEC)  # both daemons past their start-up passes
        if size == VERB_SIZE:
            config.progress(f"{NAME}: {size} agents: {repeats} rounds of hot verbs")
            _verb_rounds(ours, ref, size, repeats, out)
        if size == IDLE_SIZE:
            window = 15.0 if config.quick else 60.0
            config.progress(f"{NAME}: {size} agents: idle daemons over {window:g} s")
            _idle_window(psutil.Process(loop.pid), daemon, size, window, out)


def _floor() -> ProcessRun:
    """A bare interpreter of our venv: what any Python CLI pays before its first import."""
    argv = [sys.executable, "-c", "pass"]
    return measured_run(argv, env=os.environ, cwd=Path.cwd(), timeout=60)


def _checked(runner: Runner, check: Callable[[ProcessRun], None]) -> Runner:
    """`runner`, whose every result is checked (a failed command is no figure)."""

    def checked() -> ProcessRun:
        result = runner()
        check(result)
        return result

    return checked


def _exit_zero(what: str) -> Callable[[ProcessRun], None]:
    def check(result: ProcessRun) -> None:
        if result.returncode != 0:
            raise BenchError(f"{what} exited {result.returncode}: {result.tail()}")

    return check


def _command(team: OurTeam | RefTeam, args: Sequence[str], what: str) -> Runner:
    """One command of one system, checked to exit 0."""
    return _checked(lambda: team.run(*args), _exit_zero(what))


def _measure(runners: Sequence[Runner], repeats: int) -> list[list[ProcessRun]]:
    """One warm-up run each (page cache, bytecode), then `repeats` alternating rounds."""
    for runner in runners:
        runner()
    return alternate(runners, repeats)


def _one_pass_rounds(
    ours: OurTeam, ref: RefTeam, size: int, repeats: int, out: Collected
) -> None:
    """Tick vs no-op pass, the floors and (at some sizes) `status`, with no daemon."""

    def noop_check(result: ProcessRun) -> None:
        _exit_zero("our no-op `reconcile --once`")(result)
        if actions := actions_of(result):
            raise BenchError(f"our pass at {size} agents was not a no-op: {actions}")

    def ref_status_check(result: ProcessRun) -> None:
        if status_names(result) != worker_ids(size):
            raise BenchError(f"reference status at {size} agents: {result.stdout[:300]!r}")

    tick = ("coordinator", "--workspace", str(ref.workspace), "--once")
    runners: list[Runner] = [
        _checked(ours.noop_pass, noop_check),
        _command(ref, tick, "reference `coordinator --once`"),
        _floor,
        _command(ref, ("--version",), "reference `--version`"),
    ]
    with_status = size in STATUS_SIZES
    if with_status:
        runners.append(_command(ours, STATUS.ours, "our status"))
        runners.append(_checked(lambda: ref.run(*(STATUS.reference or ())), ref_status_check))
    runs = _measure(runners, repeats)
    ref.stop_coordinators()  # should a `--once` run have left a daemon behind
    _tick_rows(size, runs[0], runs[1], out)
    floor = _floor_row(size, runs[2], runs[3], out)
    if with_status:
        row = Row(_spelled(STATUS), size, Side.of(runs[5]), Side.of(runs[4]))
        limit = verb_limit(_wall(row.reference), floor)
        names = (f"reference: `status --json`, {size} agents",
                 f"team-agent: `status -o json`, {size} agents")  # fmt: skip
        out.add(row, *names, limit)


def _wall(side: Side | None) -> float:
    assert side is not None and side.wall is not None
    return side.wall.median


def _spelled(call: Call) -> str:
    ref = f"`{' '.join(call.reference)}`" if call.reference else "—"
    return f"{ref} vs `{' '.join(call.ours)}`"


def _tick_rows(size: int, ours: list[ProcessRun], ref: list[ProcessRun], out: Collected) -> None:
    call = "tick: `coordinator --once` vs no-op `reconcile --once`"
    row = Row(call, size, Side.of(ref), Side.of(ours))
    at, fraction = TICK_FRACTION_AT
    limit = fraction_limit(_wall(row.reference), fraction, "tick") if size == at else None
    names = (f"reference: `coordinator --once` (one tick), {size} agents",
             f"team-agent: no-op `reconcile --once`, {size} agents")  # fmt: skip
    out.add(row, *names, limit)
    cpu_limit = Limit(TICK_CPU_LIMIT_MS, f"limit {TICK_CPU_LIMIT_MS:g} ms")
    name = f"team-agent: CPU of no-op `reconcile --once`, {size} agents"
    out.figures.append(_figure(name, Side(cpu=row.ours.cpu), "ms", cpu_limit, ""))


def _floor_row(size: int, ours: list[ProcessRun], ref: list[ProcessRun], out: Collected) -> float:
    """The floors of both systems in these rounds; ours (ms) for the verbs' limit."""
    row = Row("floor: `--version` vs `python -c pass`", size, Side.of(ref), Side.of(ours))
    out.rows.append(row)
    name = f"`python -c pass` (the floor), beside the {size}-agent calls"
    note = f"the reference's `--version`: {_wall(row.reference):.1f} ms"
    out.figures.append(_figure(name, row.ours, "ms", None, note))
    return _wall(row.ours)


def _verb_rounds(ours: OurTeam, ref: RefTeam, size: int, repeats: int, out: Collected) -> None:
    """Each hot verb of ours, and the reference's equivalent, with both daemons running."""
    calls = (STATUS, *HOT_VERBS)
    runners: list[Runner] = [_floor]
    for call in calls:
        runners.append(_command(ours, call.ours, f"our {call.label}"))
        if call.reference is not None:
            runners.append(_command(ref, call.reference, f"reference {call.label}"))
    runs = iter(_measure(runners, repeats))
    floor = Side.of(next(runs))
    taken = [(call, next(runs), next(runs) if call.reference else None) for call in calls]
    status_ref = taken[0][2]
    assert status_ref is not None
    limit = verb_limit(_wall(Side.of(status_ref)), _wall(floor))
    for call, our_runs, ref_runs in taken:
        reference = Side.of(ref_runs) if ref_runs else None
        row = Row(f"{_spelled(call)} (daemons running)", size, reference, Side.of(our_runs))
        ref_name = f"reference: `{' '.join(call.reference or ())}`, {size} agents, daemon running"
        our_name = f"team-agent: {call.label}, one process, {size} agents, `run` running"
        out.add(row, ref_name, our_name, limit)


def _idle_window(
    ours: psutil.Process, ref: psutil.Process, size: int, window: float, out: Collected
) -> None:
    """Both daemons' CPU over the same window, in % of one core."""
    start = (_cpu(ours), _cpu(ref))
    t0 = time.monotonic()
    time.sleep(window)
    end = (_cpu(ours), _cpu(ref))
    wall = time.monotonic() - t0
    if not (ours.is_running() and ref.is_running()):
        raise BenchError("a daemon exited during the idle window")

    def pct(i: int) -> Side:
        return Side(cpu=Stat((round((end[i] - start[i]) / wall * 100, 2),)))

    call = "idle daemon CPU: `coordinator` vs `run`"
    row = Row(call, size, pct(1), pct(0), unit="% of a core")
    out.rows.append(row)
    note = f"over {wall:.0f} s, the process and the children it reaped"
    ref_name = f"reference: idle `coordinator` daemon CPU, {size} agents"
    our_name = f"team-agent: idle `run` CPU, {size} agents"
    out.figures.append(_figure(ref_name, pct(1), row.unit, None, note))
    versus = f"ours ÷ reference {row.render_ratio()}; {note}"
    out.figures.append(_figure(our_name, row.ours, row.unit, None, versus))


def _cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system + times.children_user + times.children_system)


def _cold_phase(binary: Path, size: int, config: Config, out: Collected) -> None:
    """Fresh sandboxes per trial: cold start on both sides, then stop both, in turns."""
    trials = config.trials(full=7, quick=3)
    config.progress(f"{NAME}: {size} agents: {trials} cold starts and stops on each side")
    runs: dict[str, list[ProcessRun]] = {"ref-up": [], "our-up": [], "ref-down": [], "our-down": []}
    label = f"cold-{size}"
    for trial in range(trials):
        with private_our_team(label) as ours, private_reference_team(label, binary) as ref:
            ours.prepare(size)
            ref.write_team(size)
            ref.start_leader()
            ups: list[tuple[str, Runner]] = [
                ("ref-up", lambda: _ref_up(ref, size)),
                ("our-up", lambda: _our_up(ours, size)),
            ]
            downs: list[tuple[str, Runner]] = [
                ("ref-down", lambda: _ref_down(ref)),
                ("our-down", lambda: _our_down(ours)),
            ]
            for key, step in [*ups, *downs] if trial % 2 == 0 else [*ups[::-1], *downs[::-1]]:
                runs[key].append(step())
    for what, ref_call, our_call, up in (
        ("cold start", "`quick-start` + `wait-ready`", "`reconcile --once --wait`", "up"),
        ("stop", "`shutdown`", "`down`", "down"),
    ):
        row = Row(f"{what}: {ref_call} vs {our_call}", size,
                  Side.of(runs[f"ref-{up}"]), Side.of(runs[f"our-{up}"]))  # fmt: skip
        limit = fraction_limit(_wall(row.reference), 1, what)
        note = shutdown_verdicts(runs[f"ref-{up}"]) if up == "down" else ""
        out.add(row, f"reference: {what}, {ref_call}, {size} agents",
                f"team-agent: {what}, {our_call}, {size} agents", limit, note)  # fmt: skip


def _ref_up(ref: RefTeam, size: int) -> ProcessRun:
    """`quick-start` from the leader pane, then `wait-ready`: one run, both processes."""
    started = ref.quick_start()
    ready = ref.wait_ready()
    check_started(started)
    check_ready(ready)
    if (panes := ref.worker_panes()) != size:
        raise BenchError(f"reference quick-start of {size} made {panes} worker panes")
    return ProcessRun(
        started.wall + ready.wall, started.cpu + ready.cpu, 0, started.stdout, started.stderr
    )


def _our_up(ours: OurTeam, size: int) -> ProcessRun:
    done = ours.cold_start()
    _exit_zero(f"our cold start of {size}")(done)
    if len(ours.team.agent_panes()) != size:
        raise BenchError(f"our cold start of {size} left the wrong panes")
    return done


def _ref_down(ref: RefTeam) -> ProcessRun:
    """`shutdown`, then our own check that nothing of the team runs (a short grace).

    The figure is the command's wall time; its own verdict (`shutdown_status`) goes into
    the detail, since it fails runs whose only fault is a zombie not reaped yet.
    """
    done = ref.run("shutdown", "--json")
    shutdown_status(done)

    def stopped() -> bool:
        return not ref.leftovers()

    try:
        wait_until(stopped, timeout=STOP_GRACE_SEC, interval=0.1, what="reference stop")
    except BenchError as err:
        raise BenchError(f"reference shutdown left {ref.leftovers()} running") from err
    return done


def _our_down(ours: OurTeam) -> ProcessRun:
    done = ours.run("down")
    _exit_zero("our down")(done)
    if ours.team.agent_panes():
        raise BenchError("our down left agent panes")
    return done


BENCHMARK = Benchmark(
    name=NAME,
    title="side by side with the reference (Rust) team-agent",
    meaning=(
        f"The Rust team-agent (npm `@team-agent/cli-linux-x64@{VERSION}`, fetched once into "
        "`~/.cache/team-agent/reference/`) and this one, each with a fake leader and N fake "
        "workers, in one run, their commands alternating run by run (median of 7, 3 with "
        "`--quick`; wall time of the process, and CPU time of it and its reaped children in "
        "the detail, with ours ÷ the reference's). Rows: one tick (`coordinator --once` vs "
        "no-op `reconcile --once`, 5/20/50 agents, no daemon on either side); `status` JSON "
        "(5/50); hot verbs, one process each, at 5 agents with both daemons running; the "
        "floor (`python -c pass`, the reference's `--version`); idle daemon CPU at 20 "
        "agents (`coordinator` vs `run`, same window); cold start until ready (`quick-start` "
        "+ `wait-ready` vs `reconcile --once --wait`) and stop (`shutdown` vs `down`) at "
        "5/20/50 agents, a fresh sandbox per trial. Targets (issue 16): verbs ≤ the "
        "reference's `status` and ≤ 3 x the floor; no-op `reconcile --once` ≤ 0.5 x the "
        "reference's tick at 5 agents and CPU ≤ 150 ms; cold start and `down` ≤ the "
        "reference. `bench/reference.py` says how each team is built and what is not like "
        "for like."
    ),
    run=run,
)

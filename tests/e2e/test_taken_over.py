"""A pane a person respawned with their own command (`respawn-pane -k`) is not the agent.

The person's command keeps our pane's ownership markers (they are pane options, and
`respawn-pane` keeps them), so markers alone would make it look like the agent: `Ready`,
`Running`, with the person's pid, and `down`, a recreate, a pause or a removal would
signal it. Each test takes an agent's pane over the way a person does, on a private tmux
server, and checks that the status never reports that process as the agent, that the
agent comes back in a new window, and that the person's process is never signalled and
its pane never killed. The person's process is the test's own (`sleep`), killed at the end
by pid and create time if it is still running.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from controllers.agents.panes import stop_pane
from controllers.registry import default_controllers
from reconciler.api import conditions as C
from reconciler.api import markers
from reconciler.api.actions import ProcessRef
from reconciler.apply.executor import ApplyContext, apply_plan
from reconciler.observe.procs import create_time_of, is_same_process, signal_process
from reconciler.observe.world import observe
from tests.conftest import TeamWorkspace

pytestmark = pytest.mark.e2e

SPEC = """\
version: 1
team: {name: taken}
agents:
  - id: alpha
    provider: fake
  - id: beta
    provider: shell
    command: ["sleep", "3600"]
"""

PERSON_COMMAND = ("sleep", "3601")


@pytest.fixture
def people() -> Iterator[list[ProcessRef]]:
    """The processes the test started as "the person": killed at the end if still theirs."""
    started: list[ProcessRef] = []
    yield started
    for ref in started:
        with contextlib.suppress(Exception):
            signal_process(ref.pid, ref.create_time, signal.SIGKILL)


def take_over(team: TeamWorkspace, agent: str, people: list[ProcessRef]) -> tuple[str, ProcessRef]:
    """What a person does: `respawn-pane -k` the agent's pane with their own command."""
    pane = next(p for p in team.agent_panes(agent) if not p.dead)
    team.tmux.run("respawn-pane", "-k", "-t", pane.pane_id, "--", *PERSON_COMMAND)
    pid = int(team.tmux.run("display-message", "-p", "-t", pane.pane_id, "#{pane_pid}")[0])
    created = create_time_of(pid)
    assert created is not None
    ref = ProcessRef(pid, created)
    people.append(ref)
    return pane.pane_id, ref


def assert_left_alone(team: TeamWorkspace, pane_id: str, person: ProcessRef) -> None:
    """The person's process still runs, in its pane, which is no longer ours."""
    assert is_same_process(person.pid, person.create_time), "the person's process was killed"
    pane = next((p for p in team.panes() if p.pane_id == pane_id), None)
    assert pane is not None, f"the person's pane {pane_id} was killed"
    assert not pane.dead and pane.pane_pid == person.pid


def test_a_respawned_pane_is_reported_and_the_agent_recreated(
    team: TeamWorkspace, people: list[ProcessRef]
) -> None:
    """The first pass after the takeover says so (pane and pid), never `Running` with the
    person's pid; the agent comes back in a new window; the person's pane is unmarked."""
    team.write_spec(SPEC)
    team.converge()
    pane_id, person = take_over(team, "alpha", people)

    first = team.reconcile()

    alpha = first.status.agents["alpha"]
    assert alpha.pid != person.pid
    ready = C.find_condition(alpha.conditions, C.READY)
    assert ready is not None and ready.status == C.FALSE, ready
    assert ready.reason == C.PANE_TAKEN_OVER
    assert pane_id in ready.message and str(person.pid) in ready.message
    assert alpha.restartCount == 1
    released = next(p for p in team.panes() if p.pane_id == pane_id)
    assert (released.team, released.agent, released.workspace) == ("", "", "")

    done = team.converge()

    alpha = done.status.agents["alpha"]
    assert alpha.paneId != pane_id and alpha.pid not in (None, person.pid)
    assert [p.pane_id for p in team.agent_panes("alpha")] == [alpha.paneId]
    assert_left_alone(team, pane_id, person)
    options = team.tmux.run("show-options", "-p", "-t", pane_id)
    assert not any(line.startswith("@team_agent") for line in options), options
    window = team.tmux.run("show-options", "-w", "-t", pane_id)
    assert not any(line.startswith(markers.WINDOW) for line in window), window
    assert team.reconcile().plan.empty


def _paused(team: TeamWorkspace) -> None:
    team.write_spec(SPEC.replace("provider: fake", "provider: fake\n    paused: true"))


def _config_changed(team: TeamWorkspace) -> None:
    team.write_spec(SPEC.replace("provider: fake", "provider: fake\n    env: {COLOR: red}"))


def _removed(team: TeamWorkspace) -> None:
    team.write_spec(SPEC.replace("  - id: alpha\n    provider: fake\n", ""))


@pytest.mark.parametrize(
    "change",
    [_paused, _config_changed, _removed],
    ids=["paused", "config-changed", "removed-from-spec"],
)
def test_a_spec_change_never_signals_the_persons_process(
    team: TeamWorkspace, people: list[ProcessRef], change: Callable[[TeamWorkspace], None]
) -> None:
    """Pausing, recreating or removing the agent whose pane a person took over leaves
    the person's process and pane alone (a stop or recreate would have signalled it)."""
    team.write_spec(SPEC)
    team.converge()
    pane_id, person = take_over(team, "alpha", people)
    change(team)

    team.settled()
    team.settled()

    assert_left_alone(team, pane_id, person)
    assert all(p.pane_pid != person.pid for p in team.agent_panes())


def test_down_never_stops_a_taken_over_pane(team: TeamWorkspace, people: list[ProcessRef]) -> None:
    """`down` right after the takeover (no pass in between): every agent stops, the
    person's process and pane stay."""
    team.write_spec(SPEC)
    team.converge()
    pane_id, person = take_over(team, "alpha", people)

    proc = team.cli("down")

    assert proc.returncode == 0, proc.stderr
    assert_left_alone(team, pane_id, person)
    assert not [p for p in team.agent_panes() if not p.dead]


def test_orphan_reaping_never_kills_a_taken_over_pane(
    team: TeamWorkspace, tmp_path: Path, people: list[ProcessRef]
) -> None:
    """A team whose workspace was deleted is reaped by another team's `orphans --reap`,
    except the pane a person took over: their process runs on in it."""
    gone = TeamWorkspace(root=tmp_path / "ws-gone", socket=team.socket)
    gone.root.mkdir()
    gone.write_spec(SPEC.replace("{name: taken}", "{name: gone}"))
    gone.converge()
    team.write_spec(SPEC)
    team.converge()
    pane_id, person = take_over(gone, "alpha", people)
    shutil.rmtree(gone.root)

    done = team.cli("orphans", "--reap", "-o", "json")

    assert done.returncode == 0, done.stderr
    reaped = [r["resource"] for r in json.loads(done.stdout)["reaped"]]
    assert len(reaped) == 1 and reaped[0].startswith("orphan/window/"), reaped
    assert_left_alone(team, pane_id, person)
    sessions = team.tmux.run("list-sessions", "-F", "#{session_name}")
    assert "team-gone" in sessions  # it still holds the person's pane


def test_a_stop_planned_before_the_takeover_is_refused_when_applied(
    team: TeamWorkspace, people: list[ProcessRef]
) -> None:
    """The person respawns the pane between our snapshot and the stop: the executor's
    re-check sees a process we did not start and neither signals it nor kills the pane."""
    team.write_spec(SPEC)
    team.converge()
    before = observe(team.tmux)
    ours = next(p for p in before.owned_panes("taken", str(team.root.resolve())) if p.agent)
    stop = stop_pane(ours, before, grace_sec=1.0, cause="test")
    assert stop.process is not None
    pane_id, person = take_over(team, ours.agent, people)
    ctx = ApplyContext(
        tmux=team.tmux,
        world=before,
        team_id="taken",
        workspace=str(team.root.resolve()),
        state_dir=team.root / ".team",
        python=sys.executable,
    )

    (outcome,) = apply_plan([stop], ctx, default_controllers())

    assert not outcome.ok and "did not start" in outcome.message, outcome
    assert_left_alone(team, pane_id, person)

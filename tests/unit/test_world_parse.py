"""Parsing the one `list-panes -a -F` call, and rendering and merging plans.

The output is built here from `PANE_VARIABLES` and the separators of `reconciler.observe.world`,
then split into lines as libtmux hands it over (`stdout.split("\\n")`, trailing blanks dropped),
so a change of the format or of the separators shows up as a failing row, not as silence.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import NamedTuple

import pytest

from controllers.agents.actions import CreateAgent, RecreateAgent, RestartAgent, StopAgent
from reconciler.api import markers
from reconciler.api.actions import Plan, ProcessRef, merge_plans
from reconciler.api.ids import AgentId, PaneId, WindowId
from reconciler.api.launch import LaunchConfig
from reconciler.observe.world import (
    FIELD_SEPARATOR,
    LIST_PANES_FORMAT,
    PANE_VARIABLES,
    RECORD_SEPARATOR,
    SOURCE,
    Pane,
    TmuxSource,
    parse_pane,
    parse_panes,
)

BASE: dict[str, str] = {
    "server_pid": "4100",
    "session_id": "$1",
    "session_name": "team-demo",
    "window_id": "@2",
    "window_index": "3",
    "window_name": "impl",
    "window_panes": "1",
    "pane_id": "%3",
    "pane_pid": "4242",
    "pane_dead": "0",
    "pane_dead_status": "",
    "pane_dead_signal": "",
    "pane_dead_time": "",
    "pane_current_command": "python3",
    "pane_current_path": "/ws",
    "pane_in_mode": "0",
    "team": "demo",
    "agent": "impl",
    "workspace": "/ws",
    "config_hash": "sha256:abc",
    "window_agent": "impl",
    "session_workspace": "/ws",
    "leader_uuid": "",
    "leader_pid": "",
    "launched_pid": "4242",
    "window_activity": "1795608105",
}

# BASE's names for the tmux variables that are not already valid keyword names.
VARIABLE: dict[str, str] = {
    "server_pid": "pid",
    "team": markers.TEAM,
    "agent": markers.AGENT,
    "workspace": markers.WORKSPACE,
    "config_hash": markers.CONFIG_HASH,
    "window_agent": markers.WINDOW,
    "session_workspace": markers.SESSION_WORKSPACE,
    "leader_uuid": markers.LEADER_UUID,
    "leader_pid": markers.LEADER_PID,
    "launched_pid": markers.PANE_PID,
}

FOREIGN: dict[str, str] = {
    **BASE,
    "window_id": "@9",
    "window_name": "notes",
    "pane_id": "%9",
    "pane_pid": "5000",
    "pane_current_command": "vim",
    "team": "",
    "agent": "",
    "workspace": "",
    "config_hash": "",
    "window_agent": "",
    "session_workspace": "",
}


def record(**overrides: str) -> str:
    """One record as tmux prints it with `LIST_PANES_FORMAT` (fields from BASE)."""
    values = {VARIABLE.get(name, name): value for name, value in {**BASE, **overrides}.items()}
    assert set(values) == set(PANE_VARIABLES)
    return FIELD_SEPARATOR.join(values[name] for name in PANE_VARIABLES) + RECORD_SEPARATOR


def tmux_output(*records: str) -> list[str]:
    """What `Tmux.run` returns: one printed line per record, split on newlines."""
    lines = "".join(r + "\n" for r in records).split("\n")
    while lines and lines[-1] == "":
        lines.pop()
    return lines


def test_format_has_one_field_per_variable_and_ends_records() -> None:
    assert LIST_PANES_FORMAT.count(FIELD_SEPARATOR) == len(PANE_VARIABLES) - 1
    assert LIST_PANES_FORMAT.endswith(RECORD_SEPARATOR)
    for marker in (*markers.PANE_MARKERS, markers.WINDOW, markers.SESSION_WORKSPACE):
        assert "#{" + marker + "}" in LIST_PANES_FORMAT
    assert len(set(PANE_VARIABLES)) == len(PANE_VARIABLES)


def test_every_pane_field_is_read_from_the_format() -> None:
    """The `Pane` fields are the one declaration: each names the tmux variables it reads,
    and every variable of the format is read by a field."""
    read: set[str] = set()
    for pane_field in dataclasses.fields(Pane):
        source = pane_field.metadata.get(SOURCE)
        assert isinstance(source, TmuxSource), pane_field.name
        assert source.variables, pane_field.name
        read.update(source.variables)
    assert read == set(PANE_VARIABLES)


def test_normal_row() -> None:
    (found,) = parse_panes(tmux_output(record()))

    assert found == Pane(
        server_pid=4100,
        session_id="$1",
        session_name="team-demo",
        window_id=WindowId("@2"),
        window_index=3,
        window_name="impl",
        window_panes=1,
        pane_id=PaneId("%3"),
        pane_pid=4242,
        dead=False,
        dead_status=None,
        dead_time=None,
        current_command="python3",
        current_path="/ws",
        in_mode=False,
        activity=1795608105.0,
        team="demo",
        agent="impl",
        workspace="/ws",
        config_hash="sha256:abc",
        window_agent="impl",
        session_workspace="/ws",
        leader_uuid="",
        launched_pid="4242",
    )
    assert found.pane_number == 3
    assert found.owned_by("demo", "/ws")
    assert not found.taken_over


def test_several_rows_keep_their_order() -> None:
    panes = parse_panes(tmux_output(record(), record(**FOREIGN), record(pane_id="%12")))

    assert [p.pane_id for p in panes] == ["%3", "%9", "%12"]


@pytest.mark.parametrize(
    "name",
    ["evil\nname", "tab\there", "\nleading newline", "trailing newline\n", "a\n\tb\n\nc"],
    ids=["newline", "tab", "leading-newline", "trailing-newline", "mixed"],
)
def test_foreign_window_name_with_newline_and_tab_does_not_break_rows(name: str) -> None:
    output = tmux_output(record(), record(**{**FOREIGN, "window_name": name}), record(pane_id="%4"))

    panes = parse_panes(output)

    assert [p.pane_id for p in panes] == ["%3", "%9", "%4"]
    assert panes[1].window_name == name
    assert panes[1].agent == ""
    assert [p.agent for p in panes] == ["impl", "", "impl"]


class MalformedCase(NamedTuple):
    test_id: str
    text: str


MALFORMED_CASES = [
    MalformedCase("too-few-fields", FIELD_SEPARATOR.join(["1", "$1", "s"]) + RECORD_SEPARATOR),
    MalformedCase("too-many-fields", record().replace(RECORD_SEPARATOR, FIELD_SEPARATOR + "x\x1e")),
    MalformedCase("pane-id-without-percent", record(pane_id="3")),
    MalformedCase("empty-pane-id", record(pane_id="")),
    MalformedCase("a-warning-line", "tmux: some warning" + RECORD_SEPARATOR),
]


@pytest.mark.parametrize("case", MALFORMED_CASES, ids=[c.test_id for c in MALFORMED_CASES])
def test_malformed_record_is_skipped(case: MalformedCase) -> None:
    panes = parse_panes(tmux_output(record(), case.text, record(pane_id="%4")))

    assert [p.pane_id for p in panes] == ["%3", "%4"]


def test_parse_pane_returns_none_for_a_malformed_record() -> None:
    assert parse_pane("no separators here") is None


def test_empty_output_is_no_panes() -> None:
    assert parse_panes([]) == ()
    assert parse_panes([""]) == ()


def test_dead_pane_fields() -> None:
    (found,) = parse_panes(
        tmux_output(record(pane_dead="1", pane_dead_status="3", pane_dead_time="1795597200"))
    )

    assert found.dead is True
    assert found.dead_status == 3
    assert found.dead_time == 1795597200.0


class SignalCase(NamedTuple):
    test_id: str
    status: str
    signal: str
    want: int | None


SIGNAL_CASES = [
    SignalCase("exit-code", "3", "", 3),
    SignalCase("killed-by-sigkill", "", "9", 137),
    SignalCase("killed-by-sigterm", "", "15", 143),
    SignalCase("exit-code-wins-over-signal", "1", "9", 1),
    SignalCase("neither", "", "", None),
]


@pytest.mark.parametrize("case", SIGNAL_CASES, ids=[c.test_id for c in SIGNAL_CASES])
def test_dead_pane_exit_code_from_status_or_signal(case: SignalCase) -> None:
    (found,) = parse_panes(
        tmux_output(
            record(pane_dead="1", pane_dead_status=case.status, pane_dead_signal=case.signal)
        )
    )

    assert found.dead_status == case.want


def test_dead_pane_without_status_or_time() -> None:
    # Killed by a signal: tmux leaves pane_dead_status empty.
    (found,) = parse_panes(tmux_output(record(pane_dead="1")))

    assert found.dead is True
    assert found.dead_status is None
    assert found.dead_time is None


def test_live_pane_ignores_stale_dead_fields() -> None:
    (found,) = parse_panes(
        tmux_output(
            record(pane_dead="0", pane_dead_status="1", pane_dead_signal="9", pane_dead_time="17")
        )
    )

    assert (found.dead, found.dead_status, found.dead_time) == (False, None, None)


def test_numbers_that_are_not_numbers_fall_back() -> None:
    (found,) = parse_panes(
        tmux_output(record(server_pid="", pane_pid="", window_index="x", window_panes=""))
    )

    assert (found.server_pid, found.pane_pid, found.window_index, found.window_panes) == (
        0,
        None,
        0,
        1,
    )


def test_markers_are_parsed() -> None:
    (found,) = parse_panes(
        tmux_output(
            record(
                team="other-team",
                agent="rev",
                workspace="/home/me/proj with space",
                config_hash="sha256:00ff",
                window_agent="rev",
                session_workspace="/home/me/proj with space",
                leader_uuid="7c4a3a8e-0000-4000-8000-000000000001",
                pane_in_mode="1",
            )
        )
    )

    assert found.team == "other-team"
    assert found.agent == "rev"
    assert found.workspace == "/home/me/proj with space"
    assert found.config_hash == "sha256:00ff"
    assert found.window_agent == "rev"
    assert found.session_workspace == "/home/me/proj with space"
    assert found.leader_uuid == "7c4a3a8e-0000-4000-8000-000000000001"
    assert found.in_mode is True
    # A pane carrying a leader marker is never an agent pane, whatever else it carries.
    assert not found.owned_by("other-team", "/home/me/proj with space")
    agent_pane = dataclasses.replace(found, leader_uuid="")
    assert agent_pane.owned_by("other-team", "/home/me/proj with space")
    assert not agent_pane.owned_by("demo", "/home/me/proj with space")
    assert not agent_pane.owned_by("other-team", "/ws")


def test_unmarked_pane_is_owned_by_nobody() -> None:
    (found,) = parse_panes(tmux_output(record(**FOREIGN)))

    assert not found.owned_by("demo", "/ws")
    assert not found.owned_by("", "")


# --- Plan.render and merge_plans ----------------------------------------------------------

LAUNCH = LaunchConfig(provider="shell", argv=("sleep", "9"), cwd="/ws")
IMPL = AgentId("impl")
CREATE = CreateAgent(
    agent=IMPL, session="team-demo", launch=LAUNCH, config_hash="h", new_session=True
)
CREATE_IN = CreateAgent(
    agent=AgentId("api"), session="team-demo", launch=LAUNCH, config_hash="h", new_session=False
)
RESTART = RestartAgent(
    agent=IMPL, pane=PaneId("%3"), launch=LAUNCH, config_hash="h", cause="exited with code 1"
)
RECREATE = RecreateAgent(
    agent=IMPL,
    pane=PaneId("%3"),
    process=ProcessRef(4242, 1.0),
    launch=LAUNCH,
    config_hash="h2",
    grace_sec=5,
)
STOP_WINDOW = StopAgent(
    agent=AgentId("old"),
    pane=PaneId("%4"),
    window=WindowId("@4"),
    process=None,
    kill_window=True,
    grace_sec=5,
    cause="removed from spec",
)
STOP_PANE = StopAgent(
    agent=AgentId("old"),
    pane=PaneId("%4"),
    window=WindowId("@4"),
    process=None,
    kill_window=False,
    grace_sec=5,
    cause="paused",
)


def test_empty_plan_renders_no_changes() -> None:
    assert Plan().render() == "no changes: the world matches the spec"
    assert Plan().empty
    assert Plan(requeue_after=3).empty


def test_plan_renders_one_line_per_action_in_order() -> None:
    plan = Plan(actions=(CREATE, CREATE_IN, RESTART, RECREATE, STOP_WINDOW, STOP_PANE))

    assert plan.render() == (
        "create  agent/impl in new session team-demo (missing)\n"
        "create  agent/api in session team-demo (missing)\n"
        "restart agent/impl pane %3 (exited with code 1)\n"
        "recreate agent/impl pane %3 (config changed)\n"
        "stop    agent/old window @4 (removed from spec)\n"
        "stop    agent/old pane %4 (paused)"
    )
    assert not plan.empty


def test_render_never_shows_env_values() -> None:
    secret = LaunchConfig(
        provider="shell", argv=("sleep", "9"), cwd="/ws", env={"API_KEY": "sk-secret-123"}
    )
    plan = Plan(
        actions=(
            CreateAgent(agent=IMPL, session="s", launch=secret, config_hash="h", new_session=False),
        )
    )

    assert "sk-secret-123" not in plan.render()


class MergeCase(NamedTuple):
    test_id: str
    plans: list[Plan]
    want: Plan


MERGE_CASES = [
    MergeCase("nothing", [], Plan()),
    MergeCase("one", [Plan(actions=(CREATE,), requeue_after=2)], Plan((CREATE,), 2)),
    MergeCase(
        "concatenates-in-order",
        [Plan(actions=(CREATE,)), Plan(actions=(STOP_WINDOW, RESTART))],
        Plan(actions=(CREATE, STOP_WINDOW, RESTART)),
    ),
    MergeCase(
        "earliest-requeue-wins",
        [Plan(requeue_after=7), Plan(), Plan(requeue_after=0.25), Plan(requeue_after=30)],
        Plan(requeue_after=0.25),
    ),
    MergeCase(
        "zero-requeue-is-kept",
        [Plan(requeue_after=0), Plan(requeue_after=5)],
        Plan(requeue_after=0),
    ),
]


@pytest.mark.parametrize("case", MERGE_CASES, ids=[c.test_id for c in MERGE_CASES])
def test_merge_plans(case: MergeCase) -> None:
    assert merge_plans(case.plans) == case.want


def test_paths_in_records_are_taken_verbatim() -> None:
    weird = str(Path("/tmp") / "a\tb")
    (found,) = parse_panes(tmux_output(record(pane_current_path=weird)))

    assert found.current_path == weird

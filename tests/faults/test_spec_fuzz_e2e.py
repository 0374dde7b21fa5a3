"""Bad input, end to end: hostile spec values through `team-agent reconcile --once`.

Attacks: the path from a spec value to a running process: launch file, `tmux
new-session/new-window -c` (which tmux expands as a format, and `#(...)` in a format runs
a shell command), ownership markers, the agent's exec. Hypothesis draws agents whose ids,
env names and values, command arguments and workspace folder name carry shell syntax
(`$(touch F)`, backticks, `;`, `|`, `&&`), tmux formats and targets (`#{pane_id}`,
`#(touch F)`, `%1`, `:`, `=s:`), quotes, newlines, escapes and unicode, each value also
holding a secret token. A bounded number of cases run (4 short, 60 long), each a real
`reconcile --once --wait` on a private tmux server.

Must hold: exit 0 (the team came up) or 2 (the spec was refused, with file:line:column),
never a traceback; the marker file F is never created (no spec value ever reached a
shell); each agent's process has exactly the declared argv (nothing split, expanded or
quoted), its env values byte for byte, and the declared workspace as its folder; its
window is named by its id; no secret appears in the status, the events or the output.
A legitimate `["sh", "-c", SCRIPT, ...]` command is argv too: the shell runs SCRIPT,
and the values after it stay data (`"$1"`), which the last test shows.
"""

from __future__ import annotations

import contextlib
import json
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.observe.tmux import TmuxCommandError
from tests.conftest import TeamWorkspace, retry_until
from tests.faults import harness

SECRET = "s3cr3t-e2e-51c0"
SLEEPER = [sys.executable, "-c", "import time; time.sleep(3600)"]
PWNED = "PWNED"  # replaced by the per-test marker path in every hostile template

TEMPLATES = [
    "$(touch PWNED)",
    "`touch PWNED`",
    "; touch PWNED",
    "a && touch PWNED",
    "| touch PWNED",
    "#(touch PWNED)",
    "##(touch PWNED)",
    "#{pane_id}",
    "#{E:#(touch PWNED)}",
    "%1",
    ":",
    "=team-x:0",
    "@1",
    "'; touch PWNED; '",
    '"; touch PWNED; "',
    "\\$(touch PWNED)",
    "a\nb",
    "tab\there",
    "-c",
    "--",
    "é名🙂",
    "",
]
# Folder names for the workspace: the same hostility, minus what a file name cannot hold.
FOLDERS = ["w#(touch PWNED)", "w$(touch PWNED)", "w;touch PWNED", "w`touch PWNED`", "#{pane_id}"]
FOLDERS += ["%1", ":x", "w'q\"", "plain", "é名"]
VALID_IDS = ["a", "b-1", "c_2", "x" * 63]
BAD_IDS = ["%1", "a:b", "#{pane_id}", "$(touch PWNED)", "a;b", "A", "-a", "a" * 64, ""]
ENV_NAMES = ["V1", "V2", "_x", "LOWER_case"]
BAD_ENV_NAMES = ["1X", "A-B", "A B", "$(touch PWNED)", "TEAM_AGENT_X"]

RUNS = 60 if harness.RUN.long else 4


def hostile(marker: Path) -> st.SearchStrategy[str]:
    # Printable text: raw control characters are not YAML, and JSON escapes only some.
    alphabet = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Co", "Cn"))
    texts = st.text(alphabet, max_size=12)
    return st.one_of(st.sampled_from(TEMPLATES), texts).map(lambda t: t.replace(PWNED, str(marker)))


@st.composite
def teams(draw: st.DrawFn, marker: Path) -> dict[str, Any]:
    """A team of 1-3 agents with hostile values; ids and env names mostly valid."""
    agents = []
    ids = draw(
        st.lists(
            st.one_of(st.sampled_from(VALID_IDS), st.sampled_from(VALID_IDS)),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    if draw(st.sampled_from([False] * 5 + [True])):  # one team in six: a refused id
        ids[0] = draw(st.sampled_from(BAD_IDS)).replace(PWNED, str(marker))
    for agent_id in ids:
        names = draw(st.lists(st.sampled_from(ENV_NAMES), max_size=3, unique=True))
        if draw(st.sampled_from([False] * 7 + [True])):  # a refused env name
            names.append(draw(st.sampled_from(BAD_ENV_NAMES)).replace(PWNED, str(marker)))
        env = {name: f"{SECRET}{draw(hostile(marker))}" for name in names}
        # Non-empty: an empty argv element is refused by the spec (min length 1).
        extra = draw(st.lists(hostile(marker).filter(bool), max_size=4))
        agents.append(
            {"id": agent_id, "provider": "shell", "command": [*SLEEPER, *extra], "env": env}
        )
    folder = draw(st.sampled_from(FOLDERS)).replace(PWNED, str(marker))
    return {"agents": agents, "folder": folder}


def _run_case(team: TeamWorkspace, case: dict[str, Any], index: int, marker: Path) -> int:
    base = team.root / f"case{index}"
    base.mkdir()
    workspace = base / case["folder"]
    workspace.mkdir(parents=True)  # a marker path in the name makes nested folders: fine
    name = f"e2e{index}"
    doc = {
        "version": 1,
        "team": {"name": name, "workspace": case["folder"]},
        "agents": case["agents"],
        "runtime": {"tmux_socket": team.socket, "stop_grace_sec": 1},
    }
    spec = base / "team.spec.yaml"
    spec.write_text(json.dumps(doc, ensure_ascii=bool(index % 2), indent=2))
    proc = team.cli("-f", str(spec), "reconcile", "--once", "--wait", "20s", "-o", "json")
    harness.no_traceback(proc.stdout, proc.stderr)
    assert proc.returncode in (0, 2), (proc.returncode, proc.stdout, proc.stderr)
    if proc.returncode == 2:
        assert f"{spec}:" in proc.stderr, proc.stderr
        assert SECRET not in proc.stderr + proc.stdout
        return 2

    session = f"team-{name}"
    panes = {p.agent: p for p in harness.session_panes(team.tmux, session)}
    assert set(panes) == {a["id"] for a in case["agents"]}
    for agent in case["agents"]:
        pane = panes[agent["id"]]
        assert pane.window_name == agent["id"]
        assert pane.pane_pid is not None
        process = psutil.Process(pane.pane_pid)
        assert process.cmdline() == agent["command"]
        environ = process.environ()
        for key, value in agent["env"].items():
            assert environ.get(key) == value, key
        assert Path(process.cwd()) == workspace.resolve()
    for path in [base / case["folder"] / ".team" / "status.json", *sorted(base.rglob("*.jsonl"))]:
        assert SECRET not in path.read_text(errors="replace"), path
    assert SECRET not in proc.stdout + proc.stderr
    assert not marker.exists(), "a spec value was executed by a shell"
    with contextlib.suppress(TmuxCommandError):
        team.tmux.run("kill-session", "-t", f"={session}")
    return 0


def test_hostile_values_end_to_end(team: TeamWorkspace, tmp_path: Path) -> None:
    """Hypothesis draws `RUNS` hostile teams; each is reconciled for real (see above)."""
    marker = tmp_path / "pwned-marker"
    counter = iter(range(10_000))
    codes: list[int] = []

    @settings(
        max_examples=RUNS,
        deadline=None,
        derandomize=not harness.RUN.long,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=teams(marker))
    def run(case: dict[str, Any]) -> None:
        codes.append(_run_case(team, case, next(counter), marker))

    run()
    assert not marker.exists()
    assert codes.count(0) >= len(codes) // 2, codes  # most cases must really come up


def test_shell_command_runs_its_script_and_keeps_values_as_data(team: TeamWorkspace) -> None:
    """`["sh", "-c", SCRIPT, "sh", VALUE]` is a legitimate argv: the shell runs SCRIPT (which
    writes "$1" to a file) and VALUE, `$(touch F)`, arrives as data and runs nothing."""
    marker = team.root / "pwned-by-value"
    out = team.root / "received"
    value = f"$(touch {marker})`touch {marker}`#(touch {marker})"
    doc = {
        "version": 1,
        "team": {"name": "shellok"},
        "agents": [
            {
                "id": "sh",
                "provider": "shell",
                "command": [
                    "sh",
                    "-c",
                    'printf %s "$1" > "$2"; exec sleep 3600',
                    "sh",
                    value,
                    str(out),
                ],
            }
        ],
        "runtime": {"tmux_socket": team.socket},
    }
    team.spec_path.write_text(json.dumps(doc))
    proc = team.cli("reconcile", "--once", "--wait", "20s")
    assert proc.returncode == 0, proc.stderr
    retry_until(lambda: out.exists() and out.read_text() == value, timeout=10)
    assert not marker.exists()


@pytest.mark.parametrize("agent_id", ["%1", "a:b", "#{pane_id}", "=s:0"])
def test_tmux_target_or_format_as_agent_id_is_refused(team: TeamWorkspace, agent_id: str) -> None:
    """An agent id tmux would read as a target or a format is refused with its location
    (exit 2) and nothing is created on the server."""
    doc = {
        "version": 1,
        "team": {"name": "ids"},
        "agents": [{"id": agent_id, "provider": "shell", "command": ["sleep", "60"]}],
        "runtime": {"tmux_socket": team.socket},
    }
    team.spec_path.write_text(json.dumps(doc, indent=2))
    proc = team.cli("reconcile", "--once")
    assert proc.returncode == 2, proc.stderr
    assert f"{team.spec_path}:8:13: agents[0].id" in proc.stderr, proc.stderr
    assert not team.panes()


def _limit_memory() -> None:
    """In the child: 1 GiB of address space, so reading without bound fails fast."""
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def test_system_prompt_file_that_never_ends_is_refused(team: TeamWorkspace) -> None:
    """A `system_prompt_file` that is not a regular file (here /dev/zero, endless) must be
    refused with a message (the agent is not launched, `validate` names the file), not
    read until memory runs out."""
    doc = {
        "version": 1,
        "team": {"name": "devzero"},
        "agents": [{"id": "a", "provider": "claude", "system_prompt_file": "/dev/zero"}],
        "runtime": {"tmux_socket": team.socket},
    }
    team.spec_path.write_text(json.dumps(doc, indent=2))
    proc = subprocess.run(
        harness.cli_argv(team.spec_path, "plan"),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=team.root,
        preexec_fn=_limit_memory,
    )
    harness.no_traceback(proc.stdout, proc.stderr)
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    assert "create" not in proc.stdout  # the agent is not launched
    validate = subprocess.run(
        harness.cli_argv(team.spec_path, "validate"),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=team.root,
        preexec_fn=_limit_memory,
    )
    harness.no_traceback(validate.stdout, validate.stderr)
    assert "/dev/zero is not a regular file" in validate.stderr

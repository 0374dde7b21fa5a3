"""`python -m reconciler.launcher.exec_agent` run as the program a pane starts: it execs the
agent in its folder with the clean environment (same pid), runs the prepare step first,
and exits 127 with a clear message when it cannot. Its pure parts (`prepare_env`, `scrub`)
are in tests/unit/test_exec_agent.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from reconciler.launcher.exec_agent import EXIT_CANNOT_RUN
from tests.unit.test_exec_agent import INHERITED, WANTED

REPO = Path(__file__).resolve().parents[2]
PRINT_ENV_AND_CWD = "import os,json;print(json.dumps({'env':dict(os.environ),'cwd':os.getcwd()}))"


def run_exec_agent(
    launch_file: Path, *, env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reconciler.launcher.exec_agent", str(launch_file)],
        capture_output=True,
        text=True,
        timeout=30,
        env={**env, "PYTHONPATH": str(REPO)},
        cwd=cwd,
        check=False,
    )


def write_launch(path: Path, payload: dict[str, Any]) -> Path:
    path.write_text(json.dumps(payload))
    path.chmod(0o600)
    return path


def test_main_execs_the_argv_in_its_folder_with_a_clean_env(tmp_path: Path) -> None:
    agent_dir = tmp_path / "agent dir"
    agent_dir.mkdir()
    launch = write_launch(
        tmp_path / "impl-1.json",
        {"argv": [sys.executable, "-c", PRINT_ENV_AND_CWD], "cwd": str(agent_dir), "env": WANTED},
    )
    inherited = {**INHERITED, "PATH": os.environ["PATH"]}

    done = run_exec_agent(launch, env=inherited, cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    env = seen["env"]
    for name in (
        "TEAM_AGENT_LEADER_SESSION_UUID",
        "TEAM_AGENT_LEADER_PANE",
        "TEAM_AGENT_TMUX_SOCKET",
        "CLAUDE_CODE_SESSION_ID",
        "CLAUDE_CODE_ENTRYPOINT",
        "CLAUDECODE",
        "CODEX_SESSION_ID",
        "CODEX_THREAD_ID",
    ):
        assert name not in env, name
    for name, value in WANTED.items():
        assert env[name] == value, name
    assert env["PATH"] == os.environ["PATH"]
    assert env["HOME"] == "/home/me"
    assert Path(seen["cwd"]) == agent_dir.resolve()
    assert not launch.exists()


def test_main_replaces_itself_with_the_agent(tmp_path: Path) -> None:
    """The pane's pid is the agent's pid: exec, not a child process."""
    launch = write_launch(
        tmp_path / "impl-2.json",
        {
            "argv": [sys.executable, "-c", "import os;print(os.getpid(), os.getppid())"],
            "cwd": str(tmp_path),
            "env": {},
        },
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconciler.launcher.exec_agent", str(launch)],
        stdout=subprocess.PIPE,
        text=True,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO)},
    )
    out, _ = proc.communicate(timeout=30)

    assert proc.returncode == 0
    assert int(out.split()[0]) == proc.pid


def test_main_missing_executable_exits_127_with_a_clear_message(tmp_path: Path) -> None:
    launch = write_launch(
        tmp_path / "impl-3.json",
        {"argv": ["no-such-agent-cli", "--flag"], "cwd": str(tmp_path), "env": {"K": "secret"}},
    )

    done = run_exec_agent(launch, env={"PATH": os.environ["PATH"]}, cwd=tmp_path)

    assert done.returncode == EXIT_CANNOT_RUN == 127
    assert "cannot run 'no-such-agent-cli'" in done.stderr
    assert "No such file or directory" in done.stderr
    assert "secret" not in done.stderr
    assert not launch.exists()  # gone even when the agent could not start


def test_main_missing_folder_exits_127(tmp_path: Path) -> None:
    launch = write_launch(
        tmp_path / "impl-4.json",
        {"argv": ["true"], "cwd": str(tmp_path / "nowhere"), "env": {}},
    )

    done = run_exec_agent(launch, env={"PATH": os.environ["PATH"]}, cwd=tmp_path)

    assert done.returncode == EXIT_CANNOT_RUN
    assert "cannot enter" in done.stderr
    assert str(tmp_path / "nowhere") in done.stderr


def test_main_unreadable_launch_file_exits_127(tmp_path: Path) -> None:
    done = run_exec_agent(tmp_path / "missing.json", env={"PATH": os.environ["PATH"]}, cwd=tmp_path)

    assert done.returncode == EXIT_CANNOT_RUN
    assert "cannot read launch file" in done.stderr


def test_main_usage() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "reconciler.launcher.exec_agent"],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO)},
        check=False,
    )

    assert done.returncode == 2
    assert "usage:" in done.stderr


COPY_FILE = "import shutil,sys;shutil.copy(sys.argv[1], 'prepared.json');print(sys.argv[1])"


def test_main_runs_the_prepare_step_in_the_agents_folder_before_the_agent(
    tmp_path: Path,
) -> None:
    """A fresh OpenCode start: `opencode import {file}` creates the session, then the exec."""
    agent_dir = tmp_path / "agent"
    agent_dir.mkdir()
    launch = write_launch(
        tmp_path / "impl-5.json",
        {
            "argv": [sys.executable, "-c", "print(open('prepared.json').read())"],
            "cwd": str(agent_dir),
            "env": {},
            "prepare": {"argv": [sys.executable, "-c", COPY_FILE, "{file}"], "file": '{"id": 1}'},
        },
    )

    done = run_exec_agent(launch, env={"PATH": os.environ["PATH"]}, cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == '{"id": 1}'  # the agent ran after the prepare step
    assert not any(tmp.name.startswith("team-agent-prepare-") for tmp in agent_dir.iterdir())


def test_main_a_failed_prepare_step_exits_127_without_starting_the_agent(tmp_path: Path) -> None:
    launch = write_launch(
        tmp_path / "impl-6.json",
        {
            "argv": [sys.executable, "-c", "open('started', 'w')"],
            "cwd": str(tmp_path),
            "env": {},
            "prepare": {"argv": [sys.executable, "-c", "print('no such session');exit(3)"]},
        },
    )

    done = run_exec_agent(launch, env={"PATH": os.environ["PATH"]}, cwd=tmp_path)

    assert done.returncode == EXIT_CANNOT_RUN
    assert "cannot prepare the session" in done.stderr and "no such session" in done.stderr
    assert not (tmp_path / "started").exists()

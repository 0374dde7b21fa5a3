"""Real-CLI providers end to end: the stub CLIs on a real tmux server, a temporary HOME.

Each test starts agents of `claude`, `codex`, `gemini`, `copilot` or `opencode` through
the stubs in `tests/stubs/bin/` (which write their session files where the real CLIs do),
drives them by typing into their panes, and checks what team-agent reports and how it
started them (the stubs log every argv).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import NamedTuple

import pytest

from controllers.providers.codex import session_tag
from reconciler.api import conditions as C
from tests.conftest import TeamWorkspace
from tests.e2e.stubenv import StubEnv, read_jsonl, stub_env

pytestmark = pytest.mark.e2e


def one_agent(provider: str, agent: str = "worker", extra: str = "") -> str:
    return f"""\
        version: 1
        team: {{name: prov}}
        agents:
          - id: {agent}
            provider: {provider}
        {extra}"""


def claude_dir(env: StubEnv, cwd: Path) -> Path:
    return env.home / ".claude" / "projects" / re.sub(r"[^A-Za-z0-9]", "-", str(cwd))


class CaptureCase(NamedTuple):
    provider: str
    new_args: tuple[str, ...]  # how a fresh start carries the pre-assigned id ("{id}")
    at_start: bool = False  # the CLI writes its transcript at startup, not at the first message


CAPTURE_CASES = [
    CaptureCase("claude", ("--session-id", "{id}")),
    CaptureCase("codex", ()),
    # Gemini 0.61.0 writes its chat file at startup (measured).
    CaptureCase("gemini", ("--session-id", "{id}"), at_start=True),
    CaptureCase("copilot", ("--session-id={id}",)),
]


def transcript_id(provider: str, path: Path) -> str:
    """The session id written in the transcript itself, read the way each CLI writes it."""
    first = read_jsonl(path)[0]
    if provider == "claude":
        return str(read_jsonl(path)[1]["sessionId"])
    if provider == "codex":
        return str(first["payload"]["id"])
    if provider == "gemini":
        return str(first["sessionId"])
    return str(first["data"]["sessionId"])


def expected_path(env: StubEnv, provider: str, cwd: Path, sid: str) -> Path:
    """Where the real CLI keeps session `sid` (computed here independently of team-agent)."""
    if provider == "claude":
        return claude_dir(env, cwd) / f"{sid}.jsonl"
    if provider == "codex":
        found = list((env.home / ".codex" / "sessions").glob(f"*/*/*/rollout-*-{sid}.jsonl"))
        assert len(found) == 1, found
        return found[0]
    if provider == "gemini":
        # The folder is the slug Gemini registered for the project in projects.json.
        registry = json.loads((env.home / ".gemini" / "projects.json").read_text())
        chats = env.home / ".gemini" / "tmp" / registry["projects"][str(cwd)]
        found = list((chats / "chats").glob(f"session-*-{sid[:8]}.jsonl"))
        assert len(found) == 1, found
        return found[0]
    return env.home / ".copilot" / "session-state" / sid / "events.jsonl"


@pytest.mark.parametrize("case", CAPTURE_CASES, ids=[c.provider for c in CAPTURE_CASES])
def test_session_is_captured_after_the_first_message(
    team: TeamWorkspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: CaptureCase
) -> None:
    """Fresh start → Capturing (no transcript before a message; Gemini's is written at
    startup: Captured already) → first message → Captured with the id the CLI wrote, at
    the path the CLI uses."""
    env = stub_env(team, tmp_path, monkeypatch)
    env.trust_all(team.root.resolve())
    team.write_spec(one_agent(case.provider))
    ready = team.converge()

    worker = ready.status.agents["worker"]
    waiting = C.find_condition(worker.conditions, C.SESSION_CAPTURED)
    early = (C.TRUE, C.CAPTURED) if case.at_start else (C.UNKNOWN, C.CAPTURING)
    assert waiting is not None and (waiting.status, waiting.reason) == early
    (argv,) = env.starts(case.provider)
    if case.new_args:
        assert worker.sessionId is not None
        wanted = [a.replace("{id}", worker.sessionId) for a in case.new_args]
        assert argv[: len(wanted)] == wanted
    else:
        assert worker.sessionId is None  # Codex chooses its id: known only from the rollout

    captured = env.converse("worker")

    assert captured.sessionId is not None and captured.sessionFile is not None
    cwd = team.root.resolve()
    path = expected_path(env, case.provider, cwd, captured.sessionId)
    assert Path(captured.sessionFile) == path
    assert transcript_id(case.provider, path) == captured.sessionId
    if worker.sessionId is not None:
        assert captured.sessionId == worker.sessionId
    assert len(env.events("SessionCaptured", "worker")) == 1


def test_two_codex_agents_in_one_folder_get_their_own_sessions(
    team: TeamWorkspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two Codex agents started in the same pass in the same folder: each is attributed
    the rollout carrying its own tag, never the other's (nor the newest file)."""
    env = stub_env(team, tmp_path, monkeypatch)
    env.trust_all(team.root.resolve())
    team.write_spec("""\
        version: 1
        team: {name: twins}
        agents:
          - id: left
            provider: codex
          - id: right
            provider: codex
        """)
    team.converge()
    env.send("right", "I am right")
    env.send("left", "I am left")
    right = env.captured("right")
    left = env.captured("left")

    assert left.sessionId != right.sessionId
    workspace = str(team.root.resolve())
    for name, status in (("left", left), ("right", right)):
        assert status.sessionFile is not None
        lines = read_jsonl(Path(status.sessionFile))
        assert lines[0]["payload"]["id"] == status.sessionId
        text = json.dumps(lines)
        assert session_tag("twins", workspace, name) in text
        assert f"I am {name}" in text
        other = "right" if name == "left" else "left"
        assert session_tag("twins", workspace, other) not in text


def test_opencode_imports_its_preassigned_session_and_resumes_it(
    team: TeamWorkspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OpenCode takes no id for a new session: the pane runs `opencode import` with the
    pre-assigned `ses_` id, then `opencode --session <id>`; the session row is in the
    database from the start (Captured), and a killed CLI resumes it, importing nothing."""
    env = stub_env(team, tmp_path, monkeypatch)
    team.write_spec(one_agent("opencode"))
    team.converge()
    worker = env.captured("worker")
    sid = worker.sessionId
    assert sid is not None and sid.startswith("ses_")
    assert worker.sessionFile == str(env.home / ".local" / "share" / "opencode" / "opencode.db")
    env.send("worker", "hello")
    env.kill_agent("worker")
    result = team.converge()

    found = C.find_condition(result.status.agents["worker"].conditions, C.SESSION_CAPTURED)
    assert found is not None and (found.status, found.reason) == (C.TRUE, C.CAPTURED)
    assert result.status.agents["worker"].sessionId == sid
    starts = env.starts("opencode")
    assert starts[0][0] == "import" and len(starts) == 3
    assert starts[1:] == [["--session", sid], ["--session", sid]]


def test_missing_cli_is_reported_and_validate_warns(
    team: TeamWorkspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No `claude` on PATH: validate warns, the agent is ProviderNotInstalled, the rest of
    the team runs undisturbed."""
    env = stub_env(team, tmp_path, monkeypatch, with_stubs=False)
    team.write_spec("""\
        version: 1
        team: {name: partial}
        agents:
          - id: brain
            provider: claude
          - id: tail
            provider: shell
            command: ["sleep", "3600"]
        """)

    checked = team.cli("validate")
    result = team.reconcile()

    assert checked.returncode == 0, checked.stderr
    assert "agent brain: 'claude' is not installed" in checked.stderr
    brain = C.find_condition(result.status.agents["brain"].conditions, C.READY)
    assert brain is not None and brain.reason == C.PROVIDER_NOT_INSTALLED
    assert [p.agent for p in team.agent_panes()] == ["tail"]
    settled = env.passes_until(lambda r: C.is_true(r.status.agents["tail"].conditions, C.READY))
    assert not settled.ready  # the team is not Ready without brain, and says why
    assert "brain" in str(C.find_condition(settled.status.conditions, C.READY))


def test_worker_does_not_inherit_the_leaders_session_variables(
    team: TeamWorkspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """team-agent run from inside a leader's Claude session: the tmux server it starts
    carries CLAUDE_CODE_SESSION_ID and TEAM_AGENT_LEADER_SESSION_UUID; no worker sees them."""
    env = stub_env(team, tmp_path, monkeypatch)
    env.trust_all(team.root.resolve())
    for name, value in {
        "CLAUDE_CODE_SESSION_ID": "leader-session",
        "TEAM_AGENT_LEADER_SESSION_UUID": "leader-uuid",
        "CLAUDECODE": "1",
        "CODEX_SANDBOX": "seatbelt",
    }.items():
        monkeypatch.setenv(name, value)
    team.write_spec(one_agent("claude"))
    team.converge()

    (start,) = env.records("start", "claude")
    names = set(start["env_names"])
    assert not names & {
        "CLAUDE_CODE_SESSION_ID",
        "TEAM_AGENT_LEADER_SESSION_UUID",
        "CLAUDECODE",
        "CODEX_SANDBOX",
    }
    assert {"TEAM_AGENT_ID", "TEAM_AGENT_TEAM_ID", "HOME"} <= names
    server_env = team.tmux.run("show-environment", "-g", "CLAUDE_CODE_SESSION_ID")
    assert server_env == ["CLAUDE_CODE_SESSION_ID=leader-session"]  # the leak was real

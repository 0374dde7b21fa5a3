"""Session resume end to end: crashes, lost transcripts, tmux server loss, config changes.

The stubs write transcripts where the real CLIs do (under a temporary HOME) and log the
argv of every start, so each test can check that an agent came back *resumed* with the
same session id (`--resume <id>`, `codex resume <id>`, `--resume=<id>`), that a lost
transcript is never resumed, and that a resume never changes the config hash.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from reconciler.api import conditions as C
from reconciler.engine.engine import PassResult
from tests.conftest import TeamWorkspace
from tests.e2e.stubenv import ShiftedClock, StubEnv, read_jsonl, stub_env

pytestmark = pytest.mark.e2e


class ResumeForm(NamedTuple):
    provider: str
    resume: tuple[str, ...]  # the argv prefix of a resume, "{id}" for the session id


RESUME_FORMS = {
    "claude": ResumeForm("claude", ("--resume", "{id}")),
    "codex": ResumeForm("codex", ("resume", "{id}")),
    "gemini": ResumeForm("gemini", ("--resume", "{id}")),
    # `--session-id=<id>` creates a new session and resumes an existing one (measured, 1.0.102).
    "copilot": ResumeForm("copilot", ("--session-id={id}",)),
}


def team_of(*providers: str, extra: str = "") -> str:
    lines = ["version: 1", "team: {name: sess}", "agents:"]
    for provider in providers:
        lines += [f"  - id: {provider}-agent", f"    provider: {provider}"]
        if extra:
            lines += [f"    {extra}"]
    return "\n".join(lines) + "\n"


def resumed(argv: list[str], provider: str, sid: str) -> bool:
    form = [a.replace("{id}", sid) for a in RESUME_FORMS[provider].resume]
    return argv[: len(form)] == form


def any_resume(env: StubEnv, provider: str, sid: str) -> bool:
    return any(resumed(argv, provider, sid) for argv in env.starts(provider))


def ready_again(env: StubEnv, agent: str) -> PassResult:
    return env.passes_until(lambda r: C.is_true(r.status.agents[agent].conditions, C.READY))


def setup(
    team: TeamWorkspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spec: str
) -> StubEnv:
    env = stub_env(team, tmp_path, monkeypatch)
    env.trust_all(team.root.resolve())
    team.write_spec(spec)
    team.converge()
    return env


@pytest.mark.parametrize("provider", ["claude", "codex"])
def test_killed_agent_comes_back_resumed_with_the_same_session(
    team: TeamWorkspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, provider: str
) -> None:
    """SIGKILL a captured agent → restarted with a resume of the same id, which appends to
    the same transcript; the config hash is unchanged and the next pass does nothing."""
    agent = f"{provider}-agent"
    env = setup(team, tmp_path, monkeypatch, team_of(provider))
    first = env.converse(agent, "before the crash")
    assert first.sessionId is not None and first.sessionFile is not None

    team.engine_ = None  # a new reconciler process: only status.json carries the session
    env.kill_agent(agent)
    after = ready_again(env, agent).status.agents[agent]

    assert resumed(env.starts(provider)[-1], provider, first.sessionId)
    assert (after.sessionId, after.sessionFile, after.configHash) == (
        first.sessionId,
        first.sessionFile,
        first.configHash,
    )
    assert after.restartCount == 1
    assert team.agent_panes(agent)[0].config_hash == first.configHash
    env.send(agent, "after the crash")
    text = Path(first.sessionFile).read_text()
    env.passes_until(lambda r: "after the crash" in Path(first.sessionFile or "").read_text())
    assert "before the crash" in text
    assert team.reconcile().plan.empty


def test_lost_transcript_is_reported_once_and_never_resumed(
    team: TeamWorkspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Transcript deleted, agent killed → SessionLost (one event), a fresh session with a
    new id, and no resume of the lost id, on that restart or any later one."""
    env = setup(team, tmp_path, monkeypatch, team_of("claude"))
    lost = env.converse("claude-agent")
    assert lost.sessionId is not None and lost.sessionFile is not None
    Path(lost.sessionFile).unlink()

    clock = ShiftedClock()
    team.engine.clock = clock
    env.kill_agent("claude-agent")
    after = ready_again(env, "claude-agent").status.agents["claude-agent"]
    env.kill_agent("claude-agent")
    clock.offset += 60  # past the crash-loop backoff of a second quick exit
    again = ready_again(env, "claude-agent").status.agents["claude-agent"]

    cond = C.find_condition(again.conditions, C.SESSION_CAPTURED)
    assert cond is not None and (cond.status, cond.reason) == (C.FALSE, C.SESSION_LOST)
    assert len(env.events("SessionLost", "claude-agent")) == 1
    assert not any_resume(env, "claude", lost.sessionId)
    starts = env.starts("claude")
    assert after.sessionId not in (None, lost.sessionId)
    # The new id never got a message: no transcript, so it is simply used again.
    assert starts[-2][:2] == starts[-1][:2] == ["--session-id", after.sessionId]
    assert again.sessionId == after.sessionId

    fresh = env.converse("claude-agent", "a new conversation")
    assert fresh.sessionId == after.sessionId


def test_lost_transcript_with_on_lost_hold_waits_for_a_person(
    team: TeamWorkspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`session.on_lost: hold`: not restarted, Ready=False/SessionLost, one event however
    many passes; restoring the transcript resumes it."""
    spec = team_of("claude", extra="session: {on_lost: hold}")
    env = setup(team, tmp_path, monkeypatch, spec)
    lost = env.converse("claude-agent")
    assert lost.sessionFile is not None
    saved = Path(lost.sessionFile).read_bytes()
    Path(lost.sessionFile).unlink()
    env.kill_agent("claude-agent")

    for _ in range(3):
        held = team.settled()
        assert held.plan.empty, held.plan.render()
    status = held.status.agents["claude-agent"]
    ready = C.find_condition(status.conditions, C.READY)
    assert ready is not None and (ready.status, ready.reason) == (C.FALSE, C.SESSION_LOST)
    assert "on_lost is hold" in ready.message
    assert len(env.events("SessionLost", "claude-agent")) == 1
    assert len(env.starts("claude")) == 1

    Path(lost.sessionFile).write_bytes(saved)
    back = ready_again(env, "claude-agent").status.agents["claude-agent"]
    assert resumed(env.starts("claude")[-1], "claude", str(lost.sessionId))
    assert back.sessionId == lost.sessionId


def test_tmux_kill_server_brings_every_agent_back_resumed(
    team: TeamWorkspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole tmux server is lost: every agent is created again, each resuming its own
    session (ids and transcripts from status.json, read by a new reconciler)."""
    providers = ("claude", "codex", "gemini", "copilot")
    env = setup(team, tmp_path, monkeypatch, team_of(*providers))
    before = {p: env.converse(f"{p}-agent", f"hello {p}") for p in providers}

    team.tmux.kill_server()
    team.engine_ = None
    back = team.converge().status.agents

    for provider in providers:
        sid = before[provider].sessionId
        assert sid is not None
        assert resumed(env.starts(provider)[-1], provider, sid), env.starts(provider)
        assert back[f"{provider}-agent"].sessionId == sid
        assert C.is_true(back[f"{provider}-agent"].conditions, C.SESSION_CAPTURED)


def test_config_change_recreates_resumed_and_hash_ignores_the_resume(
    team: TeamWorkspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A config change recreates the agent with a resume; the pane's hash is the new
    config's (the resume argv is not part of it), so the following pass changes nothing."""
    env = setup(team, tmp_path, monkeypatch, team_of("claude"))
    first = env.converse("claude-agent")
    assert first.sessionId is not None
    team.write_spec(team_of("claude", extra="model: opus"))

    after = team.converge().status.agents["claude-agent"]

    last = env.starts("claude")[-1]
    assert resumed(last, "claude", first.sessionId)
    assert last[2:] == ["--model", "opus"]
    assert after.configHash != first.configHash
    assert team.agent_panes("claude-agent")[0].config_hash == after.configHash
    assert team.reconcile().plan.empty
    lines = read_jsonl(Path(str(first.sessionFile)))
    assert {line.get("sessionId") for line in lines[1:]} == {first.sessionId}

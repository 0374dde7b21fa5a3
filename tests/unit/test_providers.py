"""Provider adapters: the argv each CLI is started with, fresh and resumed, as data.

Pure: `desired_team` resolves a spec in memory (workspace /ws); no CLI is run. The stubs in
`tests/stubs/bin/` and the end-to-end tests check that these argv are the real CLIs' forms.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from controllers.providers.base import SessionSupport
from controllers.providers.codex import session_tag
from controllers.providers.registry import PROVIDERS
from controllers.team.desired import DesiredAgent
from reconciler.api.launch import ENV_AGENT_ID
from tests.unit.builders import desired

SID = "11111111-2222-4333-8444-555555555555"


def resolve(**fields: Any) -> DesiredAgent:
    team = desired({"id": "impl", **fields})
    found = team.agent("impl")
    assert found is not None
    return found


def sessions(agent: DesiredAgent) -> SessionSupport:
    assert agent.profile.sessions is not None
    return agent.profile.sessions


class ArgvCase(NamedTuple):
    test_id: str
    spec: dict[str, Any]
    fresh: list[str]  # the launch configuration's argv (hashed)
    new: list[str]  # a fresh start's argv with session SID pre-assigned (codex: none)
    resume: list[str]  # the argv that resumes SID


DEV = session_tag("demo", "/ws", "impl")
CODEX_DEV = "developer_instructions=" + json.dumps(
    f"You are agent impl of team demo. Session tag: {DEV}"
)

ARGV_CASES = [
    ArgvCase(
        "claude-minimal",
        {"provider": "claude"},
        ["claude"],
        ["claude", "--session-id", SID],
        ["claude", "--resume", SID],
    ),
    ArgvCase(
        "claude-full",
        {
            "provider": "claude",
            "model": "opus",
            "permission_mode": "acceptEdits",
            "system_prompt": "Be terse.",
            "args": ["--mcp-config", "a.json", "b.json"],
            "initial_prompt": "start",
        },
        ["claude", "start", "--model", "opus", "--permission-mode", "acceptEdits",
         "--append-system-prompt", "Be terse.", "--mcp-config", "a.json", "b.json"],
        ["claude", "--session-id", SID, "start", "--model", "opus", "--permission-mode",
         "acceptEdits", "--append-system-prompt", "Be terse.", "--mcp-config", "a.json",
         "b.json"],
        ["claude", "--resume", SID, "--model", "opus", "--permission-mode", "acceptEdits",
         "--append-system-prompt", "Be terse.", "--mcp-config", "a.json", "b.json"],
    ),
    ArgvCase(
        "claude-skip-permissions-and-command",
        {"provider": "claude", "command": ["npx", "claude"],
         "permission_mode": "dangerously-skip-permissions",
         "env": {"IS_SANDBOX": "1"}},  # Claude refuses it as root without (CI runs as root)
        ["npx", "claude", "--dangerously-skip-permissions"],
        ["npx", "claude", "--session-id", SID, "--dangerously-skip-permissions"],
        ["npx", "claude", "--resume", SID, "--dangerously-skip-permissions"],
    ),
    ArgvCase(
        "codex",
        {"provider": "codex", "model": "gpt-5", "permission_mode": "never",
         "initial_prompt": "go"},
        ["codex", "--no-daemon", "--model", "gpt-5", "--ask-for-approval", "never", "-c",
         CODEX_DEV, "go"],
        ["codex", "--no-daemon", "--model", "gpt-5", "--ask-for-approval", "never", "-c",
         CODEX_DEV, "go"],
        ["codex", "resume", SID, "--no-daemon", "--model", "gpt-5", "--ask-for-approval",
         "never", "-c", CODEX_DEV],
    ),
    ArgvCase(
        "gemini",
        {"provider": "gemini", "model": "gemini-2.5-pro", "permission_mode": "auto_edit",
         "initial_prompt": "go"},
        ["gemini", "--model", "gemini-2.5-pro", "--approval-mode", "auto_edit",
         "--prompt-interactive", "go"],
        ["gemini", "--session-id", SID, "--model", "gemini-2.5-pro", "--approval-mode",
         "auto_edit", "--prompt-interactive", "go"],
        ["gemini", "--resume", SID, "--model", "gemini-2.5-pro", "--approval-mode",
         "auto_edit"],
    ),
    ArgvCase(
        "copilot",
        {"provider": "copilot", "model": "gpt-5", "permission_mode": "allow-all-tools",
         "initial_prompt": "go"},
        ["copilot", "--model", "gpt-5", "--allow-all-tools", "--interactive", "go"],
        ["copilot", f"--session-id={SID}", "--model", "gpt-5", "--allow-all-tools",
         "--interactive", "go"],
        ["copilot", f"--session-id={SID}", "--model", "gpt-5", "--allow-all-tools"],
    ),
]  # fmt: skip


@pytest.mark.parametrize("case", ARGV_CASES, ids=[c.test_id for c in ARGV_CASES])
def test_fresh_new_and_resume_argv(case: ArgvCase) -> None:
    agent = resolve(**case.spec)
    assert agent.launch is not None
    support = sessions(agent)
    new_id = SID if support.attribution == "preassigned" else None

    assert list(agent.launch.argv) == case.fresh
    assert list(support.fresh_argv(agent.launch.argv, new_id)) == case.new
    assert list(support.resume_argv(SID)) == case.resume


def test_session_arguments_never_change_the_config_hash() -> None:
    """The hash is the launch configuration's; session argv live beside it in actions."""
    agent = resolve(provider="claude", initial_prompt="hi")
    other = resolve(provider="claude", initial_prompt="hi")
    assert agent.launch is not None and other.launch is not None
    support = sessions(agent)

    support.fresh_argv(agent.launch.argv, SID)
    support.resume_argv(SID)

    assert agent.config_hash == other.config_hash
    assert "--session-id" not in agent.launch.argv


def test_codex_agents_carry_different_tags() -> None:
    team = desired({"id": "left", "provider": "codex"}, {"id": "right", "provider": "codex"})
    tags = {d.id: sessions(d).tag for d in team.agents}
    assert tags == {
        "left": session_tag("demo", "/ws", "left"),
        "right": session_tag("demo", "/ws", "right"),
    }
    assert tags["left"] != tags["right"]


def test_codex_system_prompt_goes_into_developer_instructions_with_the_tag() -> None:
    agent = resolve(provider="codex", system_prompt='Say "hi"\nthen stop.')
    assert agent.launch is not None
    value = agent.launch.argv[agent.launch.argv.index("-c") + 1]
    key, _, toml = value.partition("=")
    text = json.loads(toml)
    assert key == "developer_instructions"
    assert text.startswith('Say "hi"\nthen stop.\n\n')
    assert text.endswith(session_tag("demo", "/ws", "impl"))


def test_system_prompt_file_is_read_for_claude(tmp_path: Path) -> None:
    prompt = tmp_path / "prompt.md"
    prompt.write_text("from a file")
    agent = resolve(provider="claude", system_prompt_file=str(prompt))
    assert agent.launch is not None
    assert agent.launch.argv[-2:] == ("--append-system-prompt", "from a file")


def test_gemini_system_prompt_file_becomes_gemini_system_md() -> None:
    agent = resolve(provider="gemini", system_prompt_file="prompts/impl.md")
    assert agent.launch is not None
    assert agent.launch.env["GEMINI_SYSTEM_MD"] == "/ws/prompts/impl.md"
    assert agent.launch.env[ENV_AGENT_ID] == "impl"


class InvalidCase(NamedTuple):
    test_id: str
    spec: dict[str, Any]
    message: str


INVALID_CASES = [
    InvalidCase("gemini-inline-prompt", {"provider": "gemini", "system_prompt": "x"}, "GEMINI.md"),
    InvalidCase("copilot-prompt", {"provider": "copilot", "system_prompt": "x"}, "AGENTS.md"),
    InvalidCase(
        "missing-prompt-file",
        {"provider": "claude", "system_prompt_file": "/nonexistent/p.md"},
        "cannot read system_prompt_file",
    ),
]


@pytest.mark.parametrize("case", INVALID_CASES, ids=[c.test_id for c in INVALID_CASES])
def test_what_a_cli_cannot_do_is_an_invalid_launch(case: InvalidCase) -> None:
    agent = resolve(**case.spec)
    assert agent.launch is None and agent.invalid
    assert case.message in str(agent.unsupported)


def test_every_spec_provider_has_an_adapter_and_local_ones_have_no_sessions() -> None:
    assert set(PROVIDERS) == {"claude", "codex", "gemini", "copilot", "opencode", "shell", "fake"}
    opencode = resolve(provider="opencode", initial_prompt="go")
    assert opencode.launch is not None
    assert list(opencode.launch.argv) == ["opencode", "--prompt", "go"]
    # Pre-assigned through `opencode import` (tests/unit/test_provider_opencode.py).
    assert sessions(opencode).attribution == "preassigned"
    for name in ("shell", "fake"):
        local = resolve(provider=name, command=["sleep", "1"])
        assert local.profile.sessions is None and local.profile.sessions_unsupported is None

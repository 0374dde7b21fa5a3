"""Worker environment hygiene: what the agents' CLIs set for their own children is scrubbed.

A team-agent started from inside a leader's Claude, Codex, Gemini, Copilot or OpenCode
session inherits that session's variables; the tmux server it starts passes them to every
pane. `reconciler.launcher.exec_agent.scrub` removes them right before the agent is exec'd, and
keeps the person's configuration. (End to end: tests/e2e/test_providers.py.)
"""

from __future__ import annotations

import pytest

from reconciler.launcher.exec_agent import prepare_env

LEAKS = {
    "TEAM_AGENT_LEADER_SESSION_UUID": "leader",
    "CLAUDE_CODE_SESSION_ID": "s",
    "CLAUDE_CODE_ENTRYPOINT": "cli",
    "CLAUDECODE": "1",
    "CLAUDE_PROJECT_DIR": "/leader",
    "CLAUDE_ENV_FILE": "/tmp/env",
    "CODEX_SESSION_ID": "c",
    "CODEX_THREAD_ID": "t",
    "CODEX_SANDBOX": "seatbelt",
    "CODEX_SANDBOX_NETWORK_DISABLED": "1",
    "GEMINI_CLI": "1",
    "COPILOT_CLI": "1",
    "OPENCODE": "1",
    "OPENCODE_SESSION_ID": "o",
}
KEPT = {
    "HOME": "/home/me",
    "CLAUDE_CONFIG_DIR": "/home/me/.claude-work",
    "CODEX_HOME": "/home/me/.codex",
    "COPILOT_HOME": "/home/me/.copilot",
    "GEMINI_API_KEY": "secret",
    "ANTHROPIC_API_KEY": "secret",
}


@pytest.mark.parametrize("name", sorted(LEAKS))
def test_leaked_session_variable_is_scrubbed(name: str) -> None:
    env = prepare_env({**KEPT, name: LEAKS[name]}, {"TEAM_AGENT_ID": "impl"})
    assert env == {**KEPT, "TEAM_AGENT_ID": "impl"}


def test_spec_env_wins_over_the_scrub() -> None:
    """A variable the spec sets on purpose reaches the agent even if it looks like a leak."""
    env = prepare_env(LEAKS, {"CLAUDE_CODE_USE_BEDROCK": "1"})
    assert env == {"CLAUDE_CODE_USE_BEDROCK": "1"}

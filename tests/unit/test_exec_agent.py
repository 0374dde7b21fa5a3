"""The pane's first program: scrub the leader's identity, then exec the agent's argv.

`prepare_env` is tested as a function; `main` as the separate process tmux starts, because
what matters is what the exec'd program sees (its environment, its folder) and that the
launch file, which may hold secrets, is gone by then.
"""

from __future__ import annotations

from typing import NamedTuple

import pytest

from reconciler.launcher.exec_agent import prepare_env, scrub

INHERITED = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/home/me",
    "LANG": "C.UTF-8",
    "TEAM_AGENT_LEADER_SESSION_UUID": "0d1c5f4e-leader",
    "TEAM_AGENT_LEADER_PANE": "%0",
    "TEAM_AGENT_TMUX_SOCKET": "work",
    "TEAM_AGENT_ID": "leader",
    "CLAUDE_CODE_SESSION_ID": "sess-123",
    "CLAUDE_CODE_ENTRYPOINT": "cli",
    "CLAUDECODE": "1",
    "CODEX_SESSION_ID": "codex-1",
    "CODEX_THREAD_ID": "thread-1",
}
WANTED = {
    "TEAM_AGENT_ID": "impl",
    "TEAM_AGENT_TEAM_ID": "demo",
    "TEAM_AGENT_WORKSPACE": "/ws",
    "TEAM_AGENT_CONFIG_HASH": "sha256:abc",
    "LOG_LEVEL": "debug",
}


def test_prepare_env_scrubs_the_leader_and_sets_the_wanted_vars() -> None:
    env = prepare_env(INHERITED, WANTED)

    assert env == {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": "/home/me",
        "LANG": "C.UTF-8",
        **WANTED,
    }


def test_prepare_env_does_not_modify_its_input() -> None:
    inherited = dict(INHERITED)

    prepare_env(inherited, WANTED)

    assert inherited == INHERITED


class ScrubCase(NamedTuple):
    test_id: str
    name: str
    scrubbed: bool


SCRUB_CASES = [
    ScrubCase("leader-uuid", "TEAM_AGENT_LEADER_SESSION_UUID", True),
    ScrubCase("any-team-agent-var", "TEAM_AGENT_ANYTHING", True),
    ScrubCase("claude-session", "CLAUDE_CODE_SESSION_ID", True),
    ScrubCase("claudecode", "CLAUDECODE", True),
    ScrubCase("codex-session", "CODEX_SESSION_ID", True),
    ScrubCase("path", "PATH", False),
    ScrubCase("home", "HOME", False),
    ScrubCase("provider-api-key", "ANTHROPIC_API_KEY", False),
    ScrubCase("prefix-must-start-the-name", "MY_TEAM_AGENT_ID", False),
    ScrubCase("claudecode-lookalike", "CLAUDECODE_HOME", False),
    ScrubCase("ci", "CI", True),
    ScrubCase("continuous-integration", "CONTINUOUS_INTEGRATION", True),
    ScrubCase("ci-prefixed", "CI_JOB_TOKEN", True),
    ScrubCase("ci-lookalike", "CIRCLE_TOKEN", False),
    ScrubCase("columns", "COLUMNS", True),
    ScrubCase("lines", "LINES", True),
]


def test_the_spec_can_still_give_an_agent_ci() -> None:
    env = prepare_env({"CI": "true", "CI_JOB_ID": "7"}, {"CI": "1"})

    assert env == {"CI": "1"}


@pytest.mark.parametrize("case", SCRUB_CASES, ids=[c.test_id for c in SCRUB_CASES])
def test_scrub(case: ScrubCase) -> None:
    env = {case.name: "x", "KEEP": "y"}

    scrub(env)

    assert (case.name in env) is not case.scrubbed
    assert env["KEEP"] == "y"


# --- main(), as the process tmux starts -------------------------------------------------

"""Config hashes are part of the upgrade contract: a new team-agent recreates no agent.

An agent whose launch configuration hash changes is recreated (its pane killed, its CLI
restarted). A refactor that moves modules or renames fields must therefore leave every
hash of an unchanged spec as it was. These hashes were recorded from team-agent before
the package layout of issue 15 and must never change without a migration note.

One did change then, on purpose: the `fake` provider's argv names the module of our
stand-in agent, which moved out of `controllers/` (it is not a controller). A fake agent
holds no conversation, so it restarts once on that upgrade; every real CLI's hash (and
`shell`'s) is as it was.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.builders import desired, hash_of

AGENTS: dict[str, dict[str, Any]] = {
    "sh": {"provider": "shell", "command": ["bash", "-lc", "sleep 1000"], "env": {"K": "v"}},
    "claude": {
        "provider": "claude",
        "model": "opus",
        "permission_mode": "acceptEdits",
        "system_prompt": "Be terse.",
        "args": ["--mcp-config", "a.json"],
        "initial_prompt": "start",
    },
    "codex": {"provider": "codex", "model": "gpt-5", "permission_mode": "trusted"},
    "gemini": {"provider": "gemini", "permission_mode": "restricted", "working_directory": "sub"},
    "copilot": {"provider": "copilot", "env": {"GH_TOKEN": "x"}},
    "opencode": {"provider": "opencode", "model": "mock/m"},
    "fake": {"provider": "fake", "args": ["--reply", "ok"]},
    "restarted": {"provider": "claude", "restarted_at": "2026-12-01T10:00:00Z"},
}

RECORDED: dict[str, str] = {
    "claude": "sha256:e1ff81c2da9edc193e36f9c1c02a33ab",
    "codex": "sha256:f88ae5a2d8f8058c3faee2484552810a",
    "copilot": "sha256:9b2e9a3d7c6d838e6cffd514be1d4b05",
    "fake": "sha256:8705fe6268175cb98991a64b23547e3f",  # was 923e0185…: its module moved,
    "gemini": "sha256:98fcb3c8f5fa3b3e92b59ef65f762227",
    "opencode": "sha256:76a18cdf0766bc579028d517e1b3bdb0",
    "restarted": "sha256:7f9da2c14f48c53507387791767afbac",
    "sh": "sha256:65863bf8ffb06f33ee57ef7e97a0957f",
}


@pytest.mark.parametrize("agent_id", sorted(AGENTS))
def test_config_hash_of_an_unchanged_spec_never_changes(agent_id: str) -> None:
    team = desired(*({"id": k, **v} for k, v in AGENTS.items()))
    assert hash_of(team, agent_id) == RECORDED[agent_id]

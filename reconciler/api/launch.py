"""An agent's launch configuration: the data that providers produce and actions carry.

It lives in the engine (not with the providers) because actions, plans and the executor
all carry it, and the engine must not depend on any one provider.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

# Variables the reconciler sets on every agent process (DESIGN.md, "Env given to every agent").
ENV_AGENT_ID = "TEAM_AGENT_ID"
ENV_TEAM_ID = "TEAM_AGENT_TEAM_ID"
ENV_WORKSPACE = "TEAM_AGENT_WORKSPACE"
ENV_CONFIG_HASH = "TEAM_AGENT_CONFIG_HASH"
# Set by `reconciler.launcher.exec_agent` to its own pid just before it execs the agent: the pid of
# the pane's first process, which tmux made the leader of a new session and process group.
# Descendants inherit it with another pid of their own, so `env[ENV_PANE_PID] == pid` holds
# only for that first process (the orphans controller's proof that we created its group).
ENV_PANE_PID = "TEAM_AGENT_PANE_PID"


@dataclass(frozen=True)
class LaunchContext:
    """What a provider needs to know besides the agent: where and for whom it runs."""

    team_id: str
    workspace: Path
    python: str  # the interpreter that runs team-agent, for python-based agents (fake)


@dataclass(frozen=True)
class LaunchConfig:
    """An agent's effective launch configuration; its hash is the recreate trigger."""

    provider: str
    argv: tuple[str, ...]
    cwd: str
    env: Mapping[str, str] = field(default_factory=dict)
    readiness_pattern: str | None = None
    # The spec's `restarted_at` (`team-agent restart`): launches nothing, but a new value
    # is a new configuration, so the agent is recreated exactly once per request.
    restart_token: str | None = None

    def config_hash(self) -> str:
        """sha256 over everything that, changed, must recreate the agent.

        Env values are part of it (a changed API key must restart the agent) but only as
        input to the digest: the hash reveals nothing about them. The restart token joins
        the digest only when there is one, so an agent never restarted keeps the hash it
        had before restart requests existed (upgrading team-agent recreates nobody).
        """
        fields: dict[str, object] = {
            "provider": self.provider,
            "argv": list(self.argv),
            "cwd": self.cwd,
            "env": dict(sorted(self.env.items())),
            "readiness": self.readiness_pattern,
        }
        if self.restart_token is not None:
            fields["restart"] = self.restart_token
        payload = json.dumps(
            fields,
            sort_keys=True,
            separators=(",", ":"),
        )
        return "sha256:" + hashlib.sha256(payload.encode()).hexdigest()[:32]

    @property
    def executable(self) -> str:
        return self.argv[0]

"""How `team-agent leader <provider> [-- args]` runs the leader: argv and environment.

The leader is the person's own conversation, so it is started by the person (in their
pane), never by a pass; this module only says what to exec. The environment is the
caller's, minus what would make the leader look like a worker, plus the leader identity
every team-agent command and the leader controller read back:

    TEAM_AGENT_LEADER_SESSION_UUID, TEAM_AGENT_LEADER_PROVIDER,
    TEAM_AGENT_MACHINE_FINGERPRINT, TEAM_AGENT_WORKSPACE, TEAM_AGENT_TEAM_ID

The fingerprint is passed on so that commands the leader runs (`claim-leader` from its
shell tool, say) derive the same UUID. When the spec's `leader:` names the same provider,
its `command`, `args`, `model` and `env` apply too (env values never leave this process's
exec call). Pure: the caller's environment and the identity are inputs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from controllers.leader.identity import (
    ENV_LEADER_PROVIDER,
    ENV_LEADER_UUID,
    ENV_MACHINE_FINGERPRINT,
    Identity,
)
from reconciler.api.errors import TeamAgentError
from reconciler.api.launch import ENV_AGENT_ID, ENV_CONFIG_HASH, ENV_TEAM_ID, ENV_WORKSPACE
from reconciler.api.spec import Leader
from reconciler.launcher.interpreter import module_argv

LEADER_PROVIDERS: Final = ("claude", "codex", "gemini", "copilot", "opencode", "shell", "fake")
# The real CLIs all take `--model NAME`.
_MODEL_FLAG_PROVIDERS: Final = frozenset({"claude", "codex", "gemini", "copilot", "opencode"})
# Set on workers only; a leader carrying them would be taken for an agent.
WORKER_ONLY_ENV: Final = (ENV_AGENT_ID, ENV_CONFIG_HASH, "TEAM_AGENT_AGENT_ID")


class LeaderUsageError(TeamAgentError):
    """The command line cannot start a leader (e.g. `shell` without a command)."""


@dataclass(frozen=True)
class LeaderLaunch:
    """What to exec in the leader's pane."""

    argv: tuple[str, ...]
    env: Mapping[str, str]

    @property
    def program(self) -> str:
        """The name of what runs (for WrongCommand checks and messages)."""
        return os.path.basename(self.argv[0])


def leader_launch(
    provider: str,
    args: Sequence[str],
    *,
    spec_leader: Leader | None,
    identity: Identity,
    inherited: Mapping[str, str],
    python: str,
) -> LeaderLaunch:
    """The leader's argv and environment (see the module docstring)."""
    if provider not in LEADER_PROVIDERS:
        raise LeaderUsageError(f"unknown provider {provider!r}")
    spec = spec_leader if spec_leader is not None and spec_leader.provider == provider else None
    argv: list[str]
    if spec is not None and spec.command:
        argv = list(spec.command)
    elif provider == "fake":
        argv = module_argv(python, "reconciler.fakeagent.agent")  # not `-m`: see interpreter.py
    elif provider == "shell":
        argv = []
    else:
        argv = [provider]
    if spec is not None:
        argv += spec.args
        if spec.model and provider in _MODEL_FLAG_PROVIDERS:
            argv += ["--model", spec.model]
    argv += args
    if not argv:
        raise LeaderUsageError("provider shell needs a command: team-agent leader shell -- CMD")

    env = {k: v for k, v in inherited.items() if k not in WORKER_ONLY_ENV}
    if spec is not None:
        env.update(spec.env)
    env.update(
        {
            ENV_LEADER_UUID: identity.uuid,
            ENV_LEADER_PROVIDER: provider,
            ENV_MACHINE_FINGERPRINT: identity.inputs.machine_fingerprint,
            ENV_WORKSPACE: identity.inputs.workspace,
            ENV_TEAM_ID: identity.inputs.team_id,
        }
    )
    return LeaderLaunch(argv=tuple(argv), env=env)

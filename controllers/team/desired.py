"""The desired state of a team, resolved from the spec into what controllers compare.

Resolving once (team id, workspace, session name, each agent's launch configuration and
its hash) keeps the controllers' plans free of spec interpretation and of I/O.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from controllers.providers.base import ProviderProfile
from controllers.providers.registry import provider_for
from reconciler.api.ids import AgentId
from reconciler.api.launch import LaunchConfig, LaunchContext
from reconciler.api.spec import Agent, Spec, restart_token


@dataclass(frozen=True)
class DesiredAgent:
    """One declared agent and how it must be launched (None when it cannot be)."""

    agent: Agent
    launch: LaunchConfig | None
    unsupported: str | None = None  # why there is no launch configuration
    profile: ProviderProfile = field(default_factory=ProviderProfile)  # its dialogs, sessions
    invalid: bool = False  # the spec asks the CLI for something it cannot do (not a missing CLI)

    @property
    def id(self) -> AgentId:
        return AgentId(self.agent.id)

    @property
    def config_hash(self) -> str | None:
        return self.launch.config_hash() if self.launch is not None else None


@dataclass(frozen=True)
class DesiredTeam:
    """The team as the spec wants it."""

    team_id: str
    workspace: Path
    session: str
    agents: tuple[DesiredAgent, ...]
    stop_grace_sec: float

    @property
    def workspace_marker(self) -> str:
        return str(self.workspace)

    def agent(self, agent_id: str) -> DesiredAgent | None:
        return next((a for a in self.agents if a.agent.id == agent_id), None)


def desired_team(spec: Spec, workspace: Path, *, python: str) -> DesiredTeam:
    """Resolve every agent's launch configuration; agents sorted by id for stable plans."""
    ctx = LaunchContext(team_id=spec.team_id, workspace=workspace, python=python)
    resolved: list[DesiredAgent] = []
    for agent in sorted(spec.agents, key=lambda a: a.id):
        provider = provider_for(agent.provider)
        if provider is None:
            resolved.append(
                DesiredAgent(
                    agent=agent,
                    launch=None,
                    unsupported=f"provider {agent.provider!r} is not supported yet",
                )
            )
            continue
        try:
            launch = with_restart_request(provider.launch(agent, ctx), agent)
            profile = provider.profile(agent, ctx, launch)
        except ValueError as err:
            resolved.append(
                DesiredAgent(agent=agent, launch=None, unsupported=str(err), invalid=True)
            )
            continue
        resolved.append(DesiredAgent(agent=agent, launch=launch, profile=profile))
    return DesiredTeam(
        team_id=spec.team_id,
        workspace=workspace,
        session=spec.session_name,
        agents=tuple(resolved),
        stop_grace_sec=spec.runtime.stop_grace_sec,
    )


def with_restart_request(launch: LaunchConfig, agent: Agent) -> LaunchConfig:
    """Fold the agent's restart request into its launch configuration, here rather than in
    each provider adapter: it is the same for every CLI, and its only effect is the hash."""
    if agent.restarted_at is None:
        return launch
    return replace(launch, restart_token=restart_token(agent.restarted_at))


def installed_executables(launches: Iterable[LaunchConfig | None]) -> Mapping[str, bool]:
    """Which agent executables can be found (PATH lookup), observed before planning.

    One lookup per distinct executable: a team of many agents usually runs a few CLIs.
    """
    executables = {launch.executable for launch in launches if launch is not None}
    return {executable: shutil.which(executable) is not None for executable in executables}

"""Actions: what a pass will do, as plain data.

Controllers return actions; the executor (`reconciler.apply`) carries them out and knows
nothing about why. Each action names its `resource` (`agent/impl`) and its `cause` ("missing",
"config changed", ...), renders to one line for `team-agent plan`, and carries everything
the executor needs so that the executor makes no decision of its own (the docker compose
`plan.go` / `executor.go` split).

Process identity travels with every action that may signal: the pid *and* its create time,
re-checked right before the signal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from reconciler.ids import AgentId, PaneId, WindowId
from reconciler.launch import LaunchConfig


@dataclass(frozen=True)
class ProcessRef:
    """A process as observed: pid plus create time, so a recycled pid is never signalled."""

    pid: int
    create_time: float


@dataclass(frozen=True)
class CreateAgent:
    """Start an agent in a new window (and the team's session when it does not exist)."""

    agent: AgentId
    session: str
    launch: LaunchConfig
    config_hash: str
    new_session: bool
    cause: str = "missing"

    @property
    def resource(self) -> str:
        return f"agent/{self.agent}"

    def render(self) -> str:
        where = f"new session {self.session}" if self.new_session else f"session {self.session}"
        return f"create  {self.resource} in {where} ({self.cause})"


@dataclass(frozen=True)
class RestartAgent:
    """Start an exited agent again in its own (dead) pane, keeping pane and window ids."""

    agent: AgentId
    pane: PaneId
    launch: LaunchConfig
    config_hash: str
    cause: str

    @property
    def resource(self) -> str:
        return f"agent/{self.agent}"

    def render(self) -> str:
        return f"restart {self.resource} pane {self.pane} ({self.cause})"


@dataclass(frozen=True)
class RecreateAgent:
    """Stop a running agent whose configuration changed and start the new one in its pane."""

    agent: AgentId
    pane: PaneId
    process: ProcessRef | None
    launch: LaunchConfig
    config_hash: str
    grace_sec: float
    cause: str = "config changed"

    @property
    def resource(self) -> str:
        return f"agent/{self.agent}"

    def render(self) -> str:
        return f"recreate {self.resource} pane {self.pane} ({self.cause})"


@dataclass(frozen=True)
class StopAgent:
    """Stop an agent and remove its pane (its window too when it holds nothing else)."""

    agent: AgentId
    pane: PaneId
    window: WindowId
    process: ProcessRef | None
    kill_window: bool
    grace_sec: float
    cause: str

    @property
    def resource(self) -> str:
        return f"agent/{self.agent}"

    def render(self) -> str:
        what = f"window {self.window}" if self.kill_window else f"pane {self.pane}"
        return f"stop    {self.resource} {what} ({self.cause})"


@dataclass(frozen=True)
class NudgeServer:
    """Send SIGCHLD to the tmux server so it collects an agent that exited.

    tmux built with libutempter can miss the SIGCHLD of a pane's process that exits while
    utempter's own handler is installed (tmux/tmux#311, #4559): the agent stays a zombie,
    the pane shows dead with no exit status, and nothing reaps it. SIGCHLD is the remedy
    tmux's author gives; it only makes the server call waitpid. The server is identified
    by pid and create time like any process we signal.
    """

    agent: AgentId
    pane: PaneId
    server: ProcessRef
    cause: str = "exit not collected by tmux"

    @property
    def resource(self) -> str:
        return f"agent/{self.agent}"

    def render(self) -> str:
        return f"nudge   tmux server {self.server.pid} for {self.resource} ({self.cause})"


Action = CreateAgent | RestartAgent | RecreateAgent | StopAgent | NudgeServer


@dataclass(frozen=True)
class Plan:
    """The actions of one pass, in the order they will be applied, and when to look again."""

    actions: tuple[Action, ...] = ()
    requeue_after: float | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not self.actions

    def render(self) -> str:
        """What `team-agent plan` prints: one line per action, or a line saying nothing."""
        if not self.actions:
            return "no changes: the world matches the spec"
        return "\n".join(action.render() for action in self.actions)


def merge_plans(plans: Sequence[Plan]) -> Plan:
    """Concatenate plans; the earliest requeue wins."""
    requeues = [p.requeue_after for p in plans if p.requeue_after is not None]
    return Plan(
        actions=tuple(a for p in plans for a in p.actions),
        requeue_after=min(requeues) if requeues else None,
        notes=tuple(n for p in plans for n in p.notes),
    )

"""The agents controller's actions: start, restart, recreate, stop, release, rename, nudge, answer.

Plain data (docker compose's plan/executor split): each names its resource and cause,
renders to one line for `team-agent plan`, and carries everything its handler
(`controllers.agents.handlers`) needs, so the handler decides nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from reconciler.api.actions import ProcessRef
from reconciler.api.ids import AgentId, PaneId, WindowId
from reconciler.api.launch import LaunchConfig


@dataclass(frozen=True)
class SessionStart:
    """The provider-session part of a start, decided by the sessions planner.

    `argv` replaces the launch configuration's argv at launch time (a fresh start with a
    pre-assigned `--session-id`, or a resume), so the configuration hash, which is
    computed from the launch configuration alone, never depends on it.

    `prepare` is a command the pane runs (same env and folder) right before the agent, for
    a CLI that takes no id on its command line but can be given one beforehand (OpenCode:
    `opencode import <file>` creates the session `-s <id>` then opens). `prepare_file` is
    written to a private temporary file whose path replaces `{file}` in `prepare`.
    """

    mode: Literal["new", "resume"]
    session_id: str | None
    argv: tuple[str, ...]
    prepare: tuple[str, ...] = ()
    prepare_file: str = ""

    def render(self) -> str:
        if self.mode == "resume":
            return f" [resume session {self.session_id}]"
        return f" [new session {self.session_id}]" if self.session_id else " [new session]"


def _session_note(start: SessionStart | None) -> str:
    return start.render() if start is not None else ""


class AgentResource:
    """Mixin of the actions on one agent: their resource name is `agent/<id>`."""

    agent: AgentId

    @property
    def resource(self) -> str:
        return f"agent/{self.agent}"


@dataclass(frozen=True)
class CreateAgent(AgentResource):
    """Start an agent in a new window (and the team's session when it does not exist)."""

    verb: ClassVar[str] = "Created"

    agent: AgentId
    session: str
    launch: LaunchConfig
    config_hash: str
    new_session: bool
    cause: str = "missing"
    provider_session: SessionStart | None = None
    requires: tuple[str, ...] = ()

    def render(self) -> str:
        where = f"new session {self.session}" if self.new_session else f"session {self.session}"
        note = _session_note(self.provider_session)
        return f"create  {self.resource} in {where} ({self.cause}){note}"


@dataclass(frozen=True)
class RestartAgent(AgentResource):
    """Start an exited agent again in its own (dead) pane, keeping pane and window ids."""

    verb: ClassVar[str] = "Restarted"

    agent: AgentId
    pane: PaneId
    launch: LaunchConfig
    config_hash: str
    cause: str
    provider_session: SessionStart | None = None
    requires: tuple[str, ...] = ()

    def render(self) -> str:
        note = _session_note(self.provider_session)
        return f"restart {self.resource} pane {self.pane} ({self.cause}){note}"


@dataclass(frozen=True)
class RecreateAgent(AgentResource):
    """Stop a running agent whose configuration changed and start the new one in its pane."""

    verb: ClassVar[str] = "Recreated"

    agent: AgentId
    pane: PaneId
    process: ProcessRef | None
    launch: LaunchConfig
    config_hash: str
    grace_sec: float
    cause: str = "config changed"
    provider_session: SessionStart | None = None
    requires: tuple[str, ...] = ()

    def render(self) -> str:
        note = _session_note(self.provider_session)
        return f"recreate {self.resource} pane {self.pane} ({self.cause}){note}"


@dataclass(frozen=True)
class StopAgent(AgentResource):
    """Stop an agent and remove its pane (its window too when it holds nothing else).

    `team` is the team id the pane must still carry when it is not this team's: an agent
    of this workspace's team before a rename changed its id (`former_panes`).
    """

    verb: ClassVar[str] = "Stopped"

    agent: AgentId
    pane: PaneId
    window: WindowId
    process: ProcessRef | None
    kill_window: bool
    grace_sec: float
    cause: str
    team: str | None = None  # None: this team's id
    requires: tuple[str, ...] = ()

    def render(self) -> str:
        what = f"window {self.window}" if self.kill_window else f"pane {self.pane}"
        return f"stop    {self.resource} {what} ({self.cause})"


@dataclass(frozen=True)
class ReleasePane(AgentResource):
    """Give up a pane a person respawned with their own command: remove our markers.

    Nothing is signalled and nothing is killed: `process`, the person's process as
    observed, is carried only so the executor can check, right before unmarking, that the
    pane still runs it.
    `window` is set when the window was made for this agent (`@team_agent_window`): its
    marker, our `pane-died` hook and `remain-on-exit` go too, so the person's window
    behaves as any of theirs. Unmarked, the pane is no team's: no pass, `down` or orphan
    reaping ever looks at it again.
    """

    verb: ClassVar[str] = "Released"

    agent: AgentId
    pane: PaneId
    window: WindowId | None
    process: ProcessRef | None
    cause: str
    requires: tuple[str, ...] = ()

    def render(self) -> str:
        return f"release {self.resource} pane {self.pane} ({self.cause})"


@dataclass(frozen=True)
class RenameSession:
    """Give the team's tmux session its new name; every agent in it keeps running.

    Planned when the team's session name changed (`team.name` with `team.id` kept, or
    `runtime.session_name`) and the team's agents all live in one session of this
    workspace while none has the new name. Right before renaming, the executor re-reads
    the session (by id, `$N`) and refuses unless the server, its name and its
    `@team_agent_session_workspace` marker are still the ones planned for.
    """

    verb: ClassVar[str] = "RenamedSession"

    session: str  # the session id ($N)
    old: str
    new: str
    workspace: str  # the session workspace marker it must carry
    server_pid: int | None
    cause: str = "the team's session name changed"
    requires: tuple[str, ...] = ()

    @property
    def resource(self) -> str:
        return f"session/{self.old}"

    def render(self) -> str:
        return f"rename  {self.resource} to {self.new} ({self.cause})"


@dataclass(frozen=True)
class NudgeServer(AgentResource):
    """Send SIGCHLD to the tmux server so it collects an agent that exited.

    tmux built with libutempter can miss the SIGCHLD of a pane's process that exits while
    utempter's own handler is installed (tmux/tmux#311, #4559): the agent stays a zombie,
    the pane shows dead with no exit status, and nothing reaps it. SIGCHLD is the remedy
    tmux's author gives; it only makes the server call waitpid. The server is identified
    by pid and create time like any process we signal.
    """

    verb: ClassVar[str] = "NudgedServer"

    agent: AgentId
    pane: PaneId
    server: ProcessRef
    cause: str = "exit not collected by tmux"
    requires: tuple[str, ...] = ()

    def render(self) -> str:
        return f"nudge   tmux server {self.server.pid} for {self.resource} ({self.cause})"


@dataclass(frozen=True)
class SendKeys(AgentResource):
    """Answer a first-run dialog in an agent's pane: the one thing team-agent ever types.

    Only the folder-trust dialog is ever answered (`controllers.sessions.dialogs` decides when).
    Right before sending, the executor re-checks the pane's markers, that its process is
    still `process` (pid and create time), and that the pane still shows `expect` and
    `shows` (the folder path the dialog asks about); anything else and nothing is typed.
    """

    verb: ClassVar[str] = "AnsweredDialog"

    agent: AgentId
    pane: PaneId
    process: ProcessRef
    dialog: str
    keys: tuple[str, ...]
    expect: str  # regex the pane text must match right before the keys are sent
    shows: str  # text the pane must contain (the folder path)
    cause: str
    requires: tuple[str, ...] = ()

    def render(self) -> str:
        what = f"{self.dialog} dialog [{' '.join(self.keys)}]"
        return f"answer  {self.resource} pane {self.pane} {what} ({self.cause})"


AgentAction = (
    CreateAgent | RestartAgent | RecreateAgent | StopAgent | ReleasePane | RenameSession
    | NudgeServer | SendKeys
)
AGENT_ACTIONS = (
    CreateAgent, RestartAgent, RecreateAgent, StopAgent, ReleasePane, RenameSession,
    NudgeServer, SendKeys,
)

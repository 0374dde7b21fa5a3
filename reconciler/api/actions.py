"""Actions: what a pass will do, as plain data.

Controllers return actions; the executor (`reconciler.apply.executor`) carries them out and knows
nothing about why. Each action names its `resource` (`agent/impl`) and its `cause` ("missing",
"config changed", ...), renders to one line for `team-agent plan`, and carries everything
the executor needs so that the executor makes no decision of its own (the docker compose
`plan.go` / `executor.go` split).

Process identity travels with every action that may signal: the pid *and* its create time,
re-checked right before the signal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from reconciler.api.ids import AgentId, PaneId, WindowId
from reconciler.api.launch import LaunchConfig


@dataclass(frozen=True)
class ProcessRef:
    """A process as observed: pid plus create time, so a recycled pid is never signalled."""

    pid: int
    create_time: float


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

    agent: AgentId
    session: str
    launch: LaunchConfig
    config_hash: str
    new_session: bool
    cause: str = "missing"
    provider_session: SessionStart | None = None

    def render(self) -> str:
        where = f"new session {self.session}" if self.new_session else f"session {self.session}"
        note = _session_note(self.provider_session)
        return f"create  {self.resource} in {where} ({self.cause}){note}"


@dataclass(frozen=True)
class RestartAgent(AgentResource):
    """Start an exited agent again in its own (dead) pane, keeping pane and window ids."""

    agent: AgentId
    pane: PaneId
    launch: LaunchConfig
    config_hash: str
    cause: str
    provider_session: SessionStart | None = None

    def render(self) -> str:
        note = _session_note(self.provider_session)
        return f"restart {self.resource} pane {self.pane} ({self.cause}){note}"


@dataclass(frozen=True)
class RecreateAgent(AgentResource):
    """Stop a running agent whose configuration changed and start the new one in its pane."""

    agent: AgentId
    pane: PaneId
    process: ProcessRef | None
    launch: LaunchConfig
    config_hash: str
    grace_sec: float
    cause: str = "config changed"
    provider_session: SessionStart | None = None

    def render(self) -> str:
        note = _session_note(self.provider_session)
        return f"recreate {self.resource} pane {self.pane} ({self.cause}){note}"


@dataclass(frozen=True)
class StopAgent(AgentResource):
    """Stop an agent and remove its pane (its window too when it holds nothing else).

    `team` is the team id the pane must still carry when it is not this team's: an agent
    of this workspace's team before a rename changed its id (`former_panes`).
    """

    agent: AgentId
    pane: PaneId
    window: WindowId
    process: ProcessRef | None
    kill_window: bool
    grace_sec: float
    cause: str
    team: str | None = None  # None: this team's id

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

    agent: AgentId
    pane: PaneId
    window: WindowId | None
    process: ProcessRef | None
    cause: str

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

    session: str  # the session id ($N)
    old: str
    new: str
    workspace: str  # the session workspace marker it must carry
    server_pid: int | None
    cause: str = "the team's session name changed"

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

    agent: AgentId
    pane: PaneId
    server: ProcessRef
    cause: str = "exit not collected by tmux"

    def render(self) -> str:
        return f"nudge   tmux server {self.server.pid} for {self.resource} ({self.cause})"


@dataclass(frozen=True)
class OwnedPane:
    """A pane to remove, with the markers it must still carry when the executor acts."""

    pane: PaneId
    team: str
    agent: str
    workspace: str
    process: ProcessRef | None  # its live process, terminated before the pane is killed


@dataclass(frozen=True)
class ReapOrphan:
    """Remove one orphan (`controllers.orphans.controller` decided it is ours and no live team's).

    `kind` says what it is: a tmux `session`, `window` or `pane` (the `panes` it holds,
    each re-checked for our markers right before acting, on the tmux server whose pid is
    `server_pid`), a `process` or `daemon` (`process`: pid plus create time, re-checked
    before every signal; `group` only when we created its process group), or a stale
    `lock` record (`lock`: the lock file's path; cleared only while we hold its flock).
    """

    kind: str
    name: str  # what it is called in `resource`: a pid, `%3`, `@2`, a session name, a path
    cause: str
    marker: str
    grace_sec: float
    process: ProcessRef | None = None
    group: bool = False
    panes: tuple[OwnedPane, ...] = ()
    window: WindowId | None = None
    session: str | None = None  # the session id (`$N`) of a `session` orphan
    server_pid: int | None = None
    lock: str | None = None

    @property
    def resource(self) -> str:
        return f"orphan/{self.kind}/{self.name}"

    def render(self) -> str:
        return f"reap    {self.resource} ({self.cause})"


@dataclass(frozen=True)
class SendKeys(AgentResource):
    """Answer a first-run dialog in an agent's pane: the one thing team-agent ever types.

    Only the folder-trust dialog is ever answered (`controllers.sessions.dialogs` decides when).
    Right before sending, the executor re-checks the pane's markers, that its process is
    still `process` (pid and create time), and that the pane still shows `expect` and
    `shows` (the folder path the dialog asks about); anything else and nothing is typed.
    """

    agent: AgentId
    pane: PaneId
    process: ProcessRef
    dialog: str
    keys: tuple[str, ...]
    expect: str  # regex the pane text must match right before the keys are sent
    shows: str  # text the pane must contain (the folder path)
    cause: str

    def render(self) -> str:
        what = f"{self.dialog} dialog [{' '.join(self.keys)}]"
        return f"answer  {self.resource} pane {self.pane} {what} ({self.cause})"


@dataclass(frozen=True)
class DeliveryTarget:
    """Where a message goes: a pane, the process it must still run, the CLI reading it.

    A worker's pane must still carry that agent's markers; the leader's pane (on the
    person's own server when `socket_path` is set) must still run `process`. Either way
    the executor re-checks right before typing, as for `SendKeys`.
    """

    recipient: str  # an agent id, or `leader`
    pane: PaneId
    process: ProcessRef | None
    provider: str  # whose `InputProfile` reads the screen
    socket_path: str | None = None  # None: the workers' server


@dataclass(frozen=True)
class DeliverMessage:
    """Paste one message into its recipient's input box, verify it, submit it, verify that.

    `entered` says Enter was already pressed for it by an earlier (interrupted) attempt:
    the executor then only confirms or fails it, never submits it a second time.
    """

    message_id: str
    target: DeliveryTarget
    text: str  # exactly what is pasted: the header line and the body
    entered: bool
    attempt: int  # attempts already made
    cause: str = "queued"

    @property
    def resource(self) -> str:
        return f"message/{self.message_id}"

    def render(self) -> str:
        where = f"{self.target.recipient} pane {self.target.pane}"
        return f"deliver {self.resource} to {where} ({self.cause})"


@dataclass(frozen=True)
class FailMessage:
    """Give up on a message: its recipient is gone, or it ran out of attempts."""

    message_id: str
    cause: str

    @property
    def resource(self) -> str:
        return f"message/{self.message_id}"

    def render(self) -> str:
        return f"fail    {self.resource} ({self.cause})"


@dataclass(frozen=True)
class RaiseAlert:
    """Queue one alert or reminder to the leader, once per `key` (an episode, not a pass)."""

    key: str
    recipient: str
    kind: Literal["alert", "reminder"]
    body: str
    cause: str

    @property
    def resource(self) -> str:
        return f"alert/{self.key}"

    def render(self) -> str:
        return f"alert   {self.recipient} {self.kind} {self.key} ({self.cause})"


Action = (
    CreateAgent
    | RestartAgent
    | RecreateAgent
    | StopAgent
    | ReleasePane
    | RenameSession
    | NudgeServer
    | ReapOrphan
    | SendKeys
    | DeliverMessage
    | FailMessage
    | RaiseAlert
)


@dataclass(frozen=True)
class Plan:
    """The actions of one pass, in the order they will be applied, and when to look again."""

    actions: tuple[Action, ...] = ()
    requeue_after: float | None = None

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
    )

"""The status model: what a pass reports, as `.team/status.json` holds it.

`.team/status.json` is the reconciler's only output that other programs rely on
(DESIGN.md, Status): `team-agent status` and `wait`, CI and monitors read it while the
reconciler rewrites it every pass. So the models here *are* the file format: attribute
names are the JSON keys (camelCase, no aliases), every model forbids unknown keys, and
`TeamStatus.to_json` is the only serialiser, so the schema in `schemas/` can be generated
from them. They are frozen msgspec structs, not pydantic models, so that the verbs that
only read the status start fast (issue 16; `reconciler.api.structs` says what they check).

The status is an *observation*, not memory: the next pass re-observes the world and
recomputes it. What a pass does carry over (restart counts, backoff steps, a captured
session id, a pid's create time) is stored in the models explicitly, never recovered
from the event log. How the file is written (atomically, 0600 in a 0700 folder) is
`reconciler.store.statusfile`'s.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, TypedDict

import msgspec

from reconciler.api.conditions import ConditionList
from reconciler.api.errors import SpecIssue
from reconciler.api.structs import NonNegativeFloat, NonNegativeInt, StatusStruct, Timestamp

API_VERSION: Final = "team-agent/v1"
STATUS_FILE: Final = "status.json"
STATE_DIR: Final = ".team"
# The message store (reconciler/store/messages.py) beside it; named here so a pass can see whether
# it exists without importing the store (and sqlite3).
MESSAGES_DB: Final = "messages.db"

BoundVia = Literal["env", "option"]  # where a leader pane's UUID was read


class ApprovalStatus(StatusStruct, kw_only=True, frozen=True):
    """A tool permission prompt on an agent's screen, waiting for a person (or the spec)."""

    tool: str  # the tool the CLI asks to use, as the prompt names it
    prompt: str  # the prompt's text as seen on screen (a few lines)
    since: Timestamp
    answered: bool = False  # team-agent answered it (the tool is in `auto_approve`)


class AgentStatus(StatusStruct, kw_only=True, frozen=True):
    """One agent as last observed, plus what a pass carries over (restarts, backoff)."""

    conditions: ConditionList = msgspec.field(default_factory=list)
    paneId: str | None = None  # tmux pane id, `%N`
    windowId: str | None = None  # tmux window id, `@N`
    pid: int | None = None  # the agent process (pane's child), not the pane's shell
    pidCreateTime: float | None = None  # re-checked with pid before any signal
    configHash: str | None = None
    restartCount: NonNegativeInt = 0
    sessionId: str | None = None  # the provider's conversation/session id, once captured
    sessionFile: str | None = None  # its transcript, once seen on disk (resume needs it there)
    dialogAnsweredPid: int | None = None  # the agent pid whose trust dialog we answered (once)
    lastExitCode: int | None = None
    startedAt: Timestamp | None = None
    lastExitAt: Timestamp | None = None
    backoffUntil: Timestamp | None = None  # no restart before this time
    backoffSec: NonNegativeFloat = 0  # current crash-loop backoff step
    provider: str | None = None
    approval: ApprovalStatus | None = None  # set while Ready=False, reason=AwaitingApproval
    lastOutputAt: Timestamp | None = None  # the pane's last output (tmux window_activity)
    inputSeenAt: Timestamp | None = None  # this process's input box first seen (settling)
    # The spec's `restarted_at` this process was started under: a spec value that differs
    # is a restart not yet done (`team-agent restart`; the pane's config hash decides).
    restartedAt: str | None = None


class AgentStatusUpdate(TypedDict, total=False):
    """The `AgentStatus` fields a plan sets, as typed keyword arguments (all but
    `conditions`, which the agents' status builder keeps itself). Same names and types as
    `AgentStatus`; a unit test holds them equal."""

    paneId: str | None
    windowId: str | None
    pid: int | None
    pidCreateTime: float | None
    configHash: str | None
    restartCount: int
    sessionId: str | None
    sessionFile: str | None
    dialogAnsweredPid: int | None
    lastExitCode: int | None
    startedAt: Timestamp | None
    lastExitAt: Timestamp | None
    backoffUntil: Timestamp | None
    backoffSec: float
    provider: str | None
    approval: ApprovalStatus | None
    lastOutputAt: Timestamp | None
    inputSeenAt: Timestamp | None
    restartedAt: str | None


class LeaderAPIErrorStatus(StatusStruct, kw_only=True, frozen=True):
    """A provider API failure seen in the leader pane's recent text (see docs/leader.md).

    One entry per distinct (kind, code) while it stays visible: the pass that first sees it
    emits the one event, later passes find it here and stay quiet.
    """

    kind: str  # the LeaderAPIError reason: Overloaded, RateLimited, ServerError, Timeout
    code: int | None = None  # the HTTP status when the line names one
    firstSeen: Timestamp


class LeaderStatus(StatusStruct, kw_only=True, frozen=True):
    """Where the leader was found and how sure we are it is the team's leader.

    Pane, server and pids are an observation of this pass (re-validated every pass, never
    carried over); `epoch` and `apiErrors` are what a pass carries over on purpose.
    """

    conditions: ConditionList = msgspec.field(default_factory=list)
    paneId: str | None = None
    socket: str | None = None  # the tmux server socket the leader pane lives on
    serverPid: int | None = None
    panePid: int | None = None
    uuid: str | None = None  # the leader UUID the bound pane carries
    expectedUuid: str | None = None  # the team's leader UUID (`team-agent identity`)
    boundVia: BoundVia | None = None  # where the UUID was read
    provider: str | None = None
    epoch: NonNegativeInt = 0  # the owner record's epoch; only grows
    apiErrors: list[LeaderAPIErrorStatus] = msgspec.field(default_factory=list)


OrphanKind = Literal["session", "window", "pane", "process", "daemon", "lock"]


class OrphanStatus(StatusStruct, kw_only=True, frozen=True):
    """Something carrying our markers that no live team governs any more (see docs/orphans.md).

    `pid` with `pidCreateTime` names a process exactly (a recycled pid never matches);
    `paneId` names the pane of a `pane`/`window` orphan (the first pane of a `session`);
    `marker` is the ownership evidence that made it ours (a tmux option, an environment
    variable's *name and our own id*, an open lock file), never an env value of the spec.
    """

    kind: OrphanKind
    pid: int | None = None
    pidCreateTime: float | None = None  # with pid: the process's identity
    paneId: str | None = None
    session: str | None = None  # tmux session name (pane, window and session orphans)
    workspace: str | None = None  # the workspace its markers name
    marker: str  # the ownership marker that identified it as ours
    reason: str


class MessagesStatus(StatusStruct, kw_only=True, frozen=True):
    """The message store as the last pass saw it (see `team-agent inbox`, `results`)."""

    queued: NonNegativeInt = 0
    delivering: NonNegativeInt = 0
    delivered: NonNegativeInt = 0
    failed: NonNegativeInt = 0
    openTasks: NonNegativeInt = 0  # task messages with no result from their agent
    idleReminder: str | None = None  # the idle episode the leader was last reminded of


class LastReconcile(StatusStruct, kw_only=True, frozen=True):
    """Summary of the last completed pass."""

    id: str  # reconcile id, also logged and stamped on that pass's events
    startedAt: Timestamp
    durationMs: NonNegativeInt
    actions: list[str] = msgspec.field(
        default_factory=list
    )  # rendered plan lines, as `plan` prints
    error: str | None = None


class SpecErrorStatus(StatusStruct, kw_only=True, frozen=True):
    """Where the spec is invalid; set with `Stalled=True, reason=SpecInvalid`."""

    file: str
    line: Annotated[int, msgspec.Meta(ge=1)]
    column: Annotated[int, msgspec.Meta(ge=1)]
    message: str

    @classmethod
    def from_issue(cls, issue: SpecIssue) -> SpecErrorStatus:
        return cls(
            file=str(issue.file), line=issue.line, column=issue.column, message=issue.message
        )


class TeamStatus(StatusStruct, kw_only=True, frozen=True):
    """The whole of `status.json`."""

    apiVersion: Literal["team-agent/v1"] = API_VERSION
    kind: Literal["TeamStatus"] = "TeamStatus"
    team: str
    generation: NonNegativeInt  # bumps when the spec's content hash changes
    observedGeneration: NonNegativeInt  # the generation the last completed pass acted on
    specHash: str
    conditions: ConditionList = msgspec.field(default_factory=list)
    agents: dict[str, AgentStatus] = msgspec.field(default_factory=dict)
    leader: LeaderStatus = msgspec.field(default_factory=LeaderStatus)
    orphans: list[OrphanStatus] = msgspec.field(default_factory=list)
    messages: MessagesStatus | None = None  # None until the first message is sent
    lastReconcile: LastReconcile | None = None
    specError: SpecErrorStatus | None = None

    @classmethod
    def empty(cls, team: str) -> TeamStatus:
        """The status of a team no pass has acted on yet (generation 0, nothing known)."""
        return cls(team=team, generation=0, observedGeneration=0, specHash="")

    def to_json(self) -> str:
        """The exact text written to `status.json`: indented, camelCase, newline-ended.

        A struct's constraints are checked on decode, not when it is built, so the text is
        decoded once more before it is returned: a status that would not read back (a
        malformed timestamp, a negative count, a repeated condition type) raises
        `msgspec.ValidationError` here rather than reaching the file, where every reader
        would find it corrupt.
        """
        compact = msgspec.json.encode(self)
        msgspec.json.decode(compact, type=TeamStatus)
        return msgspec.json.format(compact, indent=2).decode() + "\n"

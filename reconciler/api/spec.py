"""The desired state: pydantic models of `team.spec.yaml`.

A pass starts here. The loader (`reconciler.specfile.load`) turns the YAML file into a `Spec`;
every controller reads only this model, never the raw YAML. The models are strict on
purpose: unknown keys are errors (`extra="forbid"`), so a typo never silently becomes a
default, and they are frozen, so no controller can edit the desired state behind the
reconciler's back.

Identifiers end up in tmux window names and targets and in process environments, so they
are restricted to characters tmux never interprets (`:`, `.`, `%`, `#`, `$` all mean
something to tmux or a shell). Env values may be secrets: `hide_input_in_errors` keeps
pydantic from echoing any input value in its messages.

Checks that span several sections (duplicate agent ids, references to undeclared agents)
raise one pydantic error of type `LOCATED_ERROR_TYPE` carrying the exact path of each
problem; `located_issues` expands it, so the loader can point at the right line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Annotated, Any, Final, Literal, NoReturn

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import ErrorDetails, PydanticCustomError

from reconciler.api.ids import AgentId, TeamId

TEAM_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$"
AGENT_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
TMUX_SOCKET_PATTERN = r"^[A-Za-z0-9_.-]{1,100}$"
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
RESERVED_ENV_PREFIX = "TEAM_AGENT_"
LEADER = "leader"
LOCATED_ERROR_TYPE = "spec_located"


def _utc(value: datetime) -> datetime:
    """A restart request's time in UTC; YAML reads a time without an offset as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


RestartRequest = Annotated[datetime, AfterValidator(_utc)]


def restart_token(value: datetime) -> str:
    """The text a restart request stands for (`2026-12-07T14:30:30Z`): the same instant
    written differently is the same request, so rewriting it never restarts anybody."""
    return _utc(value).isoformat().replace("+00:00", "Z")


ProviderName = Literal["claude", "codex", "gemini", "copilot", "opencode", "shell", "fake"]
RestartPolicy = Literal["Always", "OnFailure", "Never"]  # as Kubernetes pods
ResultFormat = Literal["envelope-v1", "text"]  # how a result is delivered (api.envelope)
Loc = tuple[str | int, ...]
LocatedIssue = tuple[Loc, str]


# A key as a person writes one; anything else in a `loc` is pydantic's str() of a YAML
# complex key (`? {TOKEN: value}`), which would print the values inside it.
_PRINTABLE_KEY = re.compile(r"[A-Za-z0-9_.\-]{1,100}")


def dotted_path(loc: Sequence[str | int]) -> str:
    """Render a pydantic `loc` the way a person reads YAML: `agents[1].env.FOO`.

    A key that is not a plain name is shown as `<key>`: it may be a mapping whose values
    are secrets (env values are never echoed, not even through a malformed key).
    """
    out = ""
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            name = part if _PRINTABLE_KEY.fullmatch(part) else "<key>"
            out += f".{name}" if out else name
    return out


def located_issues(error: ErrorDetails) -> list[LocatedIssue]:
    """Expand one pydantic error into (absolute loc, message) pairs.

    Built from `loc` and `msg` only, never from `input`: inputs may be secrets.
    """
    loc = tuple(error["loc"])
    ctx = error.get("ctx") or {}
    if error["type"] == LOCATED_ERROR_TYPE and "issues" in ctx:
        return [(loc + tuple(rel), message) for rel, message in ctx["issues"]]
    return [(loc, error["msg"])]


def _raise_located(issues: list[LocatedIssue]) -> NoReturn:
    """Raise one pydantic error that still says exactly where each problem is."""
    summary = "; ".join(f"{dotted_path(loc)}: {message}" for loc, message in issues)
    raise PydanticCustomError(
        LOCATED_ERROR_TYPE, "{summary}", {"issues": tuple(issues), "summary": summary}
    )


def _safe_name(kind: str, pattern: str, hint: str) -> AfterValidator:
    """A validator with a message that says what is allowed, not just the regex."""

    def check(value: str) -> str:
        if re.fullmatch(pattern, value) is None:
            raise PydanticCustomError(
                "unsafe_name",
                "{kind} '{value}' is not safe: {hint}",
                {"kind": kind, "value": value, "hint": hint},
            )
        return value

    return AfterValidator(check)


def _not_reserved(value: str) -> str:
    if value.startswith(RESERVED_ENV_PREFIX):
        raise PydanticCustomError(
            "reserved_env",
            "env name '{value}' is reserved: {prefix}* is set by team-agent",
            {"value": value, "prefix": RESERVED_ENV_PREFIX},
        )
    return value


def _check_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise PydanticCustomError(
            "bad_regex", "not a valid regular expression: {reason}", {"reason": str(exc)}
        ) from None
    return value


_NAME_HINT = "use letters, digits, '-' and '_', starting with a letter or digit (max 63)"
TeamName = Annotated[
    str,
    _safe_name("name", TEAM_NAME_PATTERN, _NAME_HINT),
    Field(json_schema_extra={"pattern": TEAM_NAME_PATTERN}),
]
SafeAgentId = Annotated[
    AgentId,
    _safe_name("agent id", AGENT_ID_PATTERN, "use lowercase letters, digits, '-' and '_' (max 63)"),
    Field(json_schema_extra={"pattern": AGENT_ID_PATTERN}),
]
SocketName = Annotated[
    str,
    _safe_name(
        "tmux socket", TMUX_SOCKET_PATTERN, "use letters, digits, '.', '-' and '_' (max 100)"
    ),
    Field(json_schema_extra={"pattern": TMUX_SOCKET_PATTERN}),
]
EnvName = Annotated[
    str,
    _safe_name(
        "env name", ENV_NAME_PATTERN, "use letters, digits and '_', not starting with a digit"
    ),
    AfterValidator(_not_reserved),
]
Command = Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
PythonRegex = Annotated[str, AfterValidator(_check_regex)]

_ENV_SCHEMA: dict[str, Any] = {"propertyNames": {"pattern": ENV_NAME_PATTERN}}


class _Model(BaseModel):
    """Shared config: unknown keys are errors, models are immutable, inputs never echoed."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class Team(_Model):
    """Who the team is and where it works; the name also names the tmux session."""

    name: TeamName = Field(description="Team name; default tmux session is `team-<name>`.")
    id: TeamName | None = Field(
        default=None,
        description="Stable team id written into ownership markers; defaults to `name`.",
    )
    workspace: str = Field(
        default=".", description="Workspace folder, relative to the spec file's folder."
    )
    description: str = Field(default="", description="Free text for people.")


class Leader(_Model):
    """The person-facing agent that directs the workers; it may live in the user's own tmux."""

    provider: ProviderName = Field(description="Which CLI the leader runs.")
    command: Command | None = Field(default=None, description="Overrides the provider's command.")
    model: str | None = Field(default=None, description="Model name passed to the provider.")
    args: list[str] = Field(default=[], description="Extra arguments appended to the command.")
    env: dict[EnvName, str] = Field(
        default={},
        description="Extra environment; values are never logged.",
        json_schema_extra=_ENV_SCHEMA,
    )


class Readiness(_Model):
    """When an agent counts as Ready: a pattern seen in its pane, within a deadline."""

    pattern: PythonRegex = Field(description="Python regular expression searched in the pane.")
    timeout_sec: float = Field(
        default=60, gt=0, allow_inf_nan=False, description="Seconds to wait for the pattern."
    )


class SessionPolicy(_Model):
    """What to do when a provider session cannot be resumed after a restart."""

    on_lost: Literal["fresh", "hold"] = Field(
        default="fresh", description="`fresh` starts a new session; `hold` waits for a person."
    )
    capture_timeout_sec: float = Field(
        default=300,
        gt=0,
        allow_inf_nan=False,
        description="Seconds after a start before a session not yet on disk is CaptureTimeout.",
    )


# The `permission_mode` values each CLI's adapter turns into that CLI's own flags, checked
# when the spec is loaded so a value the CLI would refuse at start (exit 2 in a restart
# loop) is a located spec error instead. First team-agent 0.2.3's three portable modes
# (`restricted`: read-only or asking for everything, `ask`: the CLI's default asking mode,
# `trusted`: no prompts), then the CLI's own values, as its pinned version accepts them
# (measured: docs/providers.md). The mapping to flags lives in each provider module.
PORTABLE_PERMISSION_MODES: Final = ("restricted", "ask", "trusted")
PERMISSION_MODES: Final[Mapping[str, tuple[str, ...]]] = {
    "claude": (
        *PORTABLE_PERMISSION_MODES,
        "acceptEdits",
        "auto",
        "bypassPermissions",
        "default",
        "dontAsk",
        "plan",
        "dangerously-skip-permissions",
    ),
    "codex": (
        *PORTABLE_PERMISSION_MODES,
        "on-request",
        "never",
        "dangerously-bypass-approvals-and-sandbox",
    ),
    "gemini": (*PORTABLE_PERMISSION_MODES, "default", "auto_edit", "yolo", "plan"),
    "copilot": (*PORTABLE_PERMISSION_MODES, "allow-all", "yolo", "allow-all-tools"),
    "opencode": (*PORTABLE_PERMISSION_MODES,),
}


class Agent(_Model):
    """One worker: one tmux window running one CLI process, kept alive by the reconciler."""

    id: SafeAgentId = Field(description="Agent id; names the tmux window. Must be unique.")
    provider: ProviderName = Field(default="fake", description="Which CLI the agent runs.")
    role: str = Field(default="", description="What this agent is for, in a few words.")
    model: str | None = Field(default=None, description="Model name passed to the provider.")
    permission_mode: str | None = Field(
        default=None, description="Provider permission/approval mode."
    )
    system_prompt: str | None = Field(default=None, description="System prompt text.")
    system_prompt_file: str | None = Field(
        default=None, description="File holding the system prompt (exclusive with `system_prompt`)."
    )
    working_directory: str | None = Field(
        default=None, description="Folder the agent starts in, relative to the workspace."
    )
    args: list[str] = Field(default=[], description="Extra arguments appended to the command.")
    command: Command | None = Field(
        default=None,
        description="Command line to run instead of the provider's; required for `shell`.",
    )
    env: dict[EnvName, str] = Field(
        default={},
        description="Extra environment; names only in logs. `TEAM_AGENT_*` is reserved.",
        json_schema_extra=_ENV_SCHEMA,
    )
    restart_policy: RestartPolicy = Field(
        default="Always", description="When an exited agent is restarted (as Kubernetes pods)."
    )
    paused: bool = Field(default=False, description="Keep the agent stopped without removing it.")
    restarted_at: RestartRequest | None = Field(
        default=None,
        description="A restart request (`team-agent restart` writes the time): each new "
        "value recreates the agent once, resuming its session, as kubectl's restartedAt.",
    )
    readiness: Readiness | None = Field(default=None, description="How to tell the agent is Ready.")
    initial_prompt: str | None = Field(
        default=None, description="Prompt sent once the agent is Ready."
    )
    session: SessionPolicy = Field(
        default=SessionPolicy(), description="Provider session handling."
    )
    auto_approve: list[Annotated[str, Field(min_length=1)]] = Field(
        default=[],
        description="Tools whose permission prompts team-agent answers yes; empty: none, "
        "every prompt waits for a person (`team-agent approvals`).",
    )

    @model_validator(mode="after")
    def _check_combinations(self) -> Agent:
        issues: list[LocatedIssue] = []
        if self.provider == "shell" and self.command is None:
            issues.append((("provider",), "provider 'shell' needs a 'command'"))
        if self.system_prompt is not None and self.system_prompt_file is not None:
            issues.append(
                (("system_prompt_file",), "set either 'system_prompt' or 'system_prompt_file'")
            )
        accepted = PERMISSION_MODES.get(self.provider)
        if self.permission_mode is not None:
            if accepted is None:
                issues.append(
                    (("permission_mode",), f"provider {self.provider!r} takes no permission_mode")
                )
            elif self.permission_mode not in accepted:
                issues.append(
                    (
                        ("permission_mode",),
                        f"{self.provider} accepts permission_mode {', '.join(accepted)}",
                    )
                )
        if issues:
            _raise_located(issues)
        return self


class RoutingRule(_Model):
    """Send work that matches a pattern to one agent."""

    match: str = Field(description="What work this rule selects, as the router matches it.")
    to: str = Field(description="Id of the agent that receives the matching work.")


class Routing(_Model):
    """Where work goes when nobody names an agent."""

    default: str | None = Field(default=None, description="Agent id that receives unrouted work.")
    rules: list[RoutingRule] = Field(
        default=[], description="Rules tried in order; first match wins."
    )


class CommunicationEdge(_Model):
    """One allowed direction of messages between two members of the team."""

    model_config = ConfigDict(populate_by_name=True)

    # Aliases per direction (not `alias=`) so type checkers see the `from_` keyword.
    from_: str = Field(
        validation_alias="from",
        serialization_alias="from",
        description="Sender: an agent id or `leader`.",
    )
    to: str = Field(description="Receiver: an agent id or `leader`.")


class Communication(_Model):
    """Who may talk to whom, and in which format results travel."""

    leader_receives_results: bool = Field(
        default=True, description="Send each agent's results back to the leader."
    )
    allow: list[CommunicationEdge] = Field(default=[], description="Allowed agent-to-agent edges.")
    result_format: ResultFormat = Field(
        default="envelope-v1", description="How results are wrapped when delivered."
    )


class Runtime(_Model):
    """How and where the reconciler runs the team in tmux."""

    session_name: TeamName | None = Field(
        default=None, description="tmux session name; defaults to `team-<team.name>`."
    )
    tmux_socket: SocketName | None = Field(
        default=None,
        description="tmux server socket name (`tmux -L NAME`); default server if unset.",
    )
    resync_interval_sec: float = Field(
        default=30,
        ge=1,
        le=3600,
        allow_inf_nan=False,
        description="Seconds between periodic passes when nothing else triggers one.",
    )
    stuck_timeout_sec: float = Field(
        default=600,
        gt=0,
        allow_inf_nan=False,
        description="Seconds an agent's pane may stay unchanged while it has open work "
        "before it is Stalled=True, reason=Stuck (one alert to the leader).",
    )
    idle_timeout_sec: float = Field(
        default=300,
        gt=0,
        allow_inf_nan=False,
        description="Seconds every worker may sit idle while tasks are open before the "
        "leader gets one reminder.",
    )
    auto_trust_own_workspace: bool | None = Field(
        default=None,
        description="DEPRECATED: set TEAM_AGENT_AUTO_TRUST_OWN_WORKSPACE=1 instead.",
        json_schema_extra={"deprecated": True},
    )
    stop_grace_sec: float = Field(
        default=5,
        ge=0,
        le=120,
        allow_inf_nan=False,
        description="Seconds between SIGTERM and SIGKILL when stopping an agent.",
    )


class Context(_Model):
    """Shared background every agent gets: files to read and standing instructions."""

    files: list[str] = Field(
        default=[], description="Files every agent should read, workspace-relative."
    )
    instructions: str = Field(default="", description="Instructions given to every agent.")


class Task(_Model):
    """A piece of work declared up front, optionally pre-assigned."""

    id: str = Field(description="Task id; `depends_on` refers to it.")
    title: str = Field(description="One-line summary.")
    assignee: str | None = Field(default=None, description="Agent id that owns the task.")
    description: str = Field(default="", description="Details of the work.")
    depends_on: list[str] = Field(default=[], description="Ids of tasks that must finish first.")


class Orphans(_Model):
    """What to do with what a dead or changed team left behind (docs/orphans.md)."""

    policy: Literal["report", "reap"] = Field(
        default="report",
        description="`report` lists them in status.orphans; `reap` also removes them each pass.",
    )


class Spec(_Model):
    """The whole desired state of one team: the root of `team.spec.yaml`."""

    version: Literal[1] = Field(description="Spec format version.")
    team: Team = Field(description="Team identity and workspace.")
    leader: Leader | None = Field(default=None, description="The leader agent, if declared.")
    agents: list[Agent] = Field(default=[], description="Worker agents, one tmux window each.")
    routing: Routing = Field(default=Routing(), description="Default destinations for work.")
    communication: Communication = Field(default=Communication(), description="Messaging policy.")
    runtime: Runtime = Field(default=Runtime(), description="tmux and timing settings.")
    context: Context = Field(default=Context(), description="Shared context for every agent.")
    tasks: list[Task] = Field(default=[], description="Work declared up front.")
    orphans: Orphans = Field(default=Orphans(), description="Handling of leftover owned windows.")

    @property
    def team_id(self) -> TeamId:
        """The id in ownership markers; stable even if the team is renamed."""
        return TeamId(self.team.id or self.team.name)

    @property
    def session_name(self) -> str:
        """The tmux session the workers live in."""
        return self.runtime.session_name or f"team-{self.team.name}"

    @model_validator(mode="after")
    def _check_references(self) -> Spec:
        issues: list[LocatedIssue] = []
        declared: list[str] = []
        for index, agent in enumerate(self.agents):
            if agent.id in declared:
                issues.append((("agents", index, "id"), f"duplicate agent id '{agent.id}'"))
            else:
                declared.append(agent.id)

        def check(loc: Loc, name: str | None, *, leader_ok: bool = False) -> None:
            if name is None or name in declared or (leader_ok and name == LEADER):
                return
            choices = [*declared, LEADER] if leader_ok else declared
            known = f"expected one of: {', '.join(choices)}" if choices else "no agents declared"
            issues.append((loc, f"unknown agent '{name}' ({known})"))

        check(("routing", "default"), self.routing.default)
        for index, rule in enumerate(self.routing.rules):
            check(("routing", "rules", index, "to"), rule.to)
        for index, edge in enumerate(self.communication.allow):
            check(("communication", "allow", index, "from"), edge.from_, leader_ok=True)
            check(("communication", "allow", index, "to"), edge.to, leader_ok=True)
        for index, task in enumerate(self.tasks):
            check(("tasks", index, "assignee"), task.assignee)
        if issues:
            _raise_located(issues)
        return self

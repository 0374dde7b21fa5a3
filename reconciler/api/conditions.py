"""Kubernetes-style conditions: the vocabulary and rules every controller reports with.

A pass ends by writing conditions: the team's `Ready`, `Reconciling`, `Stalled`,
`OrphansFound`; each agent's `Ready`, `SessionCaptured`, `CrashLoopBackOff`; the leader's
`LeaderBound`, `LeaderUUIDMismatch`. People, CI (`team-agent wait --for condition=Ready`)
and monitors read them from `status.json`, so their shape is part of the contract
(DESIGN.md, Status): the fields and validation of `metav1.Condition`, and the rule that
`lastTransitionTime` moves only when `status` changes, so "Ready since 09:00" survives any
number of passes that re-assert it with a fresher message.

The functions mirror `k8s.io/apimachinery/pkg/api/meta/conditions.go` but are pure: they
return a new list plus `changed` instead of mutating in place, and never read the clock
(the builder `condition` takes `now`). Lists they return are sorted by `type`, so the
status file and its diffs are deterministic whatever order controllers set conditions in.

Condition types and reasons are plain `str` constants defined once here (module constants
rather than an `Enum`, so values serialise as themselves everywhere: JSON, f-strings,
`==` with what was read back). Types and reasons may be extended, never renamed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Final, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from reconciler.api.clock import Timestamp, format_time

CAMEL_CASE_PATTERN: Final = r"^[A-Z][A-Za-z0-9]*$"

ConditionStatus = Literal["True", "False", "Unknown"]
TRUE: Final = "True"
FALSE: Final = "False"
UNKNOWN: Final = "Unknown"

# Condition types. Team: READY (summary), RECONCILING, STALLED, ORPHANS_FOUND, DEGRADED.
# Agent: READY, SESSION_CAPTURED, CRASH_LOOP_BACK_OFF, STALLED (Stuck). Leader: LEADER_BOUND,
# LEADER_UUID_MISMATCH, LEADER_API_ERROR.
READY: Final = "Ready"
RECONCILING: Final = "Reconciling"
STALLED: Final = "Stalled"
ORPHANS_FOUND: Final = "OrphansFound"
SESSION_CAPTURED: Final = "SessionCaptured"
CRASH_LOOP_BACK_OFF: Final = "CrashLoopBackOff"
LEADER_BOUND: Final = "LeaderBound"
LEADER_UUID_MISMATCH: Final = "LeaderUUIDMismatch"
LEADER_API_ERROR: Final = "LeaderAPIError"
# Team: one controller could not run this pass (it raised, or its input cannot be read);
# the others did. As OpenShift's ClusterOperator `Degraded`: the rest is still served.
DEGRADED: Final = "Degraded"

CONDITION_TYPES: Final = frozenset(
    {
        READY,
        RECONCILING,
        STALLED,
        ORPHANS_FOUND,
        SESSION_CAPTURED,
        CRASH_LOOP_BACK_OFF,
        LEADER_BOUND,
        LEADER_UUID_MISMATCH,
        LEADER_API_ERROR,
        DEGRADED,
    }
)

# Reasons: one CamelCase word saying why a condition has its status.
# Team Ready.
ALL_AGENTS_READY: Final = "AllAgentsReady"
AGENTS_NOT_READY: Final = "AgentsNotReady"
NO_AGENTS: Final = "NoAgents"
# Agent Ready.
RUNNING: Final = "Running"
STARTING: Final = "Starting"
EXITED: Final = "Exited"
STOPPED: Final = "Stopped"  # brought down by `team-agent down`
COMPLETED: Final = "Completed"  # exited 0 and restart_policy does not restart it
PAUSED: Final = "Paused"
AWAITING_INPUT: Final = "AwaitingInput"
AWAITING_APPROVAL: Final = "AwaitingApproval"  # a tool permission prompt while it works
PROVIDER_NOT_INSTALLED: Final = "ProviderNotInstalled"
LAUNCH_INVALID: Final = "LaunchInvalid"  # the spec asks the CLI for something it cannot do
READINESS_TIMEOUT: Final = "ReadinessTimeout"
PATTERN_TOO_SLOW: Final = "PatternTooSlow"  # the readiness pattern backtracks (api.patterns)
APPLY_FAILED: Final = "ApplyFailed"  # the action that would make it ready failed this pass
# Its pane runs a process team-agent did not start (a person's `respawn-pane -k`).
PANE_TAKEN_OVER: Final = "PaneTakenOver"
# Agent CrashLoopBackOff.
BACK_OFF: Final = "BackOff"
# Team Stalled.
SPEC_INVALID: Final = "SpecInvalid"
TMUX_UNAVAILABLE: Final = "TmuxUnavailable"
SESSION_CONFLICT: Final = "SessionConflict"
STATE_UNWRITABLE: Final = "StateUnwritable"
SPEC_NOT_FOUND: Final = "SpecNotFound"  # the spec file is gone (deleted or moved) under `run`
# Team Reconciling.
CONVERGED: Final = "Converged"
APPLYING: Final = "Applying"
# Team OrphansFound.
NO_ORPHANS: Final = "NoOrphans"
ORPHANS_REPORTED: Final = "Found"  # orphans.policy report: listed, nothing killed
ORPHANS_REAPING: Final = "Reaping"  # orphans.policy reap (or `orphans --reap`): being reaped
# Agent SessionCaptured.
CAPTURED: Final = "Captured"
CAPTURE_TIMEOUT: Final = "CaptureTimeout"
NOT_SUPPORTED: Final = "NotSupported"
SESSION_LOST: Final = "SessionLost"
CAPTURING: Final = "Capturing"  # Unknown: no transcript yet (none exists before a first message)
# Leader LeaderBound.
BOUND: Final = "Bound"
LEADER_PANE_MISSING: Final = "LeaderPaneMissing"
LEADER_UUID_MISSING: Final = "LeaderUUIDMissing"
LEADER_AMBIGUOUS: Final = "LeaderAmbiguous"
WRONG_COMMAND: Final = "WrongCommand"
WRONG_WORKSPACE: Final = "WrongWorkspace"
NOT_DECLARED: Final = "NotDeclared"
# Leader LeaderUUIDMismatch (and LeaderAPIError while no leader is bound).
UUID_MATCHES: Final = "UUIDMatches"
UUID_DIFFERS: Final = "UUIDDiffers"
TAKEN_OVER: Final = "TakenOver"  # True: the bound pane's UUID took the team over on purpose
NOT_BOUND: Final = "NotBound"
# Leader LeaderAPIError: the kind of provider failure seen in the leader pane.
NO_API_ERROR: Final = "NoAPIError"
OVERLOADED: Final = "Overloaded"
RATE_LIMITED: Final = "RateLimited"
SERVER_ERROR: Final = "ServerError"
TIMEOUT: Final = "Timeout"
# Team Degraded.
INPUT_UNREADABLE: Final = "InputUnreadable"  # a controller's input (a file) cannot be read
CONTROLLER_FAILED: Final = "ControllerFailed"  # a controller raised (a bug)
AS_EXPECTED: Final = "AsExpected"  # every controller ran
# Agent Stalled (issue #6): its pane has not changed while it has open work.
STUCK: Final = "Stuck"
PROGRESSING: Final = "Progressing"
# Any condition, as a reader shows it (never written to status.json): the pass that set it
# observed the world longer ago than the resync interval and no reconciler holds the
# workspace, so it may no longer hold (reconciler.store.freshness; Kubernetes' NodeStatusUnknown).
STATUS_STALE: Final = "StatusStale"

REASONS: Final = frozenset(
    {
        ALL_AGENTS_READY,
        AGENTS_NOT_READY,
        NO_AGENTS,
        RUNNING,
        STARTING,
        EXITED,
        COMPLETED,
        STOPPED,
        PAUSED,
        AWAITING_INPUT,
        AWAITING_APPROVAL,
        STUCK,
        PROGRESSING,
        STATUS_STALE,
        PROVIDER_NOT_INSTALLED,
        LAUNCH_INVALID,
        READINESS_TIMEOUT,
        PATTERN_TOO_SLOW,
        APPLY_FAILED,
        PANE_TAKEN_OVER,
        BACK_OFF,
        SPEC_INVALID,
        TMUX_UNAVAILABLE,
        SESSION_CONFLICT,
        STATE_UNWRITABLE,
        SPEC_NOT_FOUND,
        INPUT_UNREADABLE,
        CONTROLLER_FAILED,
        AS_EXPECTED,
        CONVERGED,
        APPLYING,
        NO_ORPHANS,
        ORPHANS_REPORTED,
        ORPHANS_REAPING,
        CAPTURED,
        CAPTURE_TIMEOUT,
        NOT_SUPPORTED,
        SESSION_LOST,
        CAPTURING,
        BOUND,
        LEADER_PANE_MISSING,
        LEADER_UUID_MISSING,
        LEADER_AMBIGUOUS,
        WRONG_COMMAND,
        WRONG_WORKSPACE,
        NOT_DECLARED,
        UUID_MATCHES,
        UUID_DIFFERS,
        TAKEN_OVER,
        NOT_BOUND,
        NO_API_ERROR,
        OVERLOADED,
        RATE_LIMITED,
        SERVER_ERROR,
        TIMEOUT,
    }
)


class Condition(BaseModel):
    """One observation about a resource, shaped and validated as `metav1.Condition`.

    Attribute names are the JSON keys (`lastTransitionTime`, not `last_transition_time`)
    so `model_dump()` and `model_dump(by_alias=True)` agree and no caller can write the
    wrong spelling to disk.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str = Field(pattern=CAMEL_CASE_PATTERN, max_length=316)
    status: ConditionStatus
    reason: str = Field(pattern=CAMEL_CASE_PATTERN, max_length=1024)
    message: str = Field(default="", max_length=32768)
    lastTransitionTime: Timestamp  # the contract's JSON key
    observedGeneration: int = Field(ge=0)  # the contract's JSON key


def _unique_types(conditions: list[Condition]) -> list[Condition]:
    seen: set[str] = set()
    for cond in conditions:
        if cond.type in seen:
            raise ValueError(f"condition type {cond.type!r} appears more than once")
        seen.add(cond.type)
    return conditions


ConditionList = Annotated[list[Condition], AfterValidator(_unique_types)]
"""Field type for a resource's conditions: at most one condition per type."""


def condition(
    condition_type: str,
    status: ConditionStatus,
    reason: str,
    message: str = "",
    *,
    now: datetime,
    generation: int,
) -> Condition:
    """Build a condition stamped with `now` as its (candidate) transition time.

    `set_condition` keeps the previous transition time when the status did not change,
    so passing the current time here is always right.
    """
    return Condition(
        type=condition_type,
        status=status,
        reason=reason,
        message=message,
        lastTransitionTime=format_time(now),
        observedGeneration=generation,
    )


def find_condition(conditions: Sequence[Condition], condition_type: str) -> Condition | None:
    """The condition of `condition_type`, or None when absent."""
    for cond in conditions:
        if cond.type == condition_type:
            return cond
    return None


def set_condition(conditions: Sequence[Condition], new: Condition) -> tuple[list[Condition], bool]:
    """Return a new list with `new` in place of its type, and whether anything changed.

    As `meta.SetStatusCondition`: when the status is unchanged the previous
    `lastTransitionTime` is kept while reason, message and observedGeneration are taken
    from `new`; when it changes (or the type is new), `new`'s time is used. The input is
    not modified; the result is sorted by type.
    """
    existing = find_condition(conditions, new.type)
    merged = new
    if existing is not None and existing.status == new.status:
        merged = new.model_copy(update={"lastTransitionTime": existing.lastTransitionTime})
    changed = existing is None or merged != existing
    others = [cond for cond in conditions if cond.type != new.type]
    return _sorted([*others, merged]), changed


def remove_condition(
    conditions: Sequence[Condition], condition_type: str
) -> tuple[list[Condition], bool]:
    """Return a new list without `condition_type`, and whether it was there."""
    kept = [cond for cond in conditions if cond.type != condition_type]
    return _sorted(kept), len(kept) != len(conditions)


def is_true(conditions: Sequence[Condition], condition_type: str) -> bool:
    """True when the condition is present with status "True"."""
    found = find_condition(conditions, condition_type)
    return found is not None and found.status == TRUE


def is_false(conditions: Sequence[Condition], condition_type: str) -> bool:
    """True when the condition is present with status "False" (absent is not false)."""
    found = find_condition(conditions, condition_type)
    return found is not None and found.status == FALSE


def _sorted(conditions: list[Condition]) -> list[Condition]:
    return sorted(conditions, key=lambda cond: cond.type)

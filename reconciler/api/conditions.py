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

Condition types and reasons are plain `str` constants (module constants rather than an
`Enum`, so values serialise as themselves everywhere: JSON, f-strings, `==` with what was
read back), and `VOCABULARY` is the one table of where each type appears and which reasons
it carries with which status; the README's tables are checked against it. Types and
reasons may be extended, never renamed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Final, Literal

import msgspec

from reconciler.api.clock import format_time
from reconciler.api.structs import NonNegativeInt, StatusStruct, Timestamp

CAMEL_CASE_PATTERN: Final = r"^[A-Z][A-Za-z0-9]*$"

ConditionStatus = Literal["True", "False", "Unknown"]
TRUE: Final = "True"
FALSE: Final = "False"
UNKNOWN: Final = "Unknown"

# Condition types and reasons: the names first (the code compares and writes these), then
# `VOCABULARY`, the one table of which type appears where with which reasons. The sets the
# code and tests check against derive from the table, and a unit test checks the README's
# conditions tables against it both ways, so a name cannot be added in one place only.
READY: Final = "Ready"
RECONCILING: Final = "Reconciling"
STALLED: Final = "Stalled"
ORPHANS_FOUND: Final = "OrphansFound"
SESSION_CAPTURED: Final = "SessionCaptured"
CRASH_LOOP_BACK_OFF: Final = "CrashLoopBackOff"
LEADER_BOUND: Final = "LeaderBound"
LEADER_UUID_MISMATCH: Final = "LeaderUUIDMismatch"
LEADER_API_ERROR: Final = "LeaderAPIError"
DEGRADED: Final = "Degraded"

# Reasons: one CamelCase word saying why a condition has its status.
ALL_AGENTS_READY: Final = "AllAgentsReady"
AGENTS_NOT_READY: Final = "AgentsNotReady"
NO_AGENTS: Final = "NoAgents"
RUNNING: Final = "Running"
STARTING: Final = "Starting"
EXITED: Final = "Exited"
STOPPED: Final = "Stopped"
COMPLETED: Final = "Completed"
PAUSED: Final = "Paused"
AWAITING_INPUT: Final = "AwaitingInput"
AWAITING_APPROVAL: Final = "AwaitingApproval"
PROVIDER_NOT_INSTALLED: Final = "ProviderNotInstalled"
LAUNCH_INVALID: Final = "LaunchInvalid"
READINESS_TIMEOUT: Final = "ReadinessTimeout"
PATTERN_TOO_SLOW: Final = "PatternTooSlow"
APPLY_FAILED: Final = "ApplyFailed"
PANE_TAKEN_OVER: Final = "PaneTakenOver"
BACK_OFF: Final = "BackOff"
SPEC_INVALID: Final = "SpecInvalid"
TMUX_UNAVAILABLE: Final = "TmuxUnavailable"
SESSION_CONFLICT: Final = "SessionConflict"
SPEC_NOT_FOUND: Final = "SpecNotFound"
CONVERGED: Final = "Converged"
APPLYING: Final = "Applying"
NO_ORPHANS: Final = "NoOrphans"
ORPHANS_REPORTED: Final = "Found"
ORPHANS_REAPING: Final = "Reaping"
CAPTURED: Final = "Captured"
CAPTURE_TIMEOUT: Final = "CaptureTimeout"
NOT_SUPPORTED: Final = "NotSupported"
SESSION_LOST: Final = "SessionLost"
CAPTURING: Final = "Capturing"
BOUND: Final = "Bound"
LEADER_PANE_MISSING: Final = "LeaderPaneMissing"
LEADER_UUID_MISSING: Final = "LeaderUUIDMissing"
LEADER_AMBIGUOUS: Final = "LeaderAmbiguous"
WRONG_COMMAND: Final = "WrongCommand"
WRONG_WORKSPACE: Final = "WrongWorkspace"
NOT_DECLARED: Final = "NotDeclared"
UUID_MATCHES: Final = "UUIDMatches"
UUID_DIFFERS: Final = "UUIDDiffers"
TAKEN_OVER: Final = "TakenOver"
NOT_BOUND: Final = "NotBound"
NO_API_ERROR: Final = "NoAPIError"
OVERLOADED: Final = "Overloaded"
RATE_LIMITED: Final = "RateLimited"
SERVER_ERROR: Final = "ServerError"
TIMEOUT: Final = "Timeout"
INPUT_UNREADABLE: Final = "InputUnreadable"
CONTROLLER_FAILED: Final = "ControllerFailed"
AS_EXPECTED: Final = "AsExpected"
STUCK: Final = "Stuck"
PROGRESSING: Final = "Progressing"
STATUS_STALE: Final = "StatusStale"

Scope = Literal["team", "agent", "leader", "any"]


@dataclass(frozen=True)
class Reason:
    """One reason a condition type may carry, the status it carries it with, and why."""

    name: str
    status: ConditionStatus
    meaning: str


@dataclass(frozen=True)
class ConditionKind:
    """A condition type as it appears on one kind of object, with every reason it may carry.

    `type` None is the row of reasons a reader may show on any condition (never written
    to `status.json` by a pass).
    """

    on: Scope
    type: str | None
    meaning: str
    reasons: tuple[Reason, ...]


def _stall_reasons(status: ConditionStatus) -> tuple[Reason, ...]:
    """The team's stall reasons: `Stalled` is True with them, `Ready` and `Reconciling`
    False with the same one, so a reader of any of the three sees why."""
    kept = "the last good generation stays in force"
    return (
        Reason(SPEC_INVALID, status, f"the spec is invalid (the message says where); {kept}"),
        Reason(SPEC_NOT_FOUND, status, f"the spec file is gone (deleted or moved); {kept}"),
        Reason(TMUX_UNAVAILABLE, status, "tmux is missing or its server cannot be used"),
        Reason(SESSION_CONFLICT, status, "the tmux session is owned by another workspace"),
    )


VOCABULARY: Final[tuple[ConditionKind, ...]] = (
    ConditionKind(
        "team",
        READY,
        "the summary: every declared, unpaused agent is Ready",
        (
            Reason(ALL_AGENTS_READY, TRUE, "every unpaused agent is Ready"),
            Reason(NO_AGENTS, TRUE, "the spec declares no agents"),
            Reason(AGENTS_NOT_READY, FALSE, "the message names the agents not Ready"),
            Reason(STOPPED, FALSE, "`team-agent down` brought the team down"),
            *_stall_reasons(FALSE),
        ),
    ),
    ConditionKind(
        "team",
        RECONCILING,
        "work in flight: actions this pass, agents starting or backing off",
        (
            Reason(APPLYING, TRUE, "converging towards the spec"),
            Reason(CONVERGED, FALSE, "nothing in flight"),
            *_stall_reasons(FALSE),
        ),
    ),
    ConditionKind(
        "team",
        STALLED,
        "the reconciler cannot progress by itself; a person must act",
        (
            *_stall_reasons(TRUE),
            Reason(CONVERGED, FALSE, "not stalled, nothing in flight"),
            Reason(APPLYING, FALSE, "not stalled, work in flight"),
        ),
    ),
    ConditionKind(
        "team",
        DEGRADED,
        "a controller could not run this pass; the others did (OpenShift's `Degraded`)",
        (
            Reason(INPUT_UNREADABLE, TRUE, "a controller's input (a file) cannot be read"),
            Reason(CONTROLLER_FAILED, TRUE, "a controller raised (a bug)"),
            Reason(AS_EXPECTED, FALSE, "every controller ran"),
        ),
    ),
    ConditionKind(
        "team",
        ORPHANS_FOUND,
        "panes or processes a dead or changed team left behind",
        (
            Reason(ORPHANS_REPORTED, TRUE, "orphans.policy report: listed, nothing killed"),
            Reason(ORPHANS_REAPING, TRUE, "orphans.policy reap (or `orphans --reap`): reaping"),
            Reason(NO_ORPHANS, FALSE, "none found"),
        ),
    ),
    ConditionKind(
        "agent",
        READY,
        "the agent's process runs and is usable",
        (
            Reason(RUNNING, TRUE, "running, its readiness pattern or input box seen"),
            Reason(STARTING, FALSE, "its window is being created or its readiness not yet seen"),
            Reason(EXITED, FALSE, "its process ended (the message has the exit code)"),
            Reason(COMPLETED, FALSE, "exited 0 and its restart_policy does not restart it"),
            Reason(STOPPED, FALSE, "brought down by `team-agent down`"),
            Reason(PAUSED, FALSE, "`paused: true` in the spec"),
            Reason(AWAITING_INPUT, FALSE, "the CLI waits for a person (a trust or login prompt)"),
            Reason(AWAITING_APPROVAL, FALSE, "a tool permission prompt appeared while it worked"),
            Reason(PROVIDER_NOT_INSTALLED, FALSE, "its CLI is not on PATH"),
            Reason(LAUNCH_INVALID, FALSE, "the spec asks the CLI for something it cannot do"),
            Reason(READINESS_TIMEOUT, FALSE, "its readiness pattern never appeared"),
            Reason(PATTERN_TOO_SLOW, FALSE, "its readiness pattern backtracks (api.patterns)"),
            Reason(SESSION_LOST, FALSE, "its session is lost and session.on_lost is hold"),
            Reason(APPLY_FAILED, FALSE, "the action that would make it ready failed this pass"),
            Reason(PANE_TAKEN_OVER, FALSE, "its pane runs a process team-agent did not start"),
        ),
    ),
    ConditionKind(
        "agent",
        CRASH_LOOP_BACK_OFF,
        "the agent keeps exiting and waits out its restart backoff",
        (
            Reason(BACK_OFF, TRUE, "waiting out the restart backoff (the message says until when)"),
            Reason(RUNNING, FALSE, "its process runs"),
            Reason(STARTING, FALSE, "being started"),
            Reason(EXITED, FALSE, "exited and its restart_policy does not restart it"),
            Reason(COMPLETED, FALSE, "exited 0 and its restart_policy does not restart it"),
            Reason(PAUSED, FALSE, "paused in the spec"),
            Reason(PROVIDER_NOT_INSTALLED, FALSE, "not restarted: its CLI is not on PATH"),
            Reason(SESSION_LOST, FALSE, "not started: its session is lost (session.on_lost hold)"),
        ),
    ),
    ConditionKind(
        "agent",
        SESSION_CAPTURED,
        "whether a restart can resume the agent's conversation",
        (
            Reason(CAPTURED, TRUE, "its provider session id is recorded"),
            Reason(CAPTURE_TIMEOUT, FALSE, "no session file appeared in time"),
            Reason(NOT_SUPPORTED, FALSE, "the provider has no session files"),
            Reason(SESSION_LOST, FALSE, "a recorded session disappeared"),
            Reason(CAPTURING, UNKNOWN, "no transcript yet (none exists before a first message)"),
        ),
    ),
    ConditionKind(
        "agent",
        STALLED,
        "its pane has not changed while it has open work (issue #6)",
        (
            Reason(STUCK, TRUE, "pane unchanged with open work; one alert to the leader"),
            Reason(PROGRESSING, FALSE, "output since, or no open work"),
        ),
    ),
    ConditionKind(
        "leader",
        LEADER_BOUND,
        "the reconciler found the person's leader pane and trusts it",
        (
            Reason(BOUND, TRUE, "the leader pane is found"),
            Reason(LEADER_PANE_MISSING, FALSE, "no pane carries the leader UUID"),
            Reason(LEADER_UUID_MISSING, FALSE, "the UUID cannot be derived, or the pane has none"),
            Reason(LEADER_AMBIGUOUS, FALSE, "several panes claim to be the leader"),
            Reason(WRONG_COMMAND, FALSE, "the pane runs something else than a leader CLI"),
            Reason(WRONG_WORKSPACE, FALSE, "it works outside the workspace"),
            Reason(NOT_DECLARED, FALSE, "the team has no leader"),
            Reason(TMUX_UNAVAILABLE, UNKNOWN, "the leader's tmux server cannot be used"),
        ),
    ),
    ConditionKind(
        "leader",
        LEADER_UUID_MISMATCH,
        "the pane that is evidently the leader carries another UUID than the team's",
        (
            Reason(UUID_DIFFERS, TRUE, "the evident leader carries another UUID"),
            Reason(TAKEN_OVER, TRUE, "bound: a takeover chose the other UUID"),
            Reason(UUID_MATCHES, FALSE, "the bound pane carries the expected UUID"),
            Reason(NOT_BOUND, FALSE, "no leader, or none evident"),
            Reason(NOT_DECLARED, FALSE, "the team has no leader"),
            Reason(TMUX_UNAVAILABLE, UNKNOWN, "not observable: the leader's server"),
            Reason(LEADER_UUID_MISSING, UNKNOWN, "not observable: no UUID to compare"),
        ),
    ),
    ConditionKind(
        "leader",
        LEADER_API_ERROR,
        "the kind of provider API failure visible in the leader pane",
        (
            Reason(OVERLOADED, TRUE, "the provider is overloaded (HTTP 529)"),
            Reason(RATE_LIMITED, TRUE, "rate limited (HTTP 429)"),
            Reason(SERVER_ERROR, TRUE, "a provider server error (HTTP 5xx)"),
            Reason(TIMEOUT, TRUE, "a request timed out"),
            Reason(NO_API_ERROR, FALSE, "none visible"),
            Reason(NOT_BOUND, FALSE, "no leader bound"),
            Reason(NOT_DECLARED, FALSE, "the team has no leader"),
            Reason(NOT_BOUND, UNKNOWN, "the leader pane's text was not read"),
        ),
    ),
    ConditionKind(
        "any",
        None,
        "shown by readers (`status`, `wait`), never written to status.json",
        (
            # The pass that set the condition observed the world longer ago than the resync
            # interval and no reconciler holds the workspace (Kubernetes' NodeStatusUnknown).
            Reason(STATUS_STALE, UNKNOWN, "the observation is stale, so it may no longer hold"),
        ),
    ),
)

CONDITION_TYPES: Final = frozenset(kind.type for kind in VOCABULARY if kind.type is not None)
REASONS: Final = frozenset(reason.name for kind in VOCABULARY for reason in kind.reasons)


class Condition(StatusStruct, kw_only=True, frozen=True):
    """One observation about a resource, shaped and validated as `metav1.Condition`.

    Attribute names are the JSON keys (`lastTransitionTime`, not `last_transition_time`)
    so no caller can write the wrong spelling to disk. Frozen: `set_condition` makes a new
    one (`msgspec.structs.replace`) to keep a transition time.
    """

    type: Annotated[str, msgspec.Meta(pattern=CAMEL_CASE_PATTERN, max_length=316)]
    status: ConditionStatus
    reason: Annotated[str, msgspec.Meta(pattern=CAMEL_CASE_PATTERN, max_length=1024)]
    message: Annotated[str, msgspec.Meta(max_length=32768)] = ""
    lastTransitionTime: Timestamp  # the contract's JSON key
    observedGeneration: NonNegativeInt  # the contract's JSON key


ConditionList = list[Condition]
"""Field type for a resource's conditions: at most one condition per type (the struct that
holds one checks it, `reconciler.api.structs.StatusStruct`)."""


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
        merged = msgspec.structs.replace(new, lastTransitionTime=existing.lastTransitionTime)
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

"""What a pass observes about the leader: its server, each pane's UUID evidence, its text.

The leader usually lives on the person's default tmux server, not on the workers'. The
hint (`.team/leader.json`) names that server by socket path; this module observes it with
one `list-panes -a` call (the same format as the workers' snapshot), or reuses the workers'
snapshot when the hint names the workers' server or there is no hint. Nothing else about
the hint is trusted.

For every live pane on that server it records the *evidence* that the pane is a leader,
read from the one process scan of the pass:

* env: `TEAM_AGENT_LEADER_SESSION_UUID` in the environment of the pane's process, if it is
  leader-shaped, or of a leader-shaped descendant (claude, codex, node, python for the
  fake, ...). Shells are not read: a tmux server started from inside a leader hands the
  leader's environment to every shell it starts later, which would make every pane look
  like a leader.
* option: the pane option `@team_agent_leader_uuid`, the fallback where environments
  cannot be read (macOS). `team-agent leader` sets it together with
  `@team_agent_leader_pid` = the pid and create time of the process it exec'd into the
  leader; the option counts only while that very process lives in the pane, so a marker
  left behind when the leader exits vouches for nothing.

The controller (`controllers.leader.plan`) decides from this evidence alone, without I/O. The
engine then captures the text of the pane it would bind, for `LeaderAPIError`: batched
into the `list-panes` call (the pane bound last pass, validated afterwards) so a steady
pass costs one tmux call on the leader's server; one more only when the binding moved.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final

from controllers.leader.identity import (
    ENV_LEADER_PROVIDER,
    ENV_LEADER_UUID,
    ENV_MACHINE_FINGERPRINT,
    FingerprintSource,
    Identity,
    IdentityError,
    resolve_identity,
)
from controllers.leader.records import (
    LeaderHint,
    OwnerRecord,
    owner_uuid,
    read_hint,
    read_owner,
)
from reconciler.api import conditions as C
from reconciler.api.errors import TmuxUnavailable
from reconciler.api.ids import PaneId
from reconciler.api.launch import ENV_TEAM_ID, ENV_WORKSPACE
from reconciler.api.spec import Spec
from reconciler.api.status import BoundVia, LeaderStatus
from reconciler.observe.procs import CREATE_TIME_TOLERANCE, ProcessInfo, ProcessTable
from reconciler.observe.screens import capture_commands, parse_capture
from reconciler.observe.tmux import ServerNotRunning, Tmux, TmuxCommandError, socket_path_for
from reconciler.observe.world import LIST_PANES, RECORD_SEPARATOR, Pane, World, parse_panes

# Programs a leader conversation runs as (process names, as psutil reports them).
LEADER_PROGRAMS: Final = frozenset(
    {"claude", "codex", "gemini", "copilot", "opencode", "node", "bun", "deno"}
)
SHELLS: Final = frozenset(
    {"sh", "bash", "zsh", "fish", "dash", "ksh", "mksh", "tcsh", "csh", "nu", "login"}
)
_PYTHON: Final = re.compile(r"python[0-9.]*")  # the fake provider's leader
# Printed between the pane list and the captured text; no pane record can contain it.
_CAPTURE_MARK: Final = RECORD_SEPARATOR * 2 + "team-agent:capture" + RECORD_SEPARATOR * 2

Environ = Callable[[int], Mapping[str, str] | None]


def leader_shaped(name: str, extra: frozenset[str] = frozenset()) -> bool:
    """Whether a process name is one a leader conversation runs as (never a shell)."""
    base = name.lower().removesuffix(".exe")
    if base in SHELLS:
        return False
    return base in LEADER_PROGRAMS or base in extra or _PYTHON.fullmatch(base) is not None


def never_leader(pane: Pane) -> bool:
    """An agent pane (any team's, by its markers) is never the leader: its environment is
    scrubbed of leader variables, and a leader marker wins over agent markers."""
    return bool(pane.agent) and not pane.leader_uuid


@dataclass(frozen=True)
class LeaderOrigin:
    """The identity inputs `team-agent leader` put in the leader's environment.

    Compared with the team's inputs they say why a leader carries another UUID (the team
    renamed, the workspace moved, another machine fingerprint). Only from an environment
    that could be read; the fingerprint is compared, never printed.
    """

    team_id: str | None = None
    workspace: str | None = None
    fingerprint: str | None = None


@dataclass(frozen=True)
class PaneEvidence:
    """One pane of the leader's server and what in it says "I am a leader"."""

    pane: Pane
    env_uuid: str | None = None  # TEAM_AGENT_LEADER_SESSION_UUID of a leader-shaped process
    env_provider: str | None = None  # TEAM_AGENT_LEADER_PROVIDER next to it
    option_pid: int | None = None  # the live process the pane option vouches for
    process: ProcessInfo | None = None  # the leader process (env carrier, else vouched for)
    # That process, or one below it, runs a leader program; with no UUID evidence, any
    # process in the pane does (a leader without a UUID, or the drifted leader's rival).
    shaped: bool = False
    origin: LeaderOrigin | None = None  # the identity inputs next to env_uuid

    @property
    def uuid(self) -> str | None:
        """The UUID the pane carries: its process's environment first, else the option."""
        if self.env_uuid:
            return self.env_uuid
        if self.option_pid is not None and self.pane.leader_uuid:
            return self.pane.leader_uuid
        return None

    @property
    def via(self) -> BoundVia | None:
        if self.env_uuid:
            return "env"
        return "option" if self.uuid else None


def pane_evidence(
    pane: Pane, table: ProcessTable, *, environ: Environ, extra: frozenset[str] = frozenset()
) -> PaneEvidence:
    """Read one pane's evidence from the process table (environments read lazily)."""
    if pane.dead or pane.pane_pid is None:
        return PaneEvidence(pane=pane)
    root = table.get(pane.pane_pid)
    tree = ([root] if root is not None else []) + list(table.descendants(pane.pane_pid))
    shaped = [p for p in tree if leader_shaped(p.name, extra)]
    carrier: ProcessInfo | None = None
    env_uuid = env_provider = None
    origin: LeaderOrigin | None = None
    for proc in shaped:
        env = environ(proc.pid)
        if env and env.get(ENV_LEADER_UUID):
            carrier, env_uuid = proc, env[ENV_LEADER_UUID]
            env_provider = env.get(ENV_LEADER_PROVIDER)
            origin = LeaderOrigin(
                team_id=env.get(ENV_TEAM_ID),
                workspace=env.get(ENV_WORKSPACE),
                fingerprint=env.get(ENV_MACHINE_FINGERPRINT),
            )
            break
    vouched = _vouched_process(pane, tree)
    process = carrier or vouched
    if process is None:  # no UUID evidence: does the pane run a leader program at all?
        runs_leader = bool(shaped)
    else:
        runs_leader = leader_shaped(process.name, extra) or any(
            leader_shaped(d.name, extra) for d in table.descendants(process.pid)
        )
    return PaneEvidence(
        pane=pane,
        env_uuid=env_uuid,
        env_provider=env_provider,
        option_pid=vouched.pid if vouched is not None else None,
        process=process or (shaped[0] if shaped else None),
        shaped=runs_leader,
        origin=origin,
    )


def _vouched_process(pane: Pane, tree: list[ProcessInfo]) -> ProcessInfo | None:
    """The process `@team_agent_leader_pid` names, if it still lives in this pane."""
    pid_text, _, created_text = pane.leader_pid.partition(":")
    try:
        pid, created = int(pid_text), float(created_text)
    except ValueError:
        return None
    for proc in tree:
        if proc.pid == pid and abs(proc.create_time - created) <= CREATE_TIME_TOLERANCE:
            return proc
    return None


@dataclass(frozen=True)
class LeaderWorld:
    """Everything the leader controller reads; built in the observe step, then frozen."""

    declared: bool  # the spec has `leader:`, or `team-agent leader` / a claim ran for it
    identity: Identity | None = None
    identity_error: str | None = None
    hint: LeaderHint | None = None
    owner: OwnerRecord | None = None
    spec_provider: str | None = None
    socket: str | None = None  # the server observed (absolute socket path)
    running: bool = False
    unreachable: str | None = None  # tmux could not be used on the leader's server
    panes: tuple[PaneEvidence, ...] = ()
    texts: Mapping[PaneId, str] = field(default_factory=dict)

    @property
    def owner_uuid(self) -> str | None:
        """The UUID that owns the team: a claim's (after a takeover), else the expected."""
        if self.identity is None:
            return self.owner.uuid if self.owner is not None else None
        return owner_uuid(self.owner, self.identity.uuid)


def server_socket_path(tmux: Tmux) -> str:
    """The socket path a `Tmux` addresses, resolved as tmux resolves it."""
    if tmux.socket_path:
        return os.path.realpath(tmux.socket_path)
    return socket_path_for(tmux.socket_name)


def observe_leader(
    spec: Spec,
    workspace: Path,
    *,
    state_dir: Path,
    world: World,
    workers: Tmux,
    tmux_at: Callable[[str], Tmux],
    previous: LeaderStatus,
    env: Mapping[str, str],
    fingerprint: Callable[[], tuple[str, FingerprintSource]] | None = None,
) -> tuple[LeaderWorld, Tmux | None]:
    """The leader part of a pass's snapshot, and the tmux server it was found on.

    No tmux call when no leader is declared or the leader shares the workers' server;
    otherwise one `list-panes -a` on the hinted server (with the last bound pane's text).
    """
    hint, owner = read_hint(state_dir), read_owner(state_dir)
    spec_provider = spec.leader.provider if spec.leader is not None else None
    if spec.leader is None and hint is None and owner is None:
        return LeaderWorld(declared=False), None
    base = LeaderWorld(declared=True, hint=hint, owner=owner, spec_provider=spec_provider)
    try:
        given = fingerprint() if fingerprint is not None else None
        identity = resolve_identity(spec.team_id, workspace, env=env, fingerprint=given)
    except IdentityError as err:
        return replace(base, identity_error=str(err)), None
    base = replace(base, identity=identity)
    extra = _extra_programs(spec, hint)

    workers_path = server_socket_path(workers)
    socket = os.path.realpath(hint.socket) if hint is not None else workers_path
    texts: dict[PaneId, str] = {}
    if socket == workers_path:
        panes, running, server = world.panes, world.server_running, workers
    else:
        server = tmux_at(socket)
        guess = _last_bound(previous, socket)
        try:
            running, panes, texts = _list_and_capture(server, guess)
        except (TmuxUnavailable, TmuxCommandError) as err:
            # The person's server, not ours: whatever goes wrong there is an observation
            # (LeaderBound=Unknown), never a failed pass for the workers.
            return replace(base, socket=socket, unreachable=str(err)), None
    evidence = tuple(
        pane_evidence(p, world.processes, environ=world.processes.environ, extra=extra)
        for p in panes
        if not p.dead and not never_leader(p)
    )
    observed = replace(base, socket=socket, running=running, panes=evidence, texts=texts)
    return observed, server if running else None


def capture_leader(leader: LeaderWorld, tmux: Tmux, pane_id: PaneId) -> LeaderWorld:
    """The leader world plus the visible text of `pane_id` (one tmux call)."""
    try:
        lines = tmux.run_sequence(capture_commands(pane_id))
    except (TmuxCommandError, ServerNotRunning, TmuxUnavailable):
        return leader  # gone since the snapshot: no text this pass
    screen, _ = parse_capture("\n".join(lines))
    return replace(leader, texts={**leader.texts, pane_id: screen.joined})


def _extra_programs(spec: Spec, hint: LeaderHint | None) -> frozenset[str]:
    """Program names a `shell` (or custom `command`) leader runs as, from spec and hint."""
    names: set[str] = set()
    if spec.leader is not None and spec.leader.command:
        names.add(os.path.basename(spec.leader.command[0]))
    if hint is not None and hint.command:
        names.add(hint.command)
    return frozenset(n.lower() for n in names if n.lower() not in SHELLS)


def _last_bound(previous: LeaderStatus, socket: str) -> PaneId | None:
    bound = C.is_true(previous.conditions, C.LEADER_BOUND)
    if bound and previous.paneId and previous.socket == socket:
        return PaneId(previous.paneId)
    return None


def _list_and_capture(
    tmux: Tmux, guess: PaneId | None
) -> tuple[bool, tuple[Pane, ...], dict[PaneId, str]]:
    """`list-panes -a` and, in the same invocation, the text of `guess`.

    tmux runs the sequence atomically, so the text belongs to the pane the list shows
    under that id. When `guess` is gone the sequence fails; the list is then read alone.
    """
    listing = list(LIST_PANES)
    if guess is not None:
        try:
            lines = tmux.run_sequence(
                [listing, ["display-message", "-p", _CAPTURE_MARK], *capture_commands(guess)]
            )
        except ServerNotRunning:
            return False, (), {}
        except TmuxCommandError:
            pass  # the guessed pane is gone: list alone below
        else:
            text = "\n".join(lines)
            head, sep, captured = text.partition(_CAPTURE_MARK)
            if sep:
                screen, _ = parse_capture(captured.lstrip("\n"))
                return True, parse_panes(head.split("\n")), {guess: screen.joined}
    try:
        return True, parse_panes(tmux.run(*listing)), {}
    except ServerNotRunning:
        return False, (), {}

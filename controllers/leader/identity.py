"""The team's leader identity: which leader UUID a team expects, and from what.

The leader is the pane where the person talks to their main agent. Predecessor tools
found it by guessing (an "active" pane, a command name, a stored `%N`) and then sent
messages to, or killed, the wrong pane. Here the leader is whatever process carries the
team's leader UUID, and the UUID is derived, not stored:

    sha256("\\0".join([machine_fingerprint, workspace_abspath, os_user, team_id]))[:32]

the formula team-agent 0.2.x used, so leaders started by it keep their identity. Inputs
containing NUL are rejected (NUL is the separator: two different input lists must never
join to the same text). `TEAM_AGENT_LEADER_SESSION_UUID_OVERRIDE` wins when set, for the
rare case a person wants a fixed UUID (a leader moved to another machine).

Inputs, as 0.2.x read them so existing UUIDs stay stable:
- machine fingerprint: `TEAM_AGENT_MACHINE_FINGERPRINT`, else a stable machine id. The
  machine id (`/etc/machine-id`, the D-Bus copy, macOS's IOPlatformUUID) is
  "confidential" per machine-id(5), so it is never used raw: the fingerprint is an
  application-keyed HMAC of it, as machine-id(5) recommends. Only when no machine id
  exists at all does the host name stand in (source `hostname`, shown by `identity`).
- workspace: the absolute, symlink-resolved path.
- OS user: `$USER`, else `$USERNAME`, else the password database's name for our uid.
- team id: the spec's `team.id` (default `team.name`).

Reading the environment and the machine id is I/O, so it happens in the engine's observe
step and in CLI verbs; `leader_uuid` itself is a pure function.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import pwd
import socket
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from reconciler.api.errors import TeamAgentError

ENV_LEADER_UUID: Final = "TEAM_AGENT_LEADER_SESSION_UUID"
ENV_LEADER_UUID_OVERRIDE: Final = "TEAM_AGENT_LEADER_SESSION_UUID_OVERRIDE"
ENV_LEADER_PROVIDER: Final = "TEAM_AGENT_LEADER_PROVIDER"
ENV_MACHINE_FINGERPRINT: Final = "TEAM_AGENT_MACHINE_FINGERPRINT"

UUID_LENGTH: Final = 32
SEPARATOR: Final = "\0"
MACHINE_ID_FILES: Final = ("/etc/machine-id", "/var/lib/dbus/machine-id")
_FINGERPRINT_KEY: Final = b"team-agent machine fingerprint v1"

FingerprintSource = Literal["env", "machine-id", "hostname"]


class IdentityError(TeamAgentError):
    """The leader UUID cannot be derived (an input holds NUL)."""


@dataclass(frozen=True)
class IdentityInputs:
    """The four inputs of the leader UUID, and where the fingerprint came from."""

    machine_fingerprint: str
    workspace: str  # absolute, resolved
    os_user: str
    team_id: str
    fingerprint_source: FingerprintSource = "env"


@dataclass(frozen=True)
class Identity:
    """The team's expected leader UUID and how it was obtained."""

    inputs: IdentityInputs
    uuid: str
    overridden: bool  # TEAM_AGENT_LEADER_SESSION_UUID_OVERRIDE was set


def short_uuid(value: str) -> str:
    """The first 8 characters, for messages (the full value is in `status.json`)."""
    return value[:8] + "…" if len(value) > 8 else value


def leader_uuid(inputs: IdentityInputs) -> str:
    """The 0.2.x formula; raises `IdentityError` when an input contains NUL."""
    parts = (inputs.machine_fingerprint, inputs.workspace, inputs.os_user, inputs.team_id)
    names = ("machine fingerprint", "workspace", "OS user", "team id")
    for name, part in zip(names, parts, strict=True):
        if SEPARATOR in part:
            raise IdentityError(f"the {name} contains a NUL character; no leader UUID derives")
    return hashlib.sha256(SEPARATOR.join(parts).encode("utf-8")).hexdigest()[:UUID_LENGTH]


def resolve_identity(
    team_id: str,
    workspace: Path,
    *,
    env: Mapping[str, str],
    fingerprint: tuple[str, FingerprintSource] | None = None,
) -> Identity:
    """The expected identity in `env` (I/O: reads the machine id unless `fingerprint`)."""
    value, source = fingerprint or machine_fingerprint(env)
    inputs = IdentityInputs(
        machine_fingerprint=value,
        workspace=str(Path(workspace).resolve()),
        os_user=os_user(env),
        team_id=team_id,
        fingerprint_source=source,
    )
    derived = leader_uuid(inputs)  # validates the inputs even when overridden
    override = env.get(ENV_LEADER_UUID_OVERRIDE, "").strip()
    if override:
        return Identity(inputs=inputs, uuid=override, overridden=True)
    return Identity(inputs=inputs, uuid=derived, overridden=False)


def os_user(env: Mapping[str, str]) -> str:
    """`$USER`, else `$USERNAME` (as 0.2.x), else our uid's name."""
    for name in ("USER", "USERNAME"):
        value = env.get(name, "")
        if value:
            return value
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


def machine_fingerprint(env: Mapping[str, str]) -> tuple[str, FingerprintSource]:
    """`TEAM_AGENT_MACHINE_FINGERPRINT`, else the keyed hash of the machine id."""
    given = env.get(ENV_MACHINE_FINGERPRINT, "")
    if given:
        return given, "env"
    machine_id = read_machine_id()
    if machine_id:
        digest = hmac.new(_FINGERPRINT_KEY, machine_id.encode(), hashlib.sha256).hexdigest()
        return digest[:UUID_LENGTH], "machine-id"
    return socket.gethostname(), "hostname"


def read_machine_id() -> str | None:
    """The machine's stable id: systemd/D-Bus files on Linux, IOPlatformUUID on macOS."""
    for candidate in MACHINE_ID_FILES:
        try:
            text = Path(candidate).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            continue
        if text:
            return text
    return _macos_platform_uuid()


def _macos_platform_uuid() -> str | None:
    if not Path("/usr/sbin/ioreg").exists():
        return None
    try:
        out = subprocess.run(
            ["/usr/sbin/ioreg", "-rd1", "-c", "IOPlatformExpertDevice"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in out.splitlines():
        if "IOPlatformUUID" in line:
            return line.rsplit("=", 1)[-1].strip().strip('"') or None
    return None

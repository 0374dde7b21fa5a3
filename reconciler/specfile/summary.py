"""What the verbs that only read need from the spec, without parsing it again.

`status`, `wait`, `inbox`, `approvals`, `results` and `report` need five facts from the
spec: the workspace, the team id, the declared agents, the resync interval and the tmux
socket. Parsing the spec for them (ruamel's round-trip loader, the pydantic models) costs
about 60 ms at every start, on calls agents make every turn. So a verb that did parse it
records those facts in a summary, keyed by the spec's path and the SHA-256 of its text,
and the next verb reads the summary when the text is still the same (the way Python
keeps bytecode beside a source file it checks). Anything else a verb needs (the agents'
settings, a validation error) still comes from the full load.

The summaries live in the user's cache folder (`$XDG_CACHE_HOME/team-agent/specs`, else
`~/.cache/...`; 0700, files 0600), one small file per spec path; they hold no value of
the spec beyond those five facts (never its text, never an `env:` value). Writing one is
best effort: a cache that cannot be written only means the next verb parses again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from reconciler.specfile.load import LoadedSpec

FORMAT = 1
KEEP = 256  # summaries kept; past twice as many, the oldest half goes


class SpecSummary(NamedTuple):
    """The facts the reading verbs need, as the full load found them."""

    path: str  # the spec file, absolute
    digest: str  # SHA-256 of its text: the summary holds for exactly that text
    workspace: str  # absolute and resolved
    team_id: str
    members: tuple[str, ...]  # the declared agents' ids
    resync_interval_sec: float
    tmux_socket: str | None


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def summarize(loaded: LoadedSpec) -> SpecSummary:
    spec = loaded.spec
    return SpecSummary(
        path=str(loaded.path),
        digest=loaded.source_digest,
        workspace=str(loaded.workspace),
        team_id=spec.team_id,
        members=tuple(agent.id for agent in spec.agents),
        resync_interval_sec=spec.runtime.resync_interval_sec,
        tmux_socket=spec.runtime.tmux_socket,
    )


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "team-agent" / "specs"


def _file_for(path: Path) -> Path:
    return cache_dir() / f"{zlib.crc32(str(path).encode('utf-8', 'surrogateescape')):08x}.json"


def read_summary(path: Path) -> SpecSummary | None:
    """The summary of the spec at `path` (absolute) if its text is the one summarised."""
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(_file_for(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    try:
        found = SpecSummary(
            path=str(data["path"]),
            digest=str(data["digest"]),
            workspace=str(data["workspace"]),
            team_id=str(data["teamId"]),
            members=tuple(str(m) for m in data["members"]),
            resync_interval_sec=float(data["resyncIntervalSec"]),
            tmux_socket=None if data["tmuxSocket"] is None else str(data["tmuxSocket"]),
        )
    except (KeyError, TypeError, ValueError):
        return None
    if found.path != str(path) or found.digest != text_digest(text):
        return None
    if not os.path.isdir(found.workspace):  # moved or deleted since: let the load say so
        return None
    return found


def write_summary(summary: SpecSummary) -> None:
    """Record `summary` for the next verb (best effort: errors are ignored)."""
    folder = cache_dir()
    data = {
        "format": FORMAT,
        "path": summary.path,
        "digest": summary.digest,
        "workspace": summary.workspace,
        "teamId": summary.team_id,
        "members": list(summary.members),
        "resyncIntervalSec": summary.resync_interval_sec,
        "tmuxSocket": summary.tmux_socket,
    }
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        target = _file_for(Path(summary.path))
        partial = target.with_name(f".{target.name}.{os.getpid()}")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out)
        os.replace(partial, target)
        _prune(folder)


def _prune(folder: Path) -> None:
    """Keep the cache small: past twice KEEP summaries, drop the oldest half."""
    entries = list(os.scandir(folder))
    if len(entries) <= 2 * KEEP:
        return
    entries.sort(key=lambda e: e.stat().st_mtime if e.is_file() else 0.0)
    for entry in entries[: len(entries) - KEEP]:
        with contextlib.suppress(OSError):
            os.unlink(entry.path)

"""Where each CLI keeps its session transcripts: path arithmetic, no I/O but one read.

The observer (`controllers.sessions.observe`) stats and reads these places; the stubs in
`tests/stubs/` write to them. Both use these functions, so a wrong guess about a real CLI
is wrong in one place (and `docs/providers.md` says how sure each line is). The one
read: Gemini's folder name for a project comes from its registry (`gemini_project_slug`).

`env` is the environment the agent runs with (the reconciler's own, overlaid with the
spec's `env`), because that is what decides `HOME`, `CLAUDE_CONFIG_DIR`, `CODEX_HOME`, ...
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Final

CLAUDE: Final = "claude"
CODEX: Final = "codex"
GEMINI: Final = "gemini"
COPILOT: Final = "copilot"
OPENCODE: Final = "opencode"

CLAUDE_MAX_DIR_NAME = 200  # longer encoded folders are cut and suffixed with a hash
CODEX_ROLLOUT_RE = re.compile(
    r"^rollout-(?P<stamp>\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2})-(?P<id>[0-9A-Za-z-]+)\.jsonl$"
)
CODEX_STAMP_FORMAT = "%Y-%m-%dT%H-%M-%S"


def home_of(env: Mapping[str, str]) -> Path:
    return Path(env.get("HOME") or "/")


# --- Claude Code ---------------------------------------------------------------------


def claude_config_dir(env: Mapping[str, str]) -> Path:
    """`$CLAUDE_CONFIG_DIR`, else `~/.claude`."""
    configured = env.get("CLAUDE_CONFIG_DIR")
    return Path(configured) if configured else home_of(env) / ".claude"


def claude_state_file(env: Mapping[str, str]) -> Path:
    """`.claude.json` (folder trust lives there): in `$CLAUDE_CONFIG_DIR`, else in `~`."""
    configured = env.get("CLAUDE_CONFIG_DIR")
    return (Path(configured) if configured else home_of(env)) / ".claude.json"


def js_string_hash(text: str) -> str:
    """Java/JavaScript `hashCode` of `text` (UTF-16 units), absolute value in base 36."""
    value = 0
    data = text.encode("utf-16-le")
    for i in range(0, len(data), 2):
        code = data[i] | (data[i + 1] << 8)
        value = (value * 31 + code) & 0xFFFFFFFF
    if value >= 0x80000000:
        value -= 0x100000000
    number = abs(value)
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out


def claude_project_name(cwd: str) -> str:
    """The project folder name: every character outside `[A-Za-z0-9]` becomes `-`.

    Past 200 characters the name is cut and a hash of the cwd appended (the hash function
    is our best reading of public reports; the observer falls back to a search by id).
    """
    name = re.sub(r"[^A-Za-z0-9]", "-", cwd)
    if len(name) <= CLAUDE_MAX_DIR_NAME:
        return name
    return f"{name[:CLAUDE_MAX_DIR_NAME]}-{js_string_hash(cwd)}"


def claude_has_conversation(path: Path) -> bool:
    """The transcript holds a user message (Claude 2.1.197 writes `ai-title`, `mode` and
    `permission-mode` lines first; `--resume` of a file without a message fails "No
    conversation found with session ID", and `--session-id` of it "already in use")."""
    try:
        with path.open("rb") as handle:
            return any(_CLAUDE_USER.search(line) for line in handle)
    except OSError:
        return False


_CLAUDE_USER = re.compile(rb'"type"\s*:\s*"user"')  # a key: quotes inside values are escaped


def claude_transcript(env: Mapping[str, str], cwd: str, session_id: str) -> Path:
    """`<config>/projects/<encoded cwd>/<id>.jsonl`."""
    return claude_config_dir(env) / "projects" / claude_project_name(cwd) / f"{session_id}.jsonl"


# --- Codex CLI -----------------------------------------------------------------------


def codex_home(env: Mapping[str, str]) -> Path:
    """`$CODEX_HOME`, else `~/.codex`."""
    configured = env.get("CODEX_HOME")
    return Path(configured) if configured else home_of(env) / ".codex"


def codex_sessions_root(env: Mapping[str, str]) -> Path:
    return codex_home(env) / "sessions"


def codex_rollout_name(started: datetime, session_id: str) -> str:
    """`rollout-YYYY-MM-DDThh-mm-ss-<id>.jsonl` (local time of the session start)."""
    return f"rollout-{started.strftime(CODEX_STAMP_FORMAT)}-{session_id}.jsonl"


def codex_rollout_started(name: str) -> datetime | None:
    """The local start time written in a rollout's file name, or None for other files."""
    match = CODEX_ROLLOUT_RE.match(name)
    if match is None:
        return None
    try:
        return datetime.strptime(match.group("stamp"), CODEX_STAMP_FORMAT)
    except ValueError:
        return None


# --- Gemini CLI ----------------------------------------------------------------------


GEMINI_UNREGISTERED = ".unregistered"  # no project is ever given this slug (a leading dot)


def gemini_dir(env: Mapping[str, str]) -> Path:
    """`$GEMINI_CLI_HOME/.gemini`, else `~/.gemini` (0.61.0's `homedir()`)."""
    configured = env.get("GEMINI_CLI_HOME")
    return (Path(configured) if configured else home_of(env)) / ".gemini"


def gemini_projects_file(env: Mapping[str, str]) -> Path:
    """The project registry: `{"projects": {"<project root>": "<slug>"}}`."""
    return gemini_dir(env) / "projects.json"


def gemini_slug_in(registry: str, cwd: str) -> str | None:
    """The slug `registry` (the text of `projects.json`) gives the project root `cwd`."""
    try:
        data = json.loads(registry)
    except ValueError:
        return None
    projects = data.get("projects") if isinstance(data, dict) else None
    slug = projects.get(cwd) if isinstance(projects, dict) else None
    return slug if isinstance(slug, str) and slug and "/" not in slug else None


def gemini_project_slug(env: Mapping[str, str], cwd: str) -> str | None:
    """The folder name Gemini keeps `cwd`'s chats under, or None while it has none.

    Gemini 0.61.0 registers each project root in `projects.json` at startup, with a slug
    of the folder's base name (`ws`, then `ws-1` for another folder of the same name), and
    migrates the older sha256-named folder into it. The slug cannot be computed, only read:
    this is the one function of this module that reads a file. The root is the CLI's
    resolved cwd, so the real path is tried after the given one.
    """
    try:
        registry = gemini_projects_file(env).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    for root in dict.fromkeys((cwd, os.path.realpath(cwd))):
        slug = gemini_slug_in(registry, root)
        if slug is not None:
            return slug
    return None


def gemini_chats_dir(env: Mapping[str, str], cwd: str) -> Path:
    """`~/.gemini/tmp/<slug>/chats`; before Gemini registered `cwd` (no slug yet), a
    folder that holds no chats (`tmp/.unregistered/`), so nothing is found there."""
    slug = gemini_project_slug(env, cwd)
    return gemini_dir(env) / "tmp" / (slug or GEMINI_UNREGISTERED) / "chats"


def gemini_chat_glob(session_id: str) -> str:
    """`session-<YYYY-MM-DDTHH-MM>-<first 8 of id>.jsonl` (written at startup, 0.61.0):
    the stamp is the start minute, so the name is matched and the id read from the file's
    first record."""
    return f"session-*-{session_id[:8]}.json*"


# --- GitHub Copilot CLI --------------------------------------------------------------


def copilot_home(env: Mapping[str, str]) -> Path:
    """`$COPILOT_HOME`, else `~/.copilot`."""
    configured = env.get("COPILOT_HOME")
    return Path(configured) if configured else home_of(env) / ".copilot"


def copilot_events(env: Mapping[str, str], session_id: str) -> Path:
    """`session-state/<id>/events.jsonl`."""
    return copilot_home(env) / "session-state" / session_id / "events.jsonl"


# --- OpenCode ------------------------------------------------------------------------


def opencode_data_dir(env: Mapping[str, str]) -> Path:
    """`$XDG_DATA_HOME/opencode`, else `~/.local/share/opencode`."""
    data = env.get("XDG_DATA_HOME")
    return (Path(data) if data else home_of(env) / ".local" / "share") / "opencode"


def opencode_db(env: Mapping[str, str]) -> Path:
    """The SQLite database of every session (1.18: table `session`, one row per id, written
    by `opencode import` or at the first message; messages in `message`, parts in `part`)."""
    return opencode_data_dir(env) / "opencode.db"


def opencode_storage(env: Mapping[str, str]) -> Path:
    """`$XDG_DATA_HOME/opencode/storage`, else `~/.local/share/opencode/storage` (the JSON
    files of versions before the SQLite database)."""
    data = env.get("XDG_DATA_HOME")
    base = Path(data) if data else home_of(env) / ".local" / "share"
    return base / "opencode" / "storage"

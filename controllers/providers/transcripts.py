"""Where each CLI keeps its session transcripts: pure path arithmetic, no I/O.

The observer (`controllers.session_observe`) stats and reads these places; the stubs in
`tests/stubs/` write to them. Both use these functions, so a wrong guess about a real CLI
is wrong in one place (and `docs/providers.md` says how sure each line is).

`env` is the environment the agent runs with (the reconciler's own, overlaid with the
spec's `env`), because that is what decides `HOME`, `CLAUDE_CONFIG_DIR`, `CODEX_HOME`, ...
"""

from __future__ import annotations

import hashlib
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


def codex_day_dir(env: Mapping[str, str], day: datetime) -> Path:
    """`sessions/YYYY/MM/DD` for the local date of `day`."""
    return codex_sessions_root(env) / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}"


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


def gemini_project_hash(cwd: str) -> str:
    """sha256 of the project root (the hash-named layout; newer builds migrate to slugs)."""
    return hashlib.sha256(cwd.encode()).hexdigest()


def gemini_chats_dir(env: Mapping[str, str], cwd: str) -> Path:
    """`~/.gemini/tmp/<project hash>/chats`."""
    return home_of(env) / ".gemini" / "tmp" / gemini_project_hash(cwd) / "chats"


def gemini_chat_glob(session_id: str) -> str:
    """`session-<YYYY-MM-DDTHH-MM>-<first 8 of id>.json[l]`: the stamp is not predictable."""
    return f"session-*-{session_id[:8]}.json*"


def gemini_chat_name(started: datetime, session_id: str) -> str:
    return f"session-{started:%Y-%m-%dT%H-%M}-{session_id[:8]}.jsonl"


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

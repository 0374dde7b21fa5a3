"""What a pass observed about the agent CLIs outside tmux, as plain data for the plan.

The observe step (`controllers.sessions.observe`) fills it before any controller runs:
which session transcripts exist on disk, and whether the person opted in to answering the
folder-trust dialog of this workspace. Controllers read it like the world snapshot and
never touch the file system themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TranscriptSeen:
    """One agent's session transcript as observed this pass.

    `exists` False means the file was looked for and is not there. An agent absent from
    `ProviderView.transcripts` was not looked at this pass (it runs, captured, unchanged).
    `held`: the file is there but holds no conversation yet (Claude writes metadata lines
    first and the first message ~0.3 s after Enter; measured on 2.1.197): not resumable,
    and the CLI refuses the id for a new session too.
    """

    session_id: str
    path: str
    exists: bool
    held: bool = False


@dataclass(frozen=True)
class ProviderView:
    """The pass's observations about provider CLIs (see the module docstring)."""

    transcripts: Mapping[str, TranscriptSeen] = field(default_factory=dict)
    auto_trust: bool = False  # TEAM_AGENT_AUTO_TRUST_OWN_WORKSPACE=1 or the deprecated spec field


EMPTY_VIEW = ProviderView()

"""What the real-CLI suite needs to know about each CLI, as data (one row per CLI).

Everything here was measured on the pinned versions (`tests/realcli/package.json`); the
screens behind it are the fixtures in `tests/fixtures/screens/<cli>/<version>/`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RealCli:
    provider: str
    approval_tool: str  # the tool name `approvals` reports (and `auto_approve` takes)
    trust_in_git_only: bool  # the folder-trust dialog shows only inside a git repository
    trust_dialog: str | None  # the dialog's name in the AwaitingInput message (None: none)
    ready_sec: float = 60.0  # how long create -> Ready may take on a slow CI machine
    resumes: bool = True  # a restart resumes the same conversation


CLIS: dict[str, RealCli] = {
    "claude": RealCli(
        "claude", approval_tool="Bash", trust_in_git_only=False, trust_dialog="folder trust"
    ),
    "codex": RealCli(
        "codex", approval_tool="exec_command", trust_in_git_only=True, trust_dialog="folder trust"
    ),
    "gemini": RealCli(
        "gemini", approval_tool="Shell", trust_in_git_only=False, trust_dialog="folder trust"
    ),
    "copilot": RealCli(
        "copilot", approval_tool="bash", trust_in_git_only=False, trust_dialog="folder trust"
    ),
    "opencode": RealCli(
        "opencode", approval_tool="bash", trust_in_git_only=False, trust_dialog=None
    ),
}

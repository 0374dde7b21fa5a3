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
    # team-agent answers the trust dialog on opt-in (False: the dialog shows no folder path
    # team-agent can check, so even opted in a person answers it in the pane)
    trust_answerable: bool = True


CLIS: dict[str, RealCli] = {
    # 2.1.197: the trust dialog comes with and without git, before the box; the approval
    # header is ` Bash command` (tool `Bash`). create -> Ready ~0.7 s.
    "claude": RealCli(
        "claude", approval_tool="Bash", trust_in_git_only=False, trust_dialog="folder trust"
    ),
    "codex": RealCli(
        "codex", approval_tool="exec_command", trust_in_git_only=True, trust_dialog="folder trust"
    ),
    # 0.61.0: `Allow execution of [Shell]?` (the model's tool is run_shell_command). Folder
    # trust with or without git; it names the folder (`Trust folder (ws)`), not its path,
    # so it is never answered; about 3.5 s to Ready (1 s of it settling for that dialog).
    "gemini": RealCli(
        "gemini",
        approval_tool="Shell",
        trust_in_git_only=False,
        trust_dialog="folder trust",
        trust_answerable=False,
    ),
    # 1.0.102: "Do you want to run this command?" names no tool; it is the model's `bash`
    # (reported via tool_names). Folder trust with or without git; about 2.5 s to Ready.
    "copilot": RealCli(
        "copilot", approval_tool="bash", trust_in_git_only=False, trust_dialog="folder trust"
    ),
    # No trust dialog at all. Start: `opencode import` (2-4 s) then the TUI, 5-25 s to its
    # box (a fresh HOME first installs @opencode-ai/plugin from the npm registry).
    "opencode": RealCli(
        "opencode",
        approval_tool="bash",
        trust_in_git_only=False,
        trust_dialog=None,
        ready_sec=90.0,
    ),
}

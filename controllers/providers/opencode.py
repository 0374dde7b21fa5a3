"""OpenCode (`opencode`): launch flags, its input box and permission prompt, sessions.

Measured on `opencode-ai` 1.18.33 (screens in tests/fixtures/screens/opencode/1.18.33/,
facts in docs/providers.md):

* **The box** is a frame of `┃` rows: an empty top row, the text rows, an empty row, the
  agent row (`┃  Build · <model>`) and `╹▀▀▀`. It is centred on the home screen and at the
  bottom left of a session; the cursor sits in it after the typed text (the placeholder,
  `Ask anything… "…"`, after the cursor). `┃` also frames echoed user turns, tool output,
  error blocks and toasts, so the box is the nearest empty `┃` row at or above the cursor,
  and the rows below it lose their `┃` (`continuation`). No trust or first-run dialog
  exists: the box is readiness. It takes 5-25 s to come (a fresh HOME first installs
  `@opencode-ai/plugin` from the npm registry); keys typed before it are lost.
* **Busy**: the footer shows `esc interrupt` while a reply streams or a retry waits
  (`mock error 429 [retrying in 2s attempt #1] … esc interrupt`). Text typed while busy
  stays in the box and Enter queues it (`QUEUED`, sent after the reply); team-agent does
  not rely on that queue: a busy screen defers delivery until the reply is done.
* **Paste**: a bracketed paste of 3+ lines shows `[Pasted ~N lines]`; Enter submits it
  intact (OpenCode appends one space).
* **Permission prompt** (a tool set to `ask` in opencode.json): `△ Permission required` /
  `# Shell command` / `$ <command>` / `Allow once   Allow always   Reject … enter
  confirm`, with "Allow once" selected: Enter allows once. No box is drawn and the cursor
  is parked on the footer, under the buttons row (`box_stop`). The `△`, `…` and `·`
  glyphs can be drawn as blanks (after keys typed during start-up), so nothing here needs
  them. The screen calls the `bash` tool "Shell command"; approvals report `bash`.
* **Permissions**: no flag but `--auto` (run every tool without asking, whatever the
  config says). Portable `trusted` is `--auto`; `ask` and `restricted` add nothing and
  OpenCode's own `permission` config decides.
* **Sessions are pre-assigned**: OpenCode takes no id for a new session, but
  `opencode import <file>` creates one with the id in the file (`ses_…`; ids must start
  with `ses`; importing an existing id again changes nothing) and `--session <id>` then
  opens it; the first message goes into it. The pane runs that import right before the
  CLI on a fresh start (`SessionSupport.new_prepare`), so the session row in
  `~/.local/share/opencode/opencode.db` exists from the start and can only be this
  agent's. A restart resumes with `--session <id>` (after `kill -9` too: no lock, no
  "in use" question) and never repeats `--prompt`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from controllers.providers import transcripts
from controllers.providers.base import (
    NOW_MS_PLACEHOLDER,
    SESSION_ID_PLACEHOLDER,
    Approval,
    InputProfile,
    ProviderProfile,
    SessionSupport,
    agent_cwd,
    command_prefix,
    launch_config,
    no_system_prompt,
)
from reconciler.api.launch import LaunchConfig, LaunchContext
from reconciler.api.spec import Agent

MEASURED_VERSION = "1.18.33"
SESSION_PREFIX = "ses_"  # OpenCode refuses ids that do not start with `ses`

# Portable permission modes -> OpenCode flags. `--auto` is its only permission flag.
PERMISSION_FLAGS: dict[str, tuple[str, ...]] = {
    "trusted": ("--auto",),
    "ask": (),  # OpenCode's own `permission` config decides
    "restricted": (),  # idem: set "permission": "ask" (or "deny") in opencode.json
}

OPENCODE_INPUT = InputProfile(
    # The box's empty top row; typed text follows on the rows below, each behind `┃`.
    prompt=r"^[ \t]*┃[ \t]*$",
    continuation=r"^[ \t]*┃",
    # The permission prompt's buttons: the cursor is parked under them, never in a box.
    box_stop=r"Allow once\s+Allow always|enter confirm",
    box_rows=8,  # the empty top row is at most a few rows above the cursor
    # Without a cursor (bare text): the agent row, `╹▀▀` and the footer are decoration.
    chrome=r"^[ \t]*┃[ \t]+Build\b|^[ \t]*╹▀|ctrl\+p commands",
    busy=r"esc interrupt",
    paste_placeholder=r"\[Pasted ~\d+ lines\]",
    approvals=(
        Approval(
            # `△ Permission required`, then the tool's heading (`# Shell command`).
            pattern=r"Permission required[^\n]*\n[^\n]*?# (?P<tool>\S+(?: \S+)*)",
            approve_keys=("Enter",),  # "Allow once" is selected when the prompt opens
            tool_names=(("Shell command", "bash"),),
        ),
    ),
)


def import_file(agent: Agent, cwd: str) -> str:
    """What `opencode import` reads to create the agent's session before the CLI starts:
    an empty session with the pre-assigned id (`{id}`) and the start time (`{now_ms}`)."""
    info = {
        "id": SESSION_ID_PLACEHOLDER,
        "slug": agent.id,
        "projectID": "global",  # replaced by OpenCode with the folder's project on import
        "directory": cwd,
        "title": f"team-agent {agent.id}",
        "version": MEASURED_VERSION,
        "time": {"created": 0, "updated": 0},
    }
    text = json.dumps({"info": info, "messages": []})
    return text.replace(
        '"created": 0, "updated": 0',
        f'"created": {NOW_MS_PLACEHOLDER}, "updated": {NOW_MS_PLACEHOLDER}',
    )


@dataclass(frozen=True)
class OpenCodeProvider:
    """`opencode --session ID --model provider/model [--auto] ...args [--prompt text]`."""

    name: str = "opencode"

    def _parts(self, agent: Agent) -> tuple[tuple[str, ...], list[str]]:
        no_system_prompt(agent, self.name, "use an agent file or opencode.json")
        options: list[str] = []
        if agent.model:
            options += ["--model", agent.model]
        if agent.permission_mode:
            if agent.permission_mode not in PERMISSION_FLAGS:
                raise ValueError(f"opencode has no permission mode {agent.permission_mode!r}")
            options += PERMISSION_FLAGS[agent.permission_mode]
        options += agent.args
        return command_prefix(agent, self.name), options

    def launch(self, agent: Agent, ctx: LaunchContext) -> LaunchConfig:
        prefix, options = self._parts(agent)
        last = ["--prompt", agent.initial_prompt] if agent.initial_prompt else []
        # No readiness pattern: the input box found at the cursor is readiness.
        return launch_config(self.name, agent, ctx, (*prefix, *options, *last), readiness=None)

    def profile(self, agent: Agent, ctx: LaunchContext, launch: LaunchConfig) -> ProviderProfile:
        prefix, options = self._parts(agent)
        return ProviderProfile(
            sessions=SessionSupport(
                layout=transcripts.OPENCODE,
                attribution="preassigned",
                id_prefix=SESSION_PREFIX,
                new_args=("--session", SESSION_ID_PLACEHOLDER),
                resume_args=("--session", SESSION_ID_PLACEHOLDER),
                resume_base=(*prefix, *options),
                insert_at=len(prefix),
                new_prepare=(*prefix, "import", "{file}"),
                new_prepare_file=import_file(agent, agent_cwd(agent, ctx)),
            ),
        )

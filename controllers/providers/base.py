"""What a provider adapter is: the knowledge of one agent CLI, as data.

A provider turns a spec agent into a `LaunchConfig` (argv, env, cwd) and a
`ProviderProfile`: the first-run dialogs the CLI may show before its prompt, and how its
sessions are attributed, found again and resumed. Controllers plan from that data; none of
them knows a CLI by name.

The agents controller hashes the `LaunchConfig` to decide "recreate or leave alone", so
everything that should cause a recreate when it changes must be in it, and nothing else:
the session part of the argv (`--session-id X`, `--resume X`, `codex resume X`) is computed
from `SessionSupport` at launch time, carried by the start action beside the launch
configuration, and never changes the hash. `shell` and `fake` show the minimal shape (an
empty profile).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from reconciler.api.launch import (
    ENV_AGENT_ID,
    ENV_TEAM_ID,
    ENV_WORKSPACE,
    LaunchConfig,
    LaunchContext,
)
from reconciler.api.spec import Agent

SESSION_ID_PLACEHOLDER = "{id}"
NOW_MS_PLACEHOLDER = "{now_ms}"


@dataclass(frozen=True)
class Dialog:
    """A screen a CLI may show before its prompt (folder trust, login, update).

    `pattern` identifies it in the pane text. Only a `trust` dialog is ever answered, and
    only when `path_pattern` finds the folder it asks about, `accept_when` confirms the
    "yes" choice is the one the keys pick, and the person opted in; the keys sent are
    `accept_keys`, nothing else.
    """

    name: str
    pattern: str
    trust: bool = False
    path_pattern: str | None = None  # regex with a `path` group
    accept_when: str | None = None
    accept_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Approval:
    """A tool permission prompt the CLI shows while it works ("Allow tool Bash? [y/n]").

    `pattern` finds it on screen, its `tool` group names the tool. It is answered only
    for the tools the spec names in `auto_approve`, with `approve_keys`; nothing else is
    ever typed into it.
    """

    pattern: str  # regex with a `tool` group
    approve_keys: tuple[str, ...]
    # The tool's name for a label the screen shows instead (OpenCode draws its `bash` tool
    # as "# Shell command"): `auto_approve` and `approvals` use the tool's name.
    tool_names: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class InputProfile:
    """How a CLI takes a message: where its input box is and what "busy" looks like.

    `prompt` matches the input box's first row (its end, or its `input` group, is where
    typed text begins). The box is found from the terminal cursor, which the real CLIs
    keep in it: the nearest `prompt` row at or above the cursor, at most `box_rows` up and
    never past a `box_stop` row (a rule or frame that closes the box from above); typed
    text runs from there to the cursor, each following row without its `continuation`
    frame. Without a cursor (bare text) the last `prompt` match and the rest of the screen
    count, less `chrome` rows and the `idle_text` placeholder.
    `settle_sec`: how long the box must stay on screen before the first Ready of a
    process, for a CLI that draws its prompt and then, a moment later, a first-run dialog
    over it (measured per CLI); 0 for a CLI that draws its dialogs first.
    `startup_flash` matches (from the screen's first row) a screen that shows a box the
    CLI is not yet ready to use: Gemini draws a bare box with nothing above it before its
    header, a dialog or a resumed conversation replaces it, for 0.4 s to over a second
    (measured); such a screen never makes a process Ready, however long it stays.
    `submit_delay_sec`: the pause between seeing a pasted message in the box and pressing
    `submit_keys`, for a CLI that reads an Enter arriving right after input as a newline
    (Gemini: within 30 ms of the paste; measured).
    `busy` marks a CLI that works on something even if an input box is drawn (Claude's
    "esc to interrupt"). `paste_placeholder` is what a long paste collapses into in the
    input box (Claude: "[Pasted text #1 +500 lines]"), accepted as proof the paste arrived.
    """

    prompt: str  # regex for the box's first row, optionally with an `input` group
    chrome: str | None = None  # rows that are decoration, not input (without a cursor)
    idle_text: str | None = None  # placeholder an empty box shows (without a cursor)
    busy: str | None = None
    # A regex on the pane title that marks the CLI busy (Codex 0.171 draws a spinner
    # there for a whole turn, while its screen looks idle as a reply streams).
    busy_title: str | None = None
    paste_placeholder: str | None = None
    approvals: tuple[Approval, ...] = ()
    submit_keys: tuple[str, ...] = ("Enter",)
    box_stop: str | None = None
    box_rows: int = 40
    continuation: str | None = None
    settle_sec: float = 0.0
    startup_flash: str | None = None
    submit_delay_sec: float = 0.0


Attribution = Literal["preassigned", "tagged"]


@dataclass(frozen=True)
class SessionSupport:
    """How a CLI's session is tied to one agent, found on disk and resumed.

    * `preassigned`: team-agent chooses the id and passes it (`new_args`), so the transcript
      is the one file named after that id; nothing else can be mistaken for it.
    * `tagged`: the CLI chooses the id; the agent carries `tag` (e.g. in its instructions)
      into the transcript, and the observer attributes the transcript that holds the tag.

    `resume_base` is the fresh argv without what must not be repeated on a resume (the
    initial prompt); session arguments go at `insert_at` (right after the command, so a
    subcommand such as `codex resume` lands where the CLI expects it).

    A CLI that takes no id for a new session but can create one beforehand (OpenCode:
    `opencode import <file>`, then `-s <id>`) names that command in `new_prepare` and its
    input in `new_prepare_file` (`{id}`, and `{now_ms}`: the start time in milliseconds);
    the pane runs it right before the CLI on a fresh start (`SessionStart.prepare`).
    `id_prefix` is what the CLI requires its ids to start with.
    """

    layout: str  # which transcript layout the observer knows (controllers.providers.transcripts)
    attribution: Attribution
    resume_args: tuple[str, ...]
    resume_base: tuple[str, ...]
    insert_at: int
    new_args: tuple[str, ...] = ()
    tag: str | None = None
    id_prefix: str = ""
    new_prepare: tuple[str, ...] = ()  # `{id}`, and `{file}` for new_prepare_file's path
    new_prepare_file: str = ""

    def fresh_prepare(self, session_id: str | None, now_ms: int) -> tuple[tuple[str, ...], str]:
        """The command (and its file's text) that creates `session_id` before the CLI runs."""
        if session_id is None or not self.new_prepare:
            return (), ""
        text = self.new_prepare_file.replace(SESSION_ID_PLACEHOLDER, session_id)
        return _fill(self.new_prepare, session_id), text.replace(NOW_MS_PLACEHOLDER, str(now_ms))

    def fresh_argv(self, argv: Sequence[str], session_id: str | None) -> tuple[str, ...]:
        """`argv` for a new session, with the pre-assigned id when there is one."""
        if session_id is None or not self.new_args:
            return tuple(argv)
        return _insert(tuple(argv), self.insert_at, _fill(self.new_args, session_id))

    def resume_argv(self, session_id: str) -> tuple[str, ...]:
        """The argv that resumes `session_id` (never repeats the initial prompt)."""
        return _insert(self.resume_base, self.insert_at, _fill(self.resume_args, session_id))


@dataclass(frozen=True)
class ProviderProfile:
    """Everything about a CLI that controllers need besides its launch configuration."""

    dialogs: tuple[Dialog, ...] = ()
    sessions: SessionSupport | None = None
    sessions_unsupported: str | None = None  # why there is no session to resume (NotSupported)


class Provider(Protocol):
    """One agent CLI's adapter."""

    @property
    def name(self) -> str:
        """The `provider:` value of the spec this adapter serves."""
        ...

    def launch(self, agent: Agent, ctx: LaunchContext) -> LaunchConfig:
        """The launch configuration for a fresh start of `agent`.

        Raises `ValueError` when the spec asks for something this CLI cannot do.
        """
        ...

    def profile(self, agent: Agent, ctx: LaunchContext, launch: LaunchConfig) -> ProviderProfile:
        """Dialogs and session handling for `agent` launched as `launch`."""
        ...


def agent_cwd(agent: Agent, ctx: LaunchContext) -> str:
    """The agent's working folder: `working_directory` relative to the workspace."""
    if agent.working_directory:
        return str((ctx.workspace / agent.working_directory).resolve())
    return str(ctx.workspace)


def base_env(agent: Agent, ctx: LaunchContext) -> dict[str, str]:
    """The spec's env plus the team-agent identity variables (config hash added at launch)."""
    env = dict(agent.env)
    env[ENV_AGENT_ID] = agent.id
    env[ENV_TEAM_ID] = ctx.team_id
    env[ENV_WORKSPACE] = str(ctx.workspace)
    return env


def launch_config(
    provider: str,
    agent: Agent,
    ctx: LaunchContext,
    argv: Sequence[str],
    *,
    readiness: str | None,
    env: dict[str, str] | None = None,
) -> LaunchConfig:
    """What every adapter's launch shares around its own argv: the agent's folder, its env
    with the team-agent identity variables (`base_env` unless the CLI adds to it), and
    the spec's readiness pattern over the CLI's default."""
    return LaunchConfig(
        provider=provider,
        argv=tuple(argv),
        cwd=agent_cwd(agent, ctx),
        env=env if env is not None else base_env(agent, ctx),
        readiness_pattern=with_readiness(agent, readiness),
    )


def with_readiness(agent: Agent, default: str | None) -> str | None:
    """The spec's readiness pattern wins over the provider's default."""
    return agent.readiness.pattern if agent.readiness is not None else default


def command_prefix(agent: Agent, executable: str) -> tuple[str, ...]:
    """The spec's `command` (e.g. `["npx", "claude"]`) or the CLI's own name."""
    return tuple(agent.command) if agent.command else (executable,)


# A system prompt travels on the agent's command line; a file larger than this is a mistake
# (or a device such as /dev/zero that would be read until memory runs out).
MAX_SYSTEM_PROMPT_BYTES = 256 * 1024


def system_prompt_text(agent: Agent, ctx: LaunchContext) -> str | None:
    """The system prompt, inline or read from `system_prompt_file` (workspace-relative).

    The file is read when the spec is resolved, like the spec itself, so an edit to it
    changes the launch configuration and recreates the agent.
    """
    if agent.system_prompt is not None:
        return agent.system_prompt
    if agent.system_prompt_file is None:
        return None
    path = Path(agent.system_prompt_file)
    if not path.is_absolute():
        path = ctx.workspace / path
    try:
        if path.exists() and not path.is_file():
            raise ValueError(f"system_prompt_file {path} is not a regular file")
        with path.open("rb") as handle:
            data = handle.read(MAX_SYSTEM_PROMPT_BYTES + 1)
    except OSError as err:
        raise ValueError(f"cannot read system_prompt_file {path}: {err.strerror}") from err
    if len(data) > MAX_SYSTEM_PROMPT_BYTES:
        raise ValueError(
            f"system_prompt_file {path} is larger than {MAX_SYSTEM_PROMPT_BYTES // 1024} KiB"
        )
    return data.decode("utf-8", errors="replace")


def no_system_prompt(agent: Agent, provider: str, where: str) -> None:
    """Refuse a system prompt for a CLI that takes none on its command line."""
    if agent.system_prompt is not None or agent.system_prompt_file is not None:
        raise ValueError(f"{provider} takes no system prompt on its command line; {where}")


def _fill(template: tuple[str, ...], session_id: str) -> tuple[str, ...]:
    return tuple(part.replace(SESSION_ID_PLACEHOLDER, session_id) for part in template)


def _insert(argv: tuple[str, ...], at: int, extra: tuple[str, ...]) -> tuple[str, ...]:
    return (*argv[:at], *extra, *argv[at:])

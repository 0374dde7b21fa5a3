"""The first program in every agent pane: set up the environment, then exec the agent.

tmux starts this module with LAUNCH_FILE as the pane's process (as `python -m` would, but
without the workspace on `sys.path`: `reconciler.launcher.interpreter.module_argv`). This
program reads the launch file (argv, cwd, env; mode 0600 in the 0700 state folder),
deletes it, scrubs variables that must never reach a worker, and replaces itself with
the agent (`os.execvpe`), so the pane's pid is the agent's pid.

Why a launch file instead of `tmux new-window -e K=V` and a command string:
* env values can be secrets; on a tmux command line they would be visible in `ps` for
  the life of the tmux client, in a file they are readable only by the user;
* the agent's argv is exec'd as a list, never parsed by a shell;
* the pane inherits the tmux *server's* environment, which may carry the leader's identity
  (`TEAM_AGENT_LEADER_*`) or a provider's session (`CLAUDE_CODE_*`) when the server was
  started from the leader's pane; they are removed here, at the last moment.

A launch file may carry a `prepare` step (`reconciler.api.actions.SessionStart.prepare`): a
command run here, with the agent's env and folder, right before the exec, e.g.
`opencode import <file>` creating the pre-assigned session OpenCode then opens with `-s`.
Its `file` text is written to a private temporary file whose path replaces `{file}`. If it
fails, the pane exits with its output instead of starting the agent into a missing session.

Standard library only: it runs before anything else in the pane and must start fast.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, MutableMapping

EXIT_CANNOT_RUN = 127
PREPARE_TIMEOUT_SEC = 120.0
FILE_PLACEHOLDER = "{file}"
# What a CLI sets for the commands it runs (so a team-agent started from inside a leader's
# Claude, Codex, Gemini, Copilot or OpenCode session carries it): session ids, "you run
# inside me" flags, hook paths, Codex's sandbox markers (a worker would believe itself
# sandboxed). User configuration (CLAUDE_CONFIG_DIR, CODEX_HOME, API keys) is kept.
# And the variables that say "this is a CI job": the agent is an interactive program in a
# tmux pane, but a reconciler started by CI (`reconcile --once` in a workflow) would pass
# them on, and Gemini CLI 0.61 then runs headless and exits at once (42, 55; measured, and
# its own docs name `CI`, `CONTINUOUS_INTEGRATION` and every `CI_*`). The spec's `env` can
# still set any of them for an agent that needs it.
SCRUBBED_PREFIXES = (
    "TEAM_AGENT_",
    "CLAUDE_CODE_",
    "CODEX_SESSION",
    "CODEX_THREAD",
    "CODEX_SANDBOX",
    "CI_",
)
# `COLUMNS` and `LINES` describe the terminal team-agent was started from, not the pane:
# a program that trusts them over the tty (Python's shutil.get_terminal_size does) draws
# for the wrong width, e.g. 80 columns in a 200-column pane.
SCRUBBED_NAMES = (
    "CI",
    "CONTINUOUS_INTEGRATION",
    "COLUMNS",
    "LINES",
    "CLAUDECODE",
    "CLAUDE_PROJECT_DIR",
    "CLAUDE_ENV_FILE",
    "GEMINI_CLI",
    "COPILOT_CLI",
    "OPENCODE",
    "OPENCODE_SESSION_ID",
)
ENV_PANE_PID = "TEAM_AGENT_PANE_PID"  # = reconciler.api.launch.ENV_PANE_PID (stdlib only here)


def scrub(env: MutableMapping[str, str]) -> None:
    """Remove the leader's identity, provider session and CI variables inherited from tmux."""
    for name in list(env):
        if name.startswith(SCRUBBED_PREFIXES) or name in SCRUBBED_NAMES:
            del env[name]


def prepare_env(inherited: Mapping[str, str], wanted: Mapping[str, str]) -> dict[str, str]:
    env = dict(inherited)
    scrub(env)
    env.update(wanted)
    return env


def run_prepare(prepare: Mapping[str, object], env: Mapping[str, str]) -> str | None:
    """Run the launch file's `prepare` command; None when it succeeded, else why not."""
    raw = prepare.get("argv")
    parts = [str(part) for part in raw] if isinstance(raw, list) else []
    if not parts:
        return "empty prepare command"
    try:
        fd, path = tempfile.mkstemp(prefix="team-agent-prepare-", suffix=".json")
    except OSError as err:
        return f"cannot write its input file: {err}"
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(str(prepare.get("file", "")))
        command = [part.replace(FILE_PLACEHOLDER, path) for part in parts]
        done = subprocess.run(
            command,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=PREPARE_TIMEOUT_SEC,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as err:
        return f"cannot run {parts[0]!r}: {err}"
    finally:
        os.unlink(path)
    if done.returncode != 0:
        return f"{command[0]} exited {done.returncode}: {(done.stdout + done.stderr)[-2000:]}"
    return None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m reconciler.launcher.exec_agent LAUNCH_FILE", file=sys.stderr)
        return 2
    path = args[0]
    try:
        with open(path, encoding="utf-8") as handle:
            launch = json.load(handle)
        os.unlink(path)
    except (OSError, ValueError) as err:
        print(f"team-agent: cannot read launch file {path}: {err}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    command = [str(a) for a in launch["argv"]]
    env = prepare_env(os.environ, {str(k): str(v) for k, v in launch["env"].items()})
    # Our own pid, which the agent keeps across exec: tmux made this process the leader of a
    # new session and process group, so this marks the group as one we created (orphans).
    env[ENV_PANE_PID] = str(os.getpid())
    try:
        os.chdir(launch["cwd"])
    except OSError as err:
        print(f"team-agent: cannot enter {launch['cwd']}: {err.strerror}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    prepare = launch.get("prepare")
    if isinstance(prepare, dict):
        failed = run_prepare(prepare, env)
        if failed is not None:
            print(f"team-agent: cannot prepare the session: {failed}", file=sys.stderr)
            return EXIT_CANNOT_RUN
    try:
        os.execvpe(command[0], command, env)
    except OSError as err:
        print(f"team-agent: cannot run {command[0]!r}: {err.strerror}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    return EXIT_CANNOT_RUN  # not reached: exec replaced this process


if __name__ == "__main__":
    sys.exit(main())

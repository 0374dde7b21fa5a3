"""`team-agent`: the command line, a thin layer over the engine, the status and tmux.

Exit codes are part of the contract (DESIGN.md, CLI): 0 Ready, 1 not Ready (or a wait
timed out), 2 invalid spec or usage, 3 another reconciler holds the lock, 4 tmux or the
environment unusable. Read-only verbs (`status`, `wait`, `plan`, `events`, `logs`) never
change the world and never take the lock.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import click
from rich.console import Console

from controllers.agents import panes_to_capture, plan_agents
from controllers.demo import DEMO_SOCKET, write_demo, write_starter
from controllers.desired import desired_team, installed_executables
from reconciler import conditions as C
from reconciler.down import down_team
from reconciler.durations import parse_duration
from reconciler.engine import (
    EXIT_LOCKED,
    EXIT_NOT_READY,
    EXIT_READY,
    EXIT_SPEC_INVALID,
    EXIT_UNUSABLE,
    Engine,
    PassResult,
)
from reconciler.errors import (
    LockHeld,
    SpecError,
    SpecNotFound,
    StateUnwritable,
    TmuxUnavailable,
)
from reconciler.events import EventLog
from reconciler.lock import WorkspaceLock
from reconciler.loop import Loop
from reconciler.render import OutputFormat, render_events, render_status
from reconciler.specfile import LoadedSpec, find_spec, load_spec
from reconciler.status import StatusCorrupt, StatusStore, TeamStatus, ensure_state_dir
from reconciler.tmux import Tmux, TmuxCommandError
from reconciler.world import Pane, observe, with_captures

OUTPUT = click.Choice(["table", "json", "yaml"])


@dataclass
class Target:
    """Which spec and workspace a command is about, resolved once per invocation."""

    spec_path: Path
    loaded: LoadedSpec | None
    error: SpecError | None
    socket_override: str | None

    @property
    def workspace(self) -> Path:
        if self.loaded is not None:
            return self.loaded.workspace
        return self.spec_path.parent.resolve()

    @property
    def socket(self) -> str | None:
        if self.socket_override:
            return self.socket_override
        return self.loaded.spec.runtime.tmux_socket if self.loaded else None

    def require_spec(self) -> LoadedSpec:
        if self.loaded is None:
            assert self.error is not None
            fail(str(self.error), EXIT_SPEC_INVALID)
        return self.loaded

    def engine(self) -> Engine:
        return Engine(
            spec_path=self.spec_path, workspace=self.workspace, tmux_socket=self.socket_override
        )


def fail(message: str, code: int) -> NoReturn:
    click.echo(f"team-agent: {message}", err=True)
    sys.exit(code)


def console() -> Console:
    return Console(highlight=False, soft_wrap=not sys.stdout.isatty())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-f",
    "--file",
    "spec_file",
    type=click.Path(path_type=Path),
    default=None,
    help="The spec (default: ./team.spec.yaml, then ./.team/current/team.spec.yaml).",
)
@click.option(
    "--tmux-socket",
    envvar="TEAM_AGENT_TMUX_SOCKET",
    default=None,
    help="tmux -L NAME for the workers (overrides runtime.tmux_socket).",
)
@click.pass_context
def cli(ctx: click.Context, spec_file: Path | None, tmux_socket: str | None) -> None:
    """Keep a team of AI coding agents running in tmux as team.spec.yaml declares."""
    ctx.obj = {"spec_file": spec_file, "socket": tmux_socket}


def target(ctx: click.Context) -> Target:
    """Find and load the spec; a missing spec is a usage error (exit 2)."""
    try:
        path = find_spec(ctx.obj["spec_file"], Path.cwd())
    except SpecNotFound as err:
        fail(str(err), EXIT_SPEC_INVALID)
    try:
        return Target(path, load_spec(path), None, ctx.obj["socket"])
    except SpecError as err:
        return Target(path, None, err, ctx.obj["socket"])


@cli.command()
@click.pass_context
def validate(ctx: click.Context) -> None:
    """Check the spec; errors name file:line:column. Exit 0 valid, 2 invalid."""
    t = target(ctx)
    loaded = t.require_spec()
    for note in loaded.deprecations:
        click.echo(f"warning: {loaded.path}: {note}", err=True)
    team = desired_team(loaded.spec, loaded.workspace, python=sys.executable)
    found = installed_executables(d.launch for d in team.agents)
    for desired in team.agents:
        if desired.unsupported:
            click.echo(f"warning: agent {desired.id}: {desired.unsupported}", err=True)
        elif desired.launch and not found.get(desired.launch.executable, False):
            click.echo(
                f"warning: agent {desired.id}: {desired.launch.executable!r} is not "
                "installed (the agent will report ProviderNotInstalled)",
                err=True,
            )
    click.echo(
        f"{loaded.path}: valid ({len(loaded.spec.agents)} agents, team {loaded.spec.team_id})"
    )


@cli.command()
@click.option("--once", is_flag=True, required=True, help="One pass (the only mode so far).")
@click.option("--wait", "wait_for", default=None, help="Passes until Ready or this deadline.")
@click.option(
    "--lock-timeout",
    default="10s",
    show_default=True,
    help="How long to wait for another reconciler's lock.",
)
@click.option("-o", "--output", "fmt", type=OUTPUT, default="table")
@click.pass_context
def reconcile(
    ctx: click.Context, once: bool, wait_for: str | None, lock_timeout: str, fmt: OutputFormat
) -> None:
    """Converge the world to the spec; exit 0 Ready, 1 not Ready."""
    t = target(ctx)
    deadline = time.monotonic() + (parse_duration(wait_for) if wait_for else 0.0)
    engine = t.engine()
    with _locked(t, lock_timeout):
        result = _pass(engine)
        while (
            not result.ready and result.exit_code == EXIT_NOT_READY and time.monotonic() < deadline
        ):
            time.sleep(
                min(
                    max(result.requeue_after or 0.2, 0.05),
                    0.25,
                    max(deadline - time.monotonic(), 0.0),
                )
            )
            result = _pass(engine)
    render_status(result.status, fmt, console())
    if result.exit_code == EXIT_SPEC_INVALID and t.error is not None:
        click.echo(str(t.error), err=True)
    sys.exit(result.exit_code)


def _pass(engine: Engine) -> PassResult:
    try:
        return engine.reconcile()
    except StateUnwritable as err:
        fail(str(err), EXIT_UNUSABLE)


class _locked:
    """Hold the workspace lock, or exit 3 naming the holder."""

    def __init__(self, t: Target, timeout: str) -> None:
        try:
            state = ensure_state_dir(t.workspace)
        except StateUnwritable as err:
            fail(str(err), EXIT_UNUSABLE)
        self.lock = WorkspaceLock(state, timeout=parse_duration(timeout))

    def __enter__(self) -> WorkspaceLock:
        try:
            self.lock.acquire()
        except LockHeld as err:
            fail(f"another reconciler holds the lock: {err}", EXIT_LOCKED)
        except StateUnwritable as err:
            fail(str(err), EXIT_UNUSABLE)
        return self.lock

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


@cli.command()
@click.option("--lock-timeout", default="10s", show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing per pass.")
@click.pass_context
def run(ctx: click.Context, lock_timeout: str, quiet: bool) -> None:
    """The controller loop: follows spec edits, restarts exited agents, resyncs."""
    t = target(ctx)
    if t.loaded is None and t.error is not None:
        click.echo(f"warning: {t.error} (waiting for a valid spec)", err=True)
    engine = t.engine()

    def report(result: PassResult | None, why: str) -> None:
        if quiet:
            return
        stamp = time.strftime("%H:%M:%S")
        if result is None:
            click.echo(f"{stamp} pass failed ({why}); see the log", err=True)
            return
        ready = C.find_condition(result.status.conditions, C.READY)
        summary = f"Ready={ready.status} ({ready.reason})" if ready else ""
        lines = [a.render() for a in result.plan.actions]
        if lines or why != "resync":
            click.echo(f"{stamp} [{why}] {summary}" + "".join(f"\n    {x}" for x in lines))

    with _locked(t, lock_timeout):
        loop = Loop(engine=engine, on_pass=report)
        loop.install_signal_handlers()
        loop.run()


@cli.command()
@click.option("-o", "--output", "fmt", type=OUTPUT, default="table")
@click.pass_context
def status(ctx: click.Context, fmt: OutputFormat) -> None:
    """Show the last status (reads .team/status.json; changes nothing)."""
    current = _read_status(target(ctx))
    if current is None:
        fail("no status yet: run `team-agent reconcile --once` or `team-agent run`", EXIT_NOT_READY)
    render_status(current, fmt, console())


def _read_status(t: Target) -> TeamStatus | None:
    try:
        return StatusStore(t.workspace / ".team").read()
    except StatusCorrupt as err:
        fail(str(err), EXIT_UNUSABLE)


@cli.command()
@click.option(
    "--for",
    "condition",
    required=True,
    help="condition=TYPE[=STATUS], e.g. condition=Ready or condition=Ready=False.",
)
@click.option("--agent", default=None, help="An agent's condition instead of the team's.")
@click.option("--timeout", default="60s", show_default=True)
@click.pass_context
def wait(ctx: click.Context, condition: str, agent: str | None, timeout: str) -> None:
    """Wait until a condition holds (as kubectl wait): exit 0 met, 1 timed out."""
    kind, _, rest = condition.partition("=")
    if kind != "condition" or not rest:
        fail("--for takes condition=TYPE or condition=TYPE=STATUS", EXIT_SPEC_INVALID)
    cond_type, _, wanted = rest.partition("=")
    wanted = wanted or "True"
    t = target(ctx)
    deadline = time.monotonic() + parse_duration(timeout)
    while True:
        current = _read_status(t)
        if current is not None:
            conds = current.conditions
            if agent is not None:
                entry = current.agents.get(agent)
                conds = entry.conditions if entry is not None else []
            found = C.find_condition(conds, cond_type)
            if found is not None and found.status.lower() == wanted.lower():
                click.echo(f"condition met: {cond_type}={found.status} ({found.reason})")
                sys.exit(EXIT_READY)
        if time.monotonic() >= deadline:
            fail(f"timed out waiting for {cond_type}={wanted}", EXIT_NOT_READY)
        time.sleep(0.1)


@cli.command(name="plan")
@click.option("-o", "--output", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def plan_cmd(ctx: click.Context, fmt: str) -> None:
    """What a pass would do now, changing nothing. Exit 0 nothing to do, 1 changes."""
    t = target(ctx)
    loaded = t.require_spec()
    current = _read_status(t) or TeamStatus.empty(loaded.spec.team_id)
    tmux = Tmux(socket_name=t.socket)
    team = desired_team(loaded.spec, loaded.workspace, python=sys.executable)
    try:
        world = observe(tmux)
        world = with_captures(world, tmux, panes_to_capture(team, world, current))
    except TmuxUnavailable as err:
        fail(str(err), EXIT_UNUSABLE)
    from datetime import datetime, timezone

    result = plan_agents(
        team,
        world,
        current,
        now=datetime.now(timezone.utc),
        generation=current.generation,
        installed=installed_executables(d.launch for d in team.agents),
    )
    if result.session_conflict:
        fail(result.session_conflict, EXIT_NOT_READY)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "actions": [
                        {
                            "resource": a.resource,
                            "action": type(a).__name__,
                            "cause": a.cause,
                            "line": a.render(),
                        }
                        for a in result.plan.actions
                    ]
                },
                indent=2,
            )
        )
    else:
        click.echo(result.plan.render())
    sys.exit(EXIT_READY if result.plan.empty else EXIT_NOT_READY)


cli.add_command(plan_cmd, name="diff")


@cli.command()
@click.option("--lock-timeout", default="10s", show_default=True)
@click.pass_context
def down(ctx: click.Context, lock_timeout: str) -> None:
    """Stop every agent this team owns (never the leader, never anything unmarked)."""
    t = target(ctx)
    loaded = t.require_spec()
    with _locked(t, lock_timeout):
        try:
            stopped, failed = down_team(loaded, Tmux(socket_name=t.socket), python=sys.executable)
        except TmuxUnavailable as err:
            fail(str(err), EXIT_UNUSABLE)
    for line in stopped:
        click.echo(f"stopped {line}")
    for line in failed:
        click.echo(f"failed  {line}", err=True)
    if not stopped and not failed:
        click.echo("nothing to stop")
    sys.exit(1 if failed else 0)


@cli.command()
@click.option("-n", "--limit", type=int, default=50, show_default=True)
@click.option("-o", "--output", "fmt", type=OUTPUT, default="table")
@click.pass_context
def events(ctx: click.Context, limit: int, fmt: OutputFormat) -> None:
    """The latest events (newest last)."""
    t = target(ctx)
    render_events(EventLog(t.workspace / ".team").read(limit=limit), fmt, console())


def _agent_pane(t: Target, agent: str) -> tuple[Tmux, Pane]:
    loaded = t.require_spec()
    tmux = Tmux(socket_name=t.socket)
    try:
        world = observe(tmux)
    except TmuxUnavailable as err:
        fail(str(err), EXIT_UNUSABLE)
    panes = [
        p
        for p in world.owned_panes(loaded.spec.team_id, str(loaded.workspace))
        if p.agent == agent and p.session_name == loaded.spec.session_name
    ]
    if not panes:
        fail(f"agent {agent!r} has no pane (is the team up?)", EXIT_NOT_READY)
    return tmux, panes[0]


@cli.command()
@click.argument("agent")
@click.option("-n", "--lines", type=int, default=200, show_default=True)
@click.pass_context
def logs(ctx: click.Context, agent: str, lines: int) -> None:
    """An agent's scrollback (the last LINES lines of its pane)."""
    tmux, pane = _agent_pane(target(ctx), agent)
    try:
        out = tmux.run("capture-pane", "-p", "-J", "-S", f"-{lines}", "-t", pane.pane_id)
    except TmuxCommandError as err:
        fail(str(err), EXIT_NOT_READY)
    click.echo("\n".join(out).rstrip("\n"))


@cli.command()
@click.argument("agent")
@click.pass_context
def attach(ctx: click.Context, agent: str) -> None:
    """Attach your terminal to an agent's pane (switch-client when already in tmux)."""
    tmux, pane = _agent_pane(target(ctx), agent)
    base = tmux.base_argv()
    select = ["select-window", "-t", pane.window_id, ";", "select-pane", "-t", pane.pane_id]
    if os.environ.get("TMUX") and tmux.socket_name is None:
        argv = [*base, "switch-client", "-t", pane.pane_id, ";", *select]
    else:
        argv = [*base, "attach-session", "-t", f"={pane.session_name}", ";", *select]
    os.execvp(argv[0], argv)


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path), default=Path("team-agent-demo"))
@click.option("--wait", "wait_for", default="30s", show_default=True)
def demo(directory: Path, wait_for: str) -> None:
    """Write a demo team (fake agents, private tmux socket) and converge it."""
    spec_path = write_demo(directory)
    click.echo(f"wrote {spec_path} (tmux socket {DEMO_SOCKET}; no AI CLI needed)")
    loaded = load_spec(spec_path)
    engine = Engine(spec_path=spec_path, workspace=loaded.workspace)
    deadline = time.monotonic() + parse_duration(wait_for)
    out = console()
    with _locked(Target(spec_path, loaded, None, None), "10s"):
        number = 0
        while True:
            number += 1
            result = _pass(engine)
            ready = C.find_condition(result.status.conditions, C.READY)
            out.print(
                f"pass {number}: "
                + (result.plan.render() if result.plan.actions else "no changes")
                + (f"  -> Ready={ready.status}" if ready else ""),
                highlight=False,
            )
            if result.ready or time.monotonic() > deadline:
                break
            time.sleep(0.25)
    render_status(result.status, "table", out)
    rel = spec_path
    click.echo(
        f"\nnext: team-agent -f {rel} attach lead     # watch an agent (detach: C-b d)\n"
        f"      team-agent -f {rel} run             # follow spec edits, restart crashes\n"
        f"      team-agent -f {rel} down            # stop the demo team"
    )
    sys.exit(result.exit_code)


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path), default=Path("."))
def init(directory: Path) -> None:
    """Write a starter team.spec.yaml (fake agents) into DIRECTORY."""
    try:
        path = write_starter(directory)
    except FileExistsError as err:
        fail(f"{err}: not overwriting", EXIT_SPEC_INVALID)
    click.echo(f"wrote {path}; next: team-agent -f {path} reconcile --once --wait 30s")


def main() -> None:
    cli(prog_name="team-agent")

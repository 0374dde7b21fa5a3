"""Verbs that change one agent's intent by editing the spec: `pause`, `resume`, `restart`.

They write what the person wants into `team.spec.yaml` (DESIGN: "CLI verbs that change
intent edit team.spec.yaml ... and let the reconciler converge") and act on nothing
themselves: a running `team-agent run` sees the edit (the spec watch, and `.team/wake`)
and converges at once; without one, the next `reconcile --once` does, and `plan` shows
the pending action in between. So they never take the workspace lock, and `run` needs no
new trigger or state: the spec says it all.

- `pause AGENT` sets `paused: true`: the agent's pane is stopped (markers, pid and create
  time re-checked, as any stop), `Ready=False, reason=Paused`, and the team's `Ready` no
  longer waits for it.
- `resume AGENT` sets `paused: false`: the agent is started again, resuming its provider
  session where the CLI has one (as a restart does).
- `restart AGENT` sets `restarted_at` to now, as `kubectl rollout restart` sets its
  `restartedAt` annotation: the value is part of the agent's config hash, so the agent is
  recreated exactly once per request, and later passes see the hash on its pane match.

The edit changes that one value and nothing else in the file (`reconciler.specfile.edit`). An
invalid spec is reported with its location and left as it is; an unknown agent is an
error naming the agents the spec declares. Exit codes: 0 done (or nothing to change), 2
invalid spec, unknown agent or a request that makes no sense (restart a paused agent),
4 the spec cannot be written; refusals to a caller as `down`'s (see the epilog).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shlex
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click

from reconciler.api.exitcodes import EXIT_SPEC_INVALID, EXIT_UNUSABLE
from reconciler.api.retrying import retry_on
from reconciler.api.spec import Agent, restart_token
from reconciler.api.status import STATE_DIR
from reconciler.cli.util import (
    Target,
    fail,
    invocation,
    running_reconciler,
    shown_path,
    target,
)
from reconciler.cli.verbs.ownership import TEAM_ACTION_EPILOG, guard_team_action
from reconciler.engine.wake import touch_wake
from reconciler.specfile.edit import AgentEdit, SpecChanged, SpecEditError, edit_agent, write_spec

# An editor saving at the very moment of the edit makes the verb start again from the
# new text; a file that changes on every try is someone else's loop, not a race.
_ATTEMPTS = 3
_FORMAT = click.Choice(["text", "json"])

# What a verb wants of an agent: an edit, or why there is nothing to write.
Decision = AgentEdit | str
Decide = Callable[[Agent], Decision]


def _pause(agent: Agent) -> Decision:
    if agent.paused:
        return f"agent/{agent.id} is already paused: nothing changed"
    return AgentEdit(agent=agent.id, key="paused", value=True, text="true")


def _resume(agent: Agent) -> Decision:
    if not agent.paused:
        return f"agent/{agent.id} is not paused: nothing changed"
    return AgentEdit(agent=agent.id, key="paused", value=False, text="false")


def _restart_at(agent: Agent, now: datetime) -> AgentEdit:
    """A request later than any the agent had: the same value again would restart nothing."""
    at = now.astimezone(timezone.utc).replace(microsecond=0)
    if agent.restarted_at is not None and at <= agent.restarted_at:
        at = agent.restarted_at.replace(microsecond=0) + timedelta(seconds=1)
    return AgentEdit(
        agent=agent.id, key="restarted_at", value=at, text=json.dumps(restart_token(at))
    )


def _restart(agent: Agent) -> Decision:
    if agent.paused:
        fail(
            f"agent/{agent.id} is paused, so it is not running: "
            f"`team-agent resume {agent.id}` starts it again",
            EXIT_SPEC_INVALID,
        )
    return _restart_at(agent, datetime.now(timezone.utc))


def _agent(t: Target, agent_id: str) -> Agent:
    loaded = t.require_spec()
    found = next((a for a in loaded.spec.agents if a.id == agent_id), None)
    if found is None:
        declared = ", ".join(sorted(a.id for a in loaded.spec.agents)) or "none"
        fail(
            f"unknown agent {agent_id!r} in {shown_path(t.spec_path)}; its agents: {declared}",
            EXIT_SPEC_INVALID,
        )
    return found


def _change(ctx: click.Context, verb: str, agent_id: str, decide: Decide, fmt: str) -> None:
    """Read, decide, edit, write; again from the new text if the file changed meanwhile."""
    changed = retry_on(lambda e: isinstance(e, _Changed), attempts=_ATTEMPTS)
    try:
        for attempt in changed:
            with attempt:
                first = attempt.retry_state.attempt_number == 1
                _change_once(ctx, verb, agent_id, decide, fmt, first=first)
    except _Changed as err:
        fail(
            f"{shown_path(err.path)} changed on every one of {_ATTEMPTS} tries; try again",
            EXIT_UNUSABLE,
        )


class _Changed(Exception):
    """The spec file changed between our read and our write: decide again on the new text."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path} changed")
        self.path = path


def _change_once(
    ctx: click.Context, verb: str, agent_id: str, decide: Decide, fmt: str, *, first: bool
) -> None:
    """One read-decide-edit-write; raises `_Changed` when the file moved under it."""
    t = target(ctx)
    agent = _agent(t, agent_id)
    loaded = t.require_spec()
    if first:
        guard_team_action(t, loaded, verb)
    decision = decide(agent)
    if isinstance(decision, str):
        _report(t, agent_id, None, decision, fmt)
        return
    try:
        text = t.spec_path.read_text(encoding="utf-8")
        if hashlib.sha256(text.encode("utf-8")).hexdigest() != loaded.source_digest:
            raise _Changed(t.spec_path)  # since it was loaded
        edited = edit_agent(text, loaded, decision)
        write_spec(t.spec_path, edited.text, expected=text)
    except SpecChanged as err:
        raise _Changed(t.spec_path) from err
    except SpecEditError as err:
        fail(str(err), EXIT_SPEC_INVALID)
    except OSError as err:
        fail(f"cannot write {shown_path(t.spec_path)}: {err.strerror or err}", EXIT_UNUSABLE)
    _wake(t)
    where = f"{shown_path(t.spec_path)}:{edited.line}"
    _report(t, agent_id, decision, f"{decision.key}: {decision.text} ({where})", fmt)


def _wake(t: Target) -> None:
    """Poke a running `run` (it also sees the spec change); no state folder: nobody runs."""
    state = t.workspace / STATE_DIR
    if state.is_dir():
        # On failure the spec watch and the periodic resync still see the edit.
        with contextlib.suppress(OSError):
            touch_wake(state)


def _report(t: Target, agent_id: str, edit: AgentEdit | None, what: str, fmt: str) -> None:
    holder = running_reconciler(t.workspace)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "agent": agent_id,
                    "changed": edit is not None,
                    "key": edit.key if edit is not None else None,
                    "value": json.loads(edit.text) if edit is not None else None,
                    "message": what,
                    "spec": str(t.spec_path),
                    "reconcilerPid": holder.pid if holder is not None else None,
                }
            )
        )
        return
    if edit is None:
        click.echo(what)
        return
    click.echo(f"agent/{agent_id}: {what}")
    if holder is not None:
        click.echo(f"the reconciler running here (pid {holder.pid}) applies it now")
    else:
        again = f"{invocation()} -f {shlex.quote(shown_path(t.spec_path))}"
        click.echo(
            f"no reconciler is running for {t.workspace}: `{again} reconcile --once` "
            f"(or `{again} run`) applies it; `{again} plan` shows what it will do",
            err=True,
        )


_AGENT = click.argument("agent")
_OUTPUT = click.option("-o", "--output", "fmt", type=_FORMAT, default="text")


@click.command(epilog=TEAM_ACTION_EPILOG)
@_AGENT
@_OUTPUT
@click.pass_context
def pause(ctx: click.Context, agent: str, fmt: str) -> None:
    """Keep AGENT stopped (spec: `paused: true`); the reconciler stops its pane."""
    _change(ctx, "pause", agent, _pause, fmt)


@click.command(epilog=TEAM_ACTION_EPILOG)
@_AGENT
@_OUTPUT
@click.pass_context
def resume(ctx: click.Context, agent: str, fmt: str) -> None:
    """Start a paused AGENT again (spec: `paused: false`), resuming its session."""
    _change(ctx, "resume", agent, _resume, fmt)


@click.command(epilog=TEAM_ACTION_EPILOG)
@_AGENT
@_OUTPUT
@click.pass_context
def restart(ctx: click.Context, agent: str, fmt: str) -> None:
    """Recreate AGENT once (spec: `restarted_at: <now>`), resuming its session."""
    _change(ctx, "restart", agent, _restart, fmt)

"""The executor: carry out a plan's actions in order, one outcome each, never raising.

It makes no decisions (docker compose's executor "carries no decision logic") and knows no
action by name: each action goes to the controller that declared its type
(`Applier.action_types`), which knows how to carry it out and re-checks the world at the
moment of acting (`controllers.agents.handlers`, `controllers.orphans.reap`,
`controllers.messages.deliver`). What the executor adds is what every action shares:

* order, and dependencies: an action whose `requires` names a resource whose action
  failed or was skipped earlier in the plan is skipped and reported, not run;
* one `Outcome` per action: a handler's `TeamAgentError` or `OSError` is a failed outcome,
  an action no controller claims is one too (never a `KeyError` out of the pass);
* the resources handlers open lazily for the whole plan (the message store), closed at
  the end whatever happened;
* transient failures (the chosen window index was taken meanwhile) are retried by the
  handlers that can meet them (`reconciler.api.retrying.retry_on`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

from reconciler.api import markers
from reconciler.api.actions import Action, Outcome
from reconciler.api.errors import TeamAgentError
from reconciler.api.hooks import ACTION, APPLIED, PassHooks
from reconciler.observe.tmux import Tmux
from reconciler.observe.world import World


class Closable(Protocol):
    def close(self) -> None: ...


C_ = TypeVar("C_", bound=Closable)


@dataclass
class ApplyContext:
    """What handlers need besides their action; passed in, never global."""

    tmux: Tmux
    world: World
    team_id: str
    workspace: str
    state_dir: Path
    python: str
    tmux_at: Callable[[str], Tmux] | None = None  # another server (the leader's), by socket path
    hooks: PassHooks | None = None
    _next_index: dict[str, int] = field(default_factory=dict)
    _opened: dict[str, Closable] = field(default_factory=dict, repr=False)

    def resource(self, key: str, open_: Callable[[], C_]) -> C_:
        """A resource opened on first use and closed when the plan is done (`close`).

        Most passes deliver nothing, so the message store (and sqlite3) is opened only by
        the first handler that needs it.
        """
        if key not in self._opened:
            self._opened[key] = open_()
        return self._opened[key]  # type: ignore[return-value]  # keyed by its opener's type

    def close(self) -> None:
        opened, self._opened = self._opened, {}
        for item in opened.values():
            item.close()

    @property
    def wake_channel(self) -> str:
        """The channel the `pane-died` hook of every window we create signals."""
        return markers.wake_channel(self.team_id, self.workspace)

    def allocate_index(self, session: str) -> int:
        """A window index above every index the snapshot saw in `session`."""
        if session not in self._next_index:
            used = [p.window_index for p in self.world.session_panes(session)]
            self._next_index[session] = (max(used) + 1) if used else 0
        index = self._next_index[session]
        self._next_index[session] = index + 1
        return index

    def saw_index(self, session: str, index: int) -> None:
        self._next_index[session] = max(self._next_index.get(session, 0), index + 1)


class Applier(Protocol):
    """What the executor needs of a controller: the action types it owns and how to apply."""

    @property
    def name(self) -> str: ...

    @property
    def action_types(self) -> tuple[type, ...]: ...

    def apply(self, action: Action, ctx: ApplyContext) -> Outcome: ...


STALE_LAUNCH_FILE_SEC = 60.0


def sweep_launch_files(state_dir: Path, *, now: float) -> None:
    """Delete launch files no pane can still be about to read.

    A pane's first program deletes its launch file as it reads it, within a second of the
    tmux call. A file older than a minute was left by a reconciler killed between writing
    it and that call; it holds the agent's env values, so it must not stay. Only the lock
    holder applies, so no other reconciler is writing one meanwhile.
    """
    folder = state_dir / "launch"
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        try:
            if entry.name.endswith(".json") and now - entry.stat().st_mtime > STALE_LAUNCH_FILE_SEC:
                os.unlink(entry.path)
        except OSError:
            continue


def apply_plan(
    actions: Sequence[Action],
    ctx: ApplyContext,
    appliers: Sequence[Applier],
    *,
    hooks: PassHooks | None = None,
    concurrency: int = 1,
) -> list[Outcome]:
    """Apply actions in order; one outcome per action (see the module docstring).

    `hooks` (None in production) is told before and after each action (tests/faults).
    `concurrency` > 1 applies up to that many at once, for a plan of independent actions
    that share no state of `ctx` (`down`'s stops: each waits out its own grace period,
    and fifty of them one after another took seconds); a plan with dependencies
    (`requires`) is always applied in order. Outcomes keep the plan's order.
    """
    owners = {kind: applier for applier in appliers for kind in applier.action_types}
    sweep_launch_files(ctx.state_dir, now=time.time())
    ctx.hooks = hooks
    outcomes: list[Outcome] = []
    unmet: set[str] = set()  # resources whose action failed or was skipped
    if concurrency > 1 and len(actions) > 1 and not any(a.requires for a in actions):
        from concurrent.futures import ThreadPoolExecutor  # only the verbs that stop many

        try:
            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                return list(pool.map(lambda a: _apply_one(a, ctx, owners, hooks), actions))
        finally:
            ctx.close()
    try:
        for action in actions:
            outcome = _skip_if_unmet(action, unmet) or _apply_one(action, ctx, owners, hooks)
            if not outcome.ok:
                unmet.add(action.resource)
            outcomes.append(outcome)
    finally:
        ctx.close()
    return outcomes


def _skip_if_unmet(action: Action, unmet: set[str]) -> Outcome | None:
    missing = [r for r in action.requires if r in unmet]
    if not missing:
        return None
    why = f"skipped: {', '.join(missing)} did not succeed earlier in this pass"
    return Outcome(action=action, ok=False, message=why, skipped=True)


def _apply_one(
    action: Action, ctx: ApplyContext, owners: dict[type, Applier], hooks: PassHooks | None
) -> Outcome:
    owner = owners.get(type(action))
    if owner is None:
        message = f"no controller applies {type(action).__name__} (is it in the registry?)"
        return Outcome(action=action, ok=False, message=message)
    if hooks is not None:
        hooks.reached(ACTION, action)
    try:
        outcome = owner.apply(action, ctx)
    except (TeamAgentError, OSError) as err:
        outcome = Outcome(action=action, ok=False, message=str(err))
    if hooks is not None:
        hooks.reached(APPLIED, action)
    return outcome

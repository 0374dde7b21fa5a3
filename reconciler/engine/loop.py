"""The controller loop behind `team-agent run`: passes, triggered.

Triggers only say "reconcile now" (controller-runtime's requests carry identity, not
events); every pass observes the world afresh, so a lost or duplicated trigger costs at
most one extra pass, never a wrong action. The triggers:

* the spec file changed (`reconciler.engine.specwatch`: watchfiles on the folders of the spec
  path and of every link it goes through, followed again after each change; short
  debounce, so an editor's write-then-rename counts once);
* a message was queued or a result reported: `send` and `report` touch `.team/wake`,
  watched the same way, so a message goes out at once rather than at the next resync;
* an agent's pane died: our session's `pane-died` hook runs `tmux wait-for -S CHANNEL`,
  and a thread here sits in `tmux wait-for CHANNEL`, so an exit wakes the loop at once
  with no polling and no shell command in the hook;
* an agent's process exited (`reconciler.engine.exits`: a pidfd per agent on Linux), for the
  exits tmux misses and so never reports through the hook;
* the plan asked to look again (`requeue_after`: a backoff expiring, an agent starting);
* the periodic resync (`runtime.resync_interval_sec`), the safety net for everything else.

Before each pass the loop performs the requests of verbs that need the lock it holds
(`down`, `orphans --reap`; `reconciler.engine.requests`): `send`-style, they touch `.team/wake`,
so they are served at once. A `down` ends the loop after it is answered, so nothing
recreates the team it stopped.

SIGTERM and SIGINT stop the loop between passes and leave every agent running: the loop
owns the reconciling, not the agents.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType

from reconciler.api import markers
from reconciler.api.errors import StateUnwritable
from reconciler.api.retrying import poll
from reconciler.engine.engine import Engine, PassResult
from reconciler.engine.exits import ExitWatch, agent_processes
from reconciler.engine.requests import DOWN, Answer, Request, answer, claim_pending
from reconciler.engine.specwatch import watch_spec
from reconciler.engine.wake import wake_path
from reconciler.store.freshness import DEFAULT_RESYNC_SEC

log = logging.getLogger("team_agent.loop")

WAIT_FOR_RETRY_SEC = 1.0


@dataclass
class Loop:
    """Runs passes until stopped; `on_pass` sees each result (for printing)."""

    engine: Engine
    # What a verb's request does (`reconciler.cli.request_handlers.perform`): given by the
    # `run` verb, so the loop serves `down` and `--reap` without knowing any controller.
    perform: Callable[[Request, Engine], Answer]
    on_pass: Callable[[PassResult | None, str], None] = lambda result, why: None
    on_request: Callable[[Request, Answer], None] = lambda request, reply: None
    stop: threading.Event = field(default_factory=threading.Event)
    _wake: threading.Event = field(default_factory=threading.Event)
    _why: str = "start"
    _waiter: subprocess.Popen[bytes] | None = None
    _waiting_on: str | None = None  # the wake channel the waiter sits on
    _last: PassResult | None = None  # the last completed pass (read by the exit waiter)
    _exits: ExitWatch = field(default_factory=ExitWatch)  # agent pids, for exits tmux misses

    def request(self, why: str) -> None:
        """Ask for a pass as soon as the current one (if any) ends."""
        self._why = why
        self._wake.set()

    def install_signal_handlers(self) -> None:
        def handler(signum: int, frame: FrameType | None) -> None:
            self.shutdown()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def shutdown(self) -> None:
        self.stop.set()
        self._wake.set()
        waiter = self._waiter
        if waiter is not None and waiter.poll() is None:
            waiter.terminate()
        self._exits.close()

    def run(self) -> None:
        threads = [
            threading.Thread(target=self._watch_spec, name="spec-watch", daemon=True),
            threading.Thread(target=self._wait_for_exits, name="pane-died", daemon=True),
            threading.Thread(
                target=self._exits.run,
                args=(lambda: self.request("agent exited"),),
                name="agent-exits",
                daemon=True,
            ),
        ]
        for thread in threads:
            thread.start()
        self.request("start")
        while not self.stop.is_set():
            why = self._why
            self._wake.clear()
            ends, served = self._serve_requests()
            if ends:
                break
            result = self._guarded_pass(served or why)
            delay = self._resync_interval()
            if result is not None and result.requeue_after is not None:
                delay = min(delay, max(result.requeue_after, 0.05))
            if self._wake.wait(timeout=delay):
                continue
            self._why = "resync" if delay == self._resync_interval() else "requeue"
        self.shutdown()

    def _guarded_pass(self, why: str) -> PassResult | None:
        """One pass; the only broad `except` of the project: a bug must not end the loop."""
        try:
            result = self.engine.reconcile()
        except StateUnwritable as err:
            # The environment, not a bug (disk full, read-only `.team`): one clear line, no
            # traceback; the agents are left as they are and the next pass tries again.
            log.error("reconcile pass failed: %s", err, extra={"trigger": why})  # noqa: TRY400
            self.on_pass(None, why)
            return None
        except Exception:
            log.exception("reconcile pass failed", extra={"trigger": why})
            self.on_pass(None, why)
            return None
        self._last = result
        self._exits.watch(agent_processes(result.status))
        self._follow_channel()
        self.on_pass(result, why)
        return result

    def _serve_requests(self) -> tuple[bool, str | None]:
        """Perform the pending requests: whether one ends the loop (`down`), and the
        trigger the next pass reports ("reap-orphans served"), None when there were none."""
        state = self.engine.state_dir
        claimed, dropped = claim_pending(state)
        for gone in dropped:
            log.warning("request dropped", extra={"request": gone.name, "why": gone.why})
        ends = False
        for request in claimed:
            try:
                reply = self.perform(request, self.engine)
            except Exception:
                # As a pass's guard: a bug must not end the loop, and the verb that waits
                # gets an answer now rather than its timeout.
                log.exception("request failed", extra={"request": request.kind})
                reply = Answer(
                    id=request.id,
                    kind=request.kind,
                    by=os.getpid(),
                    error="see run's log",
                    runExits=request.kind == DOWN,
                )
            try:
                answer(state, reply)
            except StateUnwritable as err:
                log.error("cannot answer request: %s", err, extra={"request": request.kind})  # noqa: TRY400
            self.on_request(request, reply)
            ends = ends or reply.runExits
        return ends, (f"{claimed[-1].kind} served" if claimed else None)

    def _resync_interval(self) -> float:
        good = self.engine.last_good
        return good.spec.runtime.resync_interval_sec if good is not None else DEFAULT_RESYNC_SEC

    def _watch_spec(self) -> None:
        """Wake on a spec change (links followed), or on `send`/`report` touching
        `.team/wake` (new messages): `reconciler.engine.specwatch`."""
        watch_spec(
            self.engine.spec_path,
            wake_path(self.engine.state_dir).resolve(),
            stop=self.stop,
            request=self.request,
        )

    def _channel(self) -> str | None:
        """The wake channel of the spec in force (it follows the team id)."""
        good = self.engine.last_good
        if good is None:
            return None
        return markers.wake_channel(good.spec.team_id, str(self.engine.workspace))

    def _follow_channel(self) -> None:
        """A renamed team's new windows signal another channel: move the waiter to it."""
        waiter = self._waiter
        if waiter is not None and waiter.poll() is None and self._waiting_on != self._channel():
            waiter.terminate()

    def _agents_were_up(self) -> bool:
        last = self._last
        return last is not None and any(a.paneId for a in last.status.agents.values())

    def _wait_for_exits(self) -> None:
        """Sit in `tmux wait-for` on our channel until `stop`, again and again; after a
        failed one (no spec or no server yet, the server gone) only a second later."""
        poll(
            self._wait_once,
            until=lambda _calm: self.stop.is_set(),
            deadline=math.inf,
            interval=lambda _attempt, calm: WAIT_FOR_RETRY_SEC if calm else 0.0,
            sleep=self.stop.wait,
        )

    def _wait_once(self) -> bool:
        """One `tmux wait-for`: its return is an agent exit or a lost server. True when
        the next one should wait `WAIT_FOR_RETRY_SEC` (calmly: nothing to wait on yet)."""
        if self.stop.is_set():
            return False
        good = self.engine.last_good
        if good is None:
            return True
        tmux = self.engine.tmux_for(good.spec.runtime.tmux_socket)
        channel = markers.wake_channel(good.spec.team_id, str(self.engine.workspace))
        self._waiting_on = channel
        self._waiter = subprocess.Popen(
            [*tmux.base_argv(), "wait-for", channel],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        began = time.monotonic()
        code = self._waiter.wait()
        if self.stop.is_set():
            return False
        if channel != self._channel():
            return False  # moved to the renamed team's channel (`_follow_channel`)
        if code == 0:
            self.request("agent exited")
            return False
        if time.monotonic() - began > WAIT_FOR_RETRY_SEC or self._agents_were_up():
            # It was connected and the server went away, or it could not connect although
            # the last pass saw agents in panes (the server died before or just after we
            # connected; tests/faults): a pass recreates the team.
            self.request("tmux server gone")
        # Otherwise there is no server yet (no agents): retry calmly, no pass.
        return True

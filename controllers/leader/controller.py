"""The leader controller as the engine runs it: observe the leader's server, then decide.

It never acts (no actions): it finds which pane is the person's lead conversation from
evidence every pass (`plan_leader`) and reports `LeaderBound`, `LeaderUUIDMismatch`,
`LeaderAPIError`. Its observation costs no tmux call when no leader is declared or the
leader shares the workers' server, otherwise one `list-panes -a` on the hinted server
and the bound pane's text (`controllers.leader.observe`).
"""

from __future__ import annotations

import os

from controllers.base import ControllerBase, ControllerResult, ObserveContext, PassInputs, Report
from controllers.leader.identity import FingerprintSource, machine_fingerprint
from controllers.leader.observe import LeaderWorld, capture_leader, observe_leader
from controllers.leader.plan import leader_pane_to_capture, plan_leader
from reconciler.api.actions import Plan


class LeaderController(ControllerBase):
    """Which pane is the team's leader, decided from evidence every pass (docs/leader.md)."""

    name = "leader"

    def __init__(self) -> None:
        # The machine fingerprint, read once per process (macOS runs `ioreg` for it).
        self._fingerprint: tuple[str, FingerprintSource] | None = None

    def fingerprint(self) -> tuple[str, FingerprintSource]:
        if self._fingerprint is None:
            self._fingerprint = machine_fingerprint(os.environ)
        return self._fingerprint

    def observe(self, ctx: ObserveContext) -> LeaderWorld:
        leader, server = observe_leader(
            ctx.loaded.spec,
            ctx.loaded.workspace,
            state_dir=ctx.state_dir,
            world=ctx.world,
            workers=ctx.tmux,
            tmux_at=ctx.tmux_at,
            previous=ctx.previous.leader,
            env=ctx.env,
            fingerprint=self.fingerprint,
        )
        wanted = leader_pane_to_capture(leader, ctx.team.workspace_marker)
        if server is not None and wanted is not None and wanted not in leader.texts:
            leader = capture_leader(leader, server, wanted)
        return leader

    def reconcile(self, inputs: PassInputs) -> ControllerResult:
        leader = inputs.fact(LeaderWorld)
        if leader is None:  # None for tests that run other controllers alone
            return ControllerResult(plan=Plan(), report=Report())
        result = plan_leader(
            leader,
            workspace=inputs.team.workspace_marker,
            previous=inputs.previous.leader,
            now=inputs.now,
            generation=inputs.generation,
        )
        report = Report(leader=result.status, notes=result.notes)
        return ControllerResult(plan=Plan(), report=report)

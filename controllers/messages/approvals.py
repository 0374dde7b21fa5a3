"""Tool permission prompts that appear while an agent works: report them, answer few.

Role in the loop: an agent with open work has its pane captured each pass (the batched
capture, `controllers.agents.panes.panes_to_capture`); when its CLI asks for permission to
use a tool ("Allow tool Bash? [y/n]", Claude's "Do you want to proceed?"), the agent is
`Ready=False, reason=AwaitingApproval` with the prompt in the message and in
`AgentStatus.approval`, and `team-agent approvals` lists it. Messages wait meanwhile
(`controllers.messages.screen` counts the prompt as busy).

team-agent answers yes only for a tool the spec lists in the agent's `auto_approve`, and
only once per prompt (`ApprovalStatus.answered`): a prompt still on screen a pass later
is not answered twice, so a slow redraw never turns the answer into typed input. The
executor re-checks pane, process and prompt right before typing (`SendKeys`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from controllers.agents.actions import SendKeys
from controllers.messages.screen import find_approval
from controllers.providers.inputs import input_profile
from controllers.team.desired import DesiredAgent
from reconciler.api.actions import ProcessRef
from reconciler.api.clock import format_time
from reconciler.api.ids import PaneId
from reconciler.api.status import AgentStatus, ApprovalStatus
from reconciler.observe.screens import Screen, as_screen

APPROVAL_POLL_SEC = 1.0


@dataclass(frozen=True)
class ApprovalPlan:
    """A permission prompt is on screen: the status, Ready's message, the answer if any."""

    status: ApprovalStatus
    message: str
    action: SendKeys | None = None


def plan_approval(
    desired: DesiredAgent,
    prev: AgentStatus,
    screen: Screen | str,
    *,
    pane: PaneId,
    process: ProcessRef | None,
    now: datetime,
) -> ApprovalPlan | None:
    """None when no permission prompt of the agent's CLI is showing on `screen`."""
    profile = input_profile(desired.agent.provider)
    shot = as_screen(screen)
    if profile is None or not profile.approvals or not shot.text:
        return None
    seen = find_approval(profile, shot)
    if seen is None:
        return None
    before = prev.approval
    same = before is not None and (before.tool, before.prompt) == (seen.tool, seen.prompt)
    since = before.since if same and before is not None else format_time(now)
    answered = bool(same and before is not None and before.answered)
    headline = seen.prompt.split("\n", 1)[0].strip()
    action = None
    if seen.tool in desired.agent.auto_approve and not answered and process is not None:
        action = SendKeys(
            agent=desired.id,
            pane=pane,
            process=process,
            dialog=f"approval for {seen.tool}",
            keys=seen.keys,
            expect=seen.pattern,
            # What the screen shows: a renamed tool's name may appear nowhere on it.
            shows=seen.shown or seen.tool,
            cause=f"auto_approve lists {seen.tool}",
        )
        answered = True
        message = f"{seen.tool}: {headline} (answering yes: auto_approve lists {seen.tool})"
    elif answered:
        message = f"{seen.tool}: answered yes; waiting for the CLI to go on"
    else:
        message = (
            f"{seen.tool}: {headline} (answer it in the agent's pane: "
            f"team-agent attach {desired.id})"
        )
    status = ApprovalStatus(tool=seen.tool, prompt=seen.prompt, since=since, answered=answered)
    return ApprovalPlan(status=status, message=message, action=action)

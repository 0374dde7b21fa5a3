"""Tool permission prompts while an agent works: reported, answered only when listed, once.

`plan_approval` on literal screens (the fake agent's prompt as it prints it, Claude's
permission menu), then the same through `plan_agents` across passes, feeding each pass's
status into the next. Pure: no tmux, no clock.
"""

from __future__ import annotations

from typing import Any

import msgspec

from controllers.agents.actions import SendKeys
from controllers.agents.plan import plan_agents
from controllers.messages.approvals import APPROVAL_POLL_SEC, ApprovalPlan, plan_approval
from controllers.team.desired import DesiredAgent, DesiredTeam
from reconciler.api import conditions as C
from reconciler.api.actions import ProcessRef
from reconciler.api.clock import format_time
from reconciler.api.ids import AgentId, PaneId
from reconciler.api.status import AgentStatus, ApprovalStatus
from tests.unit.builders import (
    CLAUDE_PERMISSION_MENU,
    GENERATION,
    NOW,
    agent_pane,
    ago,
    desired,
    fake,
    installed,
    running_status,
    team_status,
    world,
)

PANE = PaneId("%1")
PROC = ProcessRef(1001, 1000.0)
BANNER = "fake-agent 0.3.0 ready (agent=impl, session=6492c96c-af94-439f-9080-df4732fc0cf1)"
ASKING = f"{BANNER}\nfake> do it\n[tool:Bash]\nAllow tool Bash? [y/n] \n\n\n"
ASKING_WRITE = f"{BANNER}\nfake> do it\n[tool:Write]\nAllow tool Write? [y/n] \n\n\n"
ANSWERED_WORKING = (
    f"{BANNER}\nfake> do it\n[tool:Bash]\n[sleep:5]\nAllow tool Bash? [y/n] y\n"
    "tool Bash approved\nworking...\n\n"
)
ANSWERED = (
    f"{BANNER}\nfake> do it\n[tool:Bash]\nAllow tool Bash? [y/n] y\ntool Bash approved\n"
    "fake: do it (+1 lines, 17 bytes, sha256 0c5d1e6b8a3f)\nfake> \n\n"
)
CLAUDE_MENU = "> fix the build\n\n" + CLAUDE_PERMISSION_MENU


def agent(**fields: Any) -> DesiredAgent:
    team = desired(fake("impl", **fields))
    found = team.agent("impl")
    assert found is not None
    return found


def decide(
    text: str,
    *,
    prev: AgentStatus | None = None,
    process: ProcessRef | None = PROC,
    **fields: Any,
) -> ApprovalPlan | None:
    return plan_approval(
        agent(**fields),
        prev if prev is not None else AgentStatus(),
        text,
        pane=PANE,
        process=process,
        now=NOW,
    )


def test_a_prompt_is_reported_with_its_text_and_waits_for_a_person() -> None:
    found = decide(ASKING)
    assert found is not None
    assert found.status == ApprovalStatus(
        tool="Bash", prompt="Allow tool Bash? [y/n]", since=format_time(NOW), answered=False
    )
    assert found.action is None
    assert found.message == (
        "Bash: Allow tool Bash? [y/n] (answer it in the agent's pane: team-agent attach impl)"
    )


def test_a_listed_tool_is_answered_once() -> None:
    found = decide(ASKING, auto_approve=["Bash"])
    assert found is not None
    assert found.action == SendKeys(
        agent=AgentId("impl"),
        pane=PANE,
        process=PROC,
        dialog="approval for Bash",
        keys=("y", "Enter"),
        expect=r"^Allow tool (?P<tool>[A-Za-z0-9_.:-]+)\? \[y/n\] ?$",
        shows="Bash",
        cause="auto_approve lists Bash",
    )
    assert found.action.render() == (
        "answer  agent/impl pane %1 approval for Bash dialog [y Enter] (auto_approve lists Bash)"
    )
    assert found.status.answered
    assert found.message == (
        "Bash: Allow tool Bash? [y/n] (answering yes: auto_approve lists Bash)"
    )
    # The prompt is still on screen a pass later: the status says it was answered.
    prev = AgentStatus(approval=found.status)
    later = decide(ASKING, prev=prev, auto_approve=["Bash"])
    assert later is not None
    assert later.action is None
    assert later.status == found.status
    assert later.message == "Bash: answered yes; waiting for the CLI to go on"


def test_the_answer_on_the_prompts_line_ends_it() -> None:
    # Answered, and the fake works on: the prompt with its `y` is no question any more,
    # so nothing is typed a second time (it would reach the fake as a message).
    prev = AgentStatus(
        approval=ApprovalStatus(
            tool="Bash", prompt="Allow tool Bash? [y/n]", since=format_time(ago(2)), answered=True
        )
    )
    assert decide(ANSWERED_WORKING, prev=prev, auto_approve=["Bash"]) is None
    assert decide(ANSWERED, prev=prev, auto_approve=["Bash"]) is None


def test_a_tool_not_listed_is_never_answered() -> None:
    found = decide(ASKING_WRITE, auto_approve=["Bash"])
    assert found is not None
    assert found.status.tool == "Write"
    assert found.action is None
    assert not found.status.answered


def test_no_answer_without_the_process_to_recheck() -> None:
    found = decide(ASKING, process=None, auto_approve=["Bash"])
    assert found is not None
    assert found.action is None
    assert not found.status.answered


def test_a_prompt_seen_before_keeps_its_time_and_a_new_one_starts_afresh() -> None:
    earlier = format_time(ago(40))
    asked = ApprovalStatus(tool="Bash", prompt="Allow tool Bash? [y/n]", since=earlier)
    waiting = AgentStatus(approval=asked)
    same = decide(ASKING, prev=waiting)
    assert same is not None and same.status.since == earlier
    # The spec now lists the tool: an unanswered prompt is answered.
    listed = decide(ASKING, prev=waiting, auto_approve=["Bash"])
    assert listed is not None and listed.action is not None
    assert listed.status.since == earlier
    # Another tool's prompt after an answered one: a new question, answered if listed.
    answered = AgentStatus(approval=msgspec.structs.replace(asked, answered=True))
    other = decide(ASKING_WRITE, prev=answered, auto_approve=["Bash", "Write"])
    assert other is not None
    assert other.status.since == format_time(NOW)
    assert other.action is not None and other.action.shows == "Write"


def test_no_prompt_no_plan() -> None:
    assert decide("") is None
    assert decide(f"{BANNER}\nfake> \n") is None
    assert decide(ANSWERED) is None
    shell_team = desired({"id": "build", "provider": "shell", "command": ["sleep", "1"]})
    build = shell_team.agent("build")
    assert build is not None
    assert plan_approval(build, AgentStatus(), ASKING, pane=PANE, process=PROC, now=NOW) is None
    codex = desired({"id": "cx", "provider": "codex"}).agent("cx")
    assert codex is not None  # codex approvals are not modelled
    assert plan_approval(codex, AgentStatus(), ASKING, pane=PANE, process=PROC, now=NOW) is None


def test_claudes_permission_menu_is_answered_with_its_first_choice() -> None:
    claude = desired({"id": "impl", "provider": "claude", "auto_approve": ["Bash"]}).agent("impl")
    assert claude is not None
    found = plan_approval(claude, AgentStatus(), CLAUDE_MENU, pane=PANE, process=PROC, now=NOW)
    assert found is not None
    assert found.status.tool == "Bash"
    assert found.status.prompt.startswith(" Bash command\n   rm -rf build\n")
    assert found.message.startswith("Bash: Bash command (answering yes")
    assert found.action is not None and found.action.keys == ("1",)


# --- through the agents controller, pass after pass -----------------------------------------


def run(
    team: DesiredTeam, screen: str, previous: AgentStatus
) -> tuple[str, AgentStatus, float | None]:
    pane = agent_pane(team, "impl", "%1")
    result = plan_agents(
        team,
        world(pane, captures={"%1": screen}),
        team_status({"impl": previous}),
        now=NOW,
        generation=GENERATION,
        installed=installed(team),
    )
    return result.plan.render(), result.agents["impl"], result.plan.requeue_after


def ready_of(status: AgentStatus) -> tuple[str, str, str]:
    found = C.find_condition(status.conditions, C.READY)
    assert found is not None
    return found.status, found.reason, found.message


def test_an_agent_awaiting_approval_is_not_ready_until_the_prompt_goes() -> None:
    team = desired(fake("impl", auto_approve=["Bash"]))
    start = running_status(team, "impl", "%1")

    plan, first, requeue = run(team, ASKING, start)
    assert plan == (
        "answer  agent/impl pane %1 approval for Bash dialog [y Enter] (auto_approve lists Bash)"
    )
    assert ready_of(first) == (
        C.FALSE,
        C.AWAITING_APPROVAL,
        "Bash: Allow tool Bash? [y/n] (answering yes: auto_approve lists Bash)",
    )
    assert first.approval is not None and first.approval.answered
    assert requeue == APPROVAL_POLL_SEC

    # The prompt is still drawn a pass later: not answered twice.
    plan, second, _ = run(team, ASKING, first)
    assert plan == "no changes: the world matches the spec"
    assert second.approval == first.approval
    assert ready_of(second)[1] == C.AWAITING_APPROVAL

    # Answered on screen and working: no prompt any more, nothing typed.
    plan, third, _ = run(team, ANSWERED_WORKING, second)
    assert plan == "no changes: the world matches the spec"
    assert third.approval is None

    # The prompt is gone and the fake's prompt is back: Ready again.
    plan, fourth, _ = run(team, ANSWERED, third)
    assert plan == "no changes: the world matches the spec"
    assert fourth.approval is None
    assert ready_of(fourth)[:2] == (C.TRUE, C.RUNNING)


def test_an_unlisted_tool_waits_for_a_person() -> None:
    team = desired(fake("impl"))
    plan, status, _ = run(team, ASKING, running_status(team, "impl", "%1"))
    assert plan == "no changes: the world matches the spec"
    assert ready_of(status) == (
        C.FALSE,
        C.AWAITING_APPROVAL,
        "Bash: Allow tool Bash? [y/n] (answer it in the agent's pane: team-agent attach impl)",
    )
    assert status.approval is not None and not status.approval.answered

# ruff: noqa: RUF001  (literal screens of the CLIs, their glyphs included)
"""First-run dialogs as the plan sees them: named, and answered only on every condition.

Pane texts are literal screens in each CLI's wording; `plan_dialog` and `plan_agents` are
pure, so no tmux is needed. The end-to-end tests check the same rules on the stubs.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest

from controllers.agents.actions import SendKeys
from controllers.agents.plan import plan_agents
from controllers.sessions.dialogs import (
    AUTO_TRUST_ENV,
    DialogPlan,
    find_dialog,
    own_folders,
    plan_dialog,
)
from controllers.sessions.view import ProviderView
from reconciler.api import conditions as C
from reconciler.api.actions import ProcessRef
from reconciler.api.ids import PaneId
from reconciler.api.status import AgentStatus
from reconciler.observe.screens import Screen
from tests.unit.builders import (
    GENERATION,
    NOW,
    agent_pane,
    desired,
    installed,
    team_status,
    world,
)

PROC = ProcessRef(1001, 1000.0)


def claude_trust(path: str, *, first: str = "Yes, I trust this folder") -> str:
    second = "No, exit" if first.startswith("Yes") else "Yes, I trust this folder"
    return (
        f" Accessing workspace:\n\n {path}\n\n Quick safety check: Is this a project you "
        f"created or one you trust?\n\n❯ 1. {first}\n  2. {second}\n\n"
        " Enter to confirm · Esc to cancel\n"
    )


CLAUDE_API_KEY = (  # claude 2.1.197 (tests/fixtures/screens/claude/2.1.197/firstrun_api_key.txt)
    "  Detected a custom API key in your environment\n\n  ANTHROPIC_API_KEY: sk-ant-...mnop\n\n"
    "  Do you want to use this API key?\n\n    1. Yes\n  ❯ 2. No (recommended)\n"
)
CODEX_TRUST = (  # codex 0.171.0 (tests/fixtures/screens/codex/0.171.0/trust.txt)
    "\n  Folder access\n  /ws\n\n  Trust this folder? Codex can read, edit, and run files "
    "here, subject to your permission settings.\n\n"
    "› 1. Trust and continue\n  2. Back to Agent Command Center\n\n  enter continue · esc back\n"
)
GEMINI_TRUST = (  # gemini 0.61.0 (tests/fixtures/screens/gemini/0.61.0/trust.txt)
    " │ Do you trust the files in this folder?\n │\n │ ● 1. Trust folder (ws)\n"
    " │   2. Trust parent folder (tmp)\n │   3. Don't trust\n"
)


def decide(
    provider: str,
    text: str,
    *,
    auto_trust: bool = True,
    answered: int | None = None,
    **fields: Any,
) -> DialogPlan | None:
    team = desired({"id": "impl", "provider": provider, **fields})
    agent = team.agents[0]
    return plan_dialog(
        agent,
        AgentStatus(dialogAnsweredPid=answered),
        text,
        pane=PaneId("%1"),
        process=PROC,
        workspace="/ws",
        auto_trust=auto_trust,
    )


class Case(NamedTuple):
    test_id: str
    provider: str
    text: str
    kwargs: dict[str, Any]
    keys: tuple[str, ...] | None  # what is typed (None: nothing)
    message: str  # a part of Ready's message


CASES = [
    Case("claude-own-folder", "claude", claude_trust("/ws"), {}, ("Enter",), "answering the"),
    Case("claude-agent-folder", "claude", claude_trust("/ws/sub"),
         {"working_directory": "sub"}, ("Enter",), "for /ws/sub (opted in)"),
    Case("codex-own-folder", "codex", CODEX_TRUST, {}, ("Enter",), "answering the folder trust"),
    Case("no-opt-in", "claude", claude_trust("/ws"), {"auto_trust": False}, None,
         AUTO_TRUST_ENV + "=1"),
    Case("other-folder", "claude", claude_trust("/home/me"), {}, None,
         "for /home/me, which is not this workspace (/ws)"),
    Case("parent-folder", "claude", claude_trust("/"), {}, None, "which is not this workspace"),
    Case("sibling-prefix", "claude", claude_trust("/ws2"), {}, None, "not this workspace"),
    Case("no-listed-first", "claude", claude_trust("/ws", first="No, exit"), {}, None,
         "the trust choice is not the selected one"),
    Case("answered-before", "claude", claude_trust("/ws"), {"answered": PROC.pid}, None,
         "answered the folder trust dialog for /ws"),
    Case("gemini-shows-no-path", "gemini", GEMINI_TRUST, {}, None, "shows no folder path"),
    Case("api-key", "claude", CLAUDE_API_KEY, {}, None, "waiting at the custom API key dialog"),
    Case("codex-update", "codex", "  ✨ Update available! 0.1 -> 0.2\n› 1. Update now\n", {},
         None, "waiting at the update available dialog"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.test_id for c in CASES])
def test_dialog_decisions(case: Case) -> None:
    decided = decide(case.provider, case.text, **case.kwargs)

    assert decided is not None
    assert case.message in decided.message
    if case.keys is None:
        assert decided.action is None and decided.answered_pid is None
    else:
        assert isinstance(decided.action, SendKeys)
        assert decided.action.keys == case.keys
        assert decided.action.process == PROC
        assert decided.answered_pid == PROC.pid


def test_no_dialog_and_leftover_dialog_are_not_dialogs() -> None:
    # Claude 2.1.197's box (U+276F + U+00A0 between rules), the cursor in it.
    prompt = "─" * 10 + "\n❯\u00a0\n" + "─" * 10 + "\n  ? for shortcuts\n"
    assert decide("claude", Screen(prompt, 2, 1)) is None
    answered = claude_trust("/ws") + prompt  # answered, then the box below it
    assert decide("claude", Screen(answered, 2, answered.count("\n") - 3)) is None
    assert decide("shell", claude_trust("/ws"), command=["sleep", "1"]) is None


def test_send_keys_carries_what_the_executor_re_checks() -> None:
    decided = decide("claude", claude_trust("/ws"))
    assert decided is not None and decided.action is not None
    action = decided.action
    assert (action.pane, action.shows, action.dialog) == ("%1", "/ws", "folder trust")
    assert action.render() == (
        "answer  agent/impl pane %1 folder trust dialog [Enter] "
        f"({AUTO_TRUST_ENV}: the dialog asks about this workspace)"
    )


def test_own_folders_are_the_workspace_and_an_agent_folder_inside_it() -> None:
    assert own_folders("/ws", "/ws/a/b") == {"/ws", "/ws/a/b"}
    assert own_folders("/ws/", "/ws") == {"/ws"}
    assert own_folders("/ws", "/elsewhere") == {"/ws"}
    assert own_folders("/ws", "/ws2") == {"/ws"}


def test_find_dialog_picks_the_one_still_on_screen() -> None:
    team = desired({"id": "impl", "provider": "claude"})
    dialogs = team.agents[0].profile.dialogs
    found = find_dialog(dialogs, claude_trust("/ws"), r"\? for shortcuts")
    assert found is not None and found.name == "folder trust"


def test_plan_agents_answers_once_and_records_the_pid() -> None:
    team = desired({"id": "impl", "provider": "claude"})
    pane = agent_pane(team, "impl", "%1")
    screen = world(pane, captures={"%1": claude_trust("/ws")})
    view = ProviderView(auto_trust=True)

    def run(previous: dict[str, AgentStatus]) -> tuple[str, AgentStatus]:
        result = plan_agents(
            team,
            screen,
            team_status(previous),
            now=NOW,
            generation=GENERATION,
            installed=installed(team),
            provider_view=view,
        )
        return result.plan.render(), result.agents["impl"]

    first_plan, first = run({})
    second_plan, second = run({"impl": first})

    assert first_plan.startswith("answer  agent/impl pane %1 folder trust dialog [Enter]")
    assert first.dialogAnsweredPid == pane.pane_pid
    ready = C.find_condition(first.conditions, C.READY)
    assert ready is not None and (ready.status, ready.reason) == (C.FALSE, C.AWAITING_INPUT)
    assert second_plan == "no changes: the world matches the spec"
    assert second.dialogAnsweredPid == pane.pane_pid

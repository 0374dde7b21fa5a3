"""First-run dialogs: name the one on screen, and answer folder trust only on opt-in.

Role in the loop: while an agent is not Ready its pane text is captured (the same batched
capture readiness uses), and the agents controller asks `plan_dialog` whether one of its
CLI's dialogs (`ProviderProfile.dialogs`) is showing. If so the agent is `Ready=False,
reason=AwaitingInput` with the dialog named in the message.

Nothing is typed into a dialog except the folder-trust answer, and that only when all of
these hold: the person opted in (`TEAM_AGENT_AUTO_TRUST_OWN_WORKSPACE=1` in team-agent's
environment, or the deprecated `runtime.auto_trust_own_workspace`); the dialog shows a
folder path and it is this workspace's own (the workspace, or the agent's folder inside
it); the "trust" choice is the one the keys select; and this process was not answered
before (`dialogAnsweredPid`), so a dialog still on screen a pass later is not answered
twice. The executor re-checks pane, process and dialog text right before typing.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass

from controllers.agents.actions import SendKeys
from controllers.messages.screen import find_box
from controllers.providers.base import Dialog, InputProfile
from controllers.providers.inputs import input_profile
from controllers.team.desired import DesiredAgent
from reconciler.api import patterns
from reconciler.api.actions import ProcessRef
from reconciler.api.ids import PaneId
from reconciler.api.patterns import PatternTooSlow
from reconciler.api.status import AgentStatus
from reconciler.observe.screens import Screen, as_screen

AUTO_TRUST_ENV = "TEAM_AGENT_AUTO_TRUST_OWN_WORKSPACE"


@dataclass(frozen=True)
class DialogPlan:
    """A dialog is on screen: what Ready's message says, and the answer if any."""

    message: str
    action: SendKeys | None = None
    answered_pid: int | None = None  # set dialogAnsweredPid when answering


def find_dialog(
    dialogs: tuple[Dialog, ...],
    screen: Screen | str,
    readiness: str | None = None,
    profile: InputProfile | None = None,
) -> Dialog | None:
    """The first declared dialog whose pattern is on screen and still current.

    A dialog followed by the CLI's prompt was answered and is only left over on the
    screen: by the readiness pattern matching after it, or (no pattern) by the input box
    the cursor is in lying below it.
    """
    shot = as_screen(screen)
    text = shot.text if shot.has_cursor else shot.joined
    prompt_at = -1
    if readiness is not None:
        # The spec's pattern: too slow to match counts as "no prompt seen" (agent_live says why).
        with contextlib.suppress(PatternTooSlow):
            prompt_at = max(patterns.starts(readiness, text), default=-1)
    elif profile is not None and shot.has_cursor:
        box = find_box(profile, shot)
        if box is not None:
            prompt_at = sum(len(row) + 1 for row in shot.rows[: box.row])
    for dialog in dialogs:
        shown = [m.start() for m in re.finditer(dialog.pattern, text, re.MULTILINE)]
        if shown and shown[-1] > prompt_at:
            return dialog
    return None


def dialog_path(dialog: Dialog, text: str) -> str | None:
    """The folder path the dialog asks about, when it shows one."""
    if dialog.path_pattern is None:
        return None
    found = re.search(dialog.path_pattern, text, re.MULTILINE)
    if found is None:
        return None
    return found.group("path").rstrip("/") or "/"


def own_folders(workspace: str, cwd: str) -> frozenset[str]:
    """The paths a trust dialog may show to be answered: the workspace, the agent's folder."""
    root = os.path.normpath(workspace)
    folder = os.path.normpath(cwd)
    inside = folder == root or folder.startswith(root.rstrip("/") + "/")
    return frozenset({root, folder} if inside else {root})


def plan_dialog(
    desired: DesiredAgent,
    prev: AgentStatus,
    screen: Screen | str,
    *,
    pane: PaneId,
    process: ProcessRef | None,
    workspace: str,
    auto_trust: bool,
) -> DialogPlan | None:
    """None when no dialog of the agent's CLI is showing on `screen`."""
    if desired.launch is None:
        return None
    shot = as_screen(screen)
    dialog = find_dialog(
        desired.profile.dialogs,
        shot,
        desired.launch.readiness_pattern,
        input_profile(desired.agent.provider),
    )
    if dialog is None:
        return None
    if not dialog.trust:
        return DialogPlan(f"waiting at the {dialog.name} dialog: {_answer_here(desired)}")
    return _trust_dialog(
        desired,
        prev,
        dialog,
        shot.joined,
        pane=pane,
        process=process,
        workspace=workspace,
        auto_trust=auto_trust,
    )


def _trust_dialog(
    desired: DesiredAgent,
    prev: AgentStatus,
    dialog: Dialog,
    text: str,
    *,
    pane: PaneId,
    process: ProcessRef | None,
    workspace: str,
    auto_trust: bool,
) -> DialogPlan:
    """A folder-trust dialog: answered only for this workspace, when opted in, once per
    process, and only when the trust choice is the selected one; otherwise a person's."""
    assert desired.launch is not None
    name = dialog.name
    answer_here = _answer_here(desired)
    path = dialog_path(dialog, text)
    if path is None:
        return DialogPlan(
            f"waiting at the {name} dialog, which shows no folder path team-agent can "
            f"check: {answer_here}"
        )
    if os.path.normpath(path) not in own_folders(workspace, desired.launch.cwd):
        return DialogPlan(
            f"waiting at the {name} dialog for {path}, which is not this workspace "
            f"({workspace}): {answer_here}"
        )
    if not auto_trust:
        return DialogPlan(
            f"waiting at the {name} dialog for {path}: {answer_here}, or set "
            f"{AUTO_TRUST_ENV}=1 to let team-agent answer it for this workspace"
        )
    if process is not None and prev.dialogAnsweredPid == process.pid:
        return DialogPlan(f"answered the {name} dialog for {path}; waiting for the CLI to go on")
    if dialog.accept_when is None or not re.search(dialog.accept_when, text, re.MULTILINE):
        return DialogPlan(
            f"waiting at the {name} dialog for {path}: the trust choice is not the selected "
            f"one, so team-agent does not answer; {answer_here}"
        )
    if process is None or not dialog.accept_keys:
        return DialogPlan(f"waiting at the {name} dialog for {path}: {answer_here}")
    action = SendKeys(
        agent=desired.id,
        pane=pane,
        process=process,
        dialog=name,
        keys=dialog.accept_keys,
        expect=dialog.accept_when,
        shows=path,
        cause=f"{AUTO_TRUST_ENV}: the dialog asks about this workspace",
    )
    return DialogPlan(
        f"answering the {name} dialog for {path} (opted in)", action, answered_pid=process.pid
    )


def _answer_here(desired: DesiredAgent) -> str:
    return f"answer it in the agent's pane (team-agent attach {desired.id})"

"""First-run dialogs end to end: named in AwaitingInput, trust answered only on opt-in.

The stubs show the real dialogs (Claude's folder trust when `.claude.json` does not trust
the folder, Codex's when `config.toml` does not, a login screen on request) and log every
key that answers one and every line typed afterwards, so "answered once, nothing else
typed" is checked on what the CLI received.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from controllers.agents.actions import SendKeys
from controllers.registry import default_controllers
from controllers.sessions.dialogs import AUTO_TRUST_ENV
from reconciler.api import conditions as C
from reconciler.api.actions import ProcessRef
from reconciler.api.ids import AgentId
from reconciler.apply.executor import ApplyContext, apply_plan
from reconciler.engine.engine import PassResult
from reconciler.observe.world import observe
from tests.conftest import TeamWorkspace
from tests.e2e.stubenv import StubEnv, stub_env

pytestmark = pytest.mark.e2e


def spec(provider: str, extra: str = "") -> str:
    return f"""\
        version: 1
        team: {{name: dlg}}
        {extra}agents:
          - id: worker
            provider: {provider}
        """


def awaiting(result: PassResult) -> str | None:
    ready = C.find_condition(result.status.agents["worker"].conditions, C.READY)
    if ready is not None and ready.reason == C.AWAITING_INPUT:
        return ready.message
    return None


def wait_awaiting(env: StubEnv) -> str:
    result = env.passes_until(lambda r: awaiting(r) is not None)
    message = awaiting(result)
    assert message is not None
    return message


def test_trust_dialog_without_opt_in_waits_and_types_nothing(
    team: TeamWorkspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = stub_env(team, tmp_path, monkeypatch)
    team.write_spec(spec("claude"))

    message = wait_awaiting(env)
    for _ in range(3):
        team.reconcile()

    workspace = str(team.root.resolve())
    assert message.startswith(f"waiting at the folder trust dialog for {workspace}")
    assert AUTO_TRUST_ENV in message
    assert env.records("dialog") == []
    assert len(env.events(C.AWAITING_INPUT, "worker")) == 1
    assert "Yes, I trust this folder" in env.screen("worker")


@pytest.mark.parametrize("provider", ["claude", "codex", "copilot"])
def test_trust_dialog_of_this_workspace_is_answered_once_on_opt_in(
    team: TeamWorkspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, provider: str
) -> None:
    env = stub_env(team, tmp_path, monkeypatch)
    monkeypatch.setenv(AUTO_TRUST_ENV, "1")
    team.write_spec(spec(provider))

    result = team.converge()
    for _ in range(3):
        team.reconcile()

    (answer,) = env.records("dialog", provider)
    # Copilot: "2. Yes, and remember this folder" (its "1. Yes" lasts one session only).
    expected = "remember" if provider == "copilot" else "yes"
    assert (answer["dialog"], answer["answer"]) == ("folder trust", expected)
    assert env.records("input", provider) == []  # nothing typed after the answer
    assert C.is_true(result.status.agents["worker"].conditions, C.READY)
    assert len(env.events("AnsweredDialog", "worker")) == 1
    if provider == "claude":
        state = json.loads((env.home / ".claude.json").read_text())
        assert state["projects"][str(team.root.resolve())]["hasTrustDialogAccepted"] is True
    if provider == "copilot":
        state = json.loads((env.home / ".copilot" / "config.json").read_text())
        assert state["trustedFolders"] == [str(team.root.resolve())]


def test_deprecated_spec_field_also_opts_in(
    team: TeamWorkspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = stub_env(team, tmp_path, monkeypatch)
    deprecated = "runtime:\n          auto_trust_own_workspace: true\n        "
    team.write_spec(spec("claude", extra=deprecated))

    team.converge()

    assert len(env.records("dialog", "claude")) == 1


def test_trust_dialog_for_another_folder_is_not_answered(
    team: TeamWorkspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workspace sits in a git repository: Claude asks about the repository root, which
    is not this workspace's own path, so even with the opt-in nothing is typed."""
    env = stub_env(team, tmp_path, monkeypatch)
    monkeypatch.setenv(AUTO_TRUST_ENV, "1")
    repo = team.root.parent
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    team.write_spec(spec("claude"))

    message = wait_awaiting(env)
    for _ in range(3):
        team.reconcile()

    assert f"for {repo.resolve()}, which is not this workspace" in message
    assert env.records("dialog") == []


def test_other_first_run_dialogs_are_named_and_never_answered(
    team: TeamWorkspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = stub_env(team, tmp_path, monkeypatch)
    env.trust_all(team.root.resolve())
    monkeypatch.setenv(AUTO_TRUST_ENV, "1")
    monkeypatch.setenv("STUB_SHOW_DIALOG", "api-key")  # Claude 2.1.197's, an unapproved key
    team.write_spec(spec("claude"))

    message = wait_awaiting(env)
    for _ in range(3):
        team.reconcile()

    assert message.startswith("waiting at the custom API key dialog")
    assert env.records("dialog") == []


def test_executor_types_nothing_when_pane_or_dialog_changed(
    team: TeamWorkspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A planned answer meets a pane that no longer shows the dialog, or runs another
    process: the executor re-checks and refuses; the CLI receives no key."""
    env = stub_env(team, tmp_path, monkeypatch)
    env.trust_all(team.root.resolve())
    team.write_spec(spec("claude"))
    team.converge()
    observed = observe(team.tmux)
    pane = team.agent_panes("worker")[0]
    assert pane.pane_pid is not None
    process = observed.processes.get(pane.pane_pid)
    assert process is not None
    workspace = str(team.root.resolve())
    ctx = ApplyContext(
        tmux=team.tmux,
        world=observed,
        team_id="dlg",
        workspace=workspace,
        state_dir=team.root / ".team",
        python=sys.executable,
    )

    def answer(proc: ProcessRef) -> SendKeys:
        return SendKeys(
            agent=AgentId("worker"),
            pane=pane.pane_id,
            process=proc,
            dialog="folder trust",
            keys=("Enter",),
            expect=r"Yes, I trust this folder",
            shows=workspace,
            cause="test",
        )

    gone, other = apply_plan(
        [
            answer(ProcessRef(process.pid, process.create_time)),
            answer(ProcessRef(process.pid, process.create_time + 5)),
        ],
        ctx,
        default_controllers(),
    )

    assert not gone.ok and "no longer shows the folder trust dialog" in gone.message
    assert not other.ok and "another process" in other.message
    env.send("worker", "/noop-marker")  # the first line the CLI receives is ours
    env.passes_until(lambda r: bool(env.records("input")))
    assert [r["text"] for r in env.records("input")] == ["/noop-marker"]

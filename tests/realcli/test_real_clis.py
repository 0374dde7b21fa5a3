"""Every provider against its real CLI: one parametrised suite, five CLIs.

Each test runs the pinned CLI (`tests/realcli/package.json`) in a private tmux server
under team-agent's reconciler, pointed at our mock model server on 127.0.0.1, and checks
what a person relies on: Ready only when the input box takes input; first-run dialogs are
`AwaitingInput` and typed into only on opt-in; every message reaches the model exactly
once; a tool prompt is `AwaitingApproval` and `auto_approve` answers it once; a killed
CLI comes back into the same conversation; `down` leaves nothing of ours running.
"""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest

from reconciler.api import conditions as C
from tests.conftest import retry_until
from tests.mockmodel.replies import Text, ToolCall
from tests.realcli.clis import CLIS, RealCli
from tests.realcli.team import RealTeam

pytestmark = [pytest.mark.e2e, pytest.mark.realcli]

PROVIDERS = [pytest.param(cli, id=name) for name, cli in CLIS.items()]


def token(label: str) -> str:
    """A word that identifies one message in the mock's log."""
    return f"{label}-{uuid.uuid4().hex[:10]}"


def exchange(real: RealTeam, label: str) -> str:
    """Send one message, wait for it to be delivered and to reach the model; its token."""
    word = token(label)
    message_id = real.send(f"please answer briefly: {word}")
    real.until_delivered(message_id)
    real.until_model_saw(word)
    return word


@pytest.mark.parametrize("cli", PROVIDERS)
def test_lifecycle_messages_restart_resume_down(real_team: RealTeam, cli: RealCli) -> None:
    real = real_team
    real.spec(cli.provider)
    result = real.until_ready(timeout=cli.ready_sec)
    assert C.find_condition(result.status.agents["worker"].conditions, C.READY).reason == C.RUNNING  # type: ignore[union-attr]

    words = [exchange(real, f"m{i}") for i in range(3)]
    real.until_ready()
    for word in words:
        assert real.turns_with(word) == 1, f"{word} reached the model {real.turns_with(word)} times"
    inbox = json.loads(real.cli("inbox", "worker", "-o", "json").stdout)
    assert [m["state"] for m in inbox] == ["delivered"] * 3

    before = real.pane_pid()
    real.kill_cli()
    real.until(
        lambda r: (
            r.status.agents["worker"].pid not in (None, before)
            and C.is_true(r.status.agents["worker"].conditions, C.READY)
        ),
        timeout=cli.ready_sec,
    )
    status = real.team.status().agents["worker"]
    assert status.restartCount == 1
    assert not C.is_true(status.conditions, C.CRASH_LOOP_BACK_OFF)
    after = exchange(real, "resumed")
    if cli.resumes:
        turn = next(t for t in real.mock.turns() if after in (t.user_texts() or [""])[-1])
        earlier = " ".join(turn.user_texts()[:-1])
        assert all(word in earlier for word in words), "the restart did not resume the conversation"

    done = real.cli("down")
    assert done.returncode == 0, done.stderr
    retry_until(lambda: not real.ours(), timeout=15)


@pytest.mark.parametrize("cli", PROVIDERS)
def test_a_long_message_and_one_sent_while_the_model_streams(
    real_team: RealTeam, cli: RealCli
) -> None:
    real = real_team
    real.spec(cli.provider)
    real.until_ready(timeout=cli.ready_sec)

    word = token("long")
    lines = [f"line {i:03d} {word} " + "x" * 50 for i in range(300)]
    message_id = real.send("\n".join(lines))
    real.until_delivered(message_id)
    real.until_model_saw(lines[-1])
    received = real.mock.turns()[-1].user_texts()[-1]
    assert all(line in received for line in lines), "the 300-line message arrived damaged"
    assert real.turns_with(lines[-1]) == 1

    # No repeated text: Gemini's loop detector stops a reply in which one 50-character
    # chunk recurs ten times ("streaming " * 40 did) and asks the person (measured).
    words = " ".join(f"streaming-{n}" for n in range(40))
    real.mock.script(Text(words, chunks=40, chunk_delay=0.15))
    slow = exchange(real, "slow")
    second = token("second")
    second_id = real.send(f"and this: {second}")
    real.until_delivered(second_id, timeout=60)
    real.until_model_saw(second)
    assert real.turns_with(slow) == 1 and real.turns_with(second) == 1


@pytest.mark.parametrize("cli", [p for p in PROVIDERS if p.values[0].trust_dialog])
def test_the_trust_dialog_waits_for_the_person_or_the_opt_in(
    real_team: RealTeam, cli: RealCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = real_team
    real.spec(cli.provider, trusted=False, git=cli.trust_in_git_only)
    seen_ready: list[bool] = []

    def at_dialog(result: object) -> bool:
        conditions = real.team.status().agents["worker"].conditions
        seen_ready.append(C.is_true(conditions, C.READY))
        ready = C.find_condition(conditions, C.READY)
        return ready is not None and ready.reason == C.AWAITING_INPUT

    real.until(at_dialog, timeout=cli.ready_sec)
    ready = real.ready()
    assert ready is not None and cli.trust_dialog in ready.message
    for _ in range(5):
        real.team.reconcile()
    assert real.ready().reason == C.AWAITING_INPUT  # type: ignore[union-attr]

    monkeypatch.setenv("TEAM_AGENT_AUTO_TRUST_OWN_WORKSPACE", "1")
    if not cli.trust_answerable:
        # The dialog shows no folder path team-agent can check: opted in, it still waits,
        # and the person answers it in the pane (the first choice, "Trust folder").
        for _ in range(5):
            real.team.reconcile()
        assert real.ready().reason == C.AWAITING_INPUT  # type: ignore[union-attr]
        pane = real.team.agent_panes("worker")[0].pane_id
        subprocess.run(
            ["tmux", "-L", real.team.socket, "send-keys", "-t", pane, "Enter"], check=True
        )
    real.until_ready(timeout=cli.ready_sec)
    answered = [
        e
        for e in json.loads(real.cli("events", "-o", "json").stdout)
        if e.get("reason") == "DialogAnswered"
    ]
    assert len(answered) <= (1 if cli.trust_answerable else 0)
    assert not any(seen_ready[:-1]), "Ready=True was reported while the trust dialog was coming"


@pytest.mark.parametrize("cli", PROVIDERS)
def test_a_tool_prompt_is_awaiting_approval_and_auto_approve_answers_it_once(
    real_team: RealTeam, cli: RealCli
) -> None:
    real = real_team
    real.spec(cli.provider)
    real.until_ready(timeout=cli.ready_sec)
    real.mock.script(ToolCall("touch approval-probe"), Text("done"))
    real.send("please create the probe file")
    reason = real.until_reason(C.AWAITING_APPROVAL)
    assert cli.approval_tool in reason.message
    listed = json.loads(real.cli("approvals", "-o", "json").stdout)
    assert [a["tool"] for a in listed] == [cli.approval_tool]

    real.spec(cli.provider, fields=f"    auto_approve: [{cli.approval_tool}]")
    real.until(lambda _: (real.root / "approval-probe").exists(), timeout=60)
    real.until_ready()
    assert (real.root / "approval-probe").exists()

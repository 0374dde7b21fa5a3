"""How each CLI takes a message: its input box, busy marker, paste placeholder, approvals.

One table for every provider, workers and leader alike (the leader has no launch
configuration of ours, only a `provider:` name). Each real CLI's table lives in its own
module (`controllers/providers/<cli>.py`), built from that CLI's captured screens
(`tests/fixtures/screens/<cli>/<version>/`) and unit-tested against every one of them;
`docs/providers.md` says which version each was verified on. The fake's is exact: the
fake is ours (`reconciler/fakeagent/agent.py`).

A CLI without an entry (`shell`) takes no messages: a send to it fails with that reason.
"""

from __future__ import annotations

from collections.abc import Mapping

from controllers.providers.base import Approval, InputProfile
from controllers.providers.claude import CLAUDE_INPUT
from controllers.providers.codex import CODEX_INPUT
from controllers.providers.copilot import COPILOT_INPUT
from controllers.providers.gemini import GEMINI_INPUT
from controllers.providers.opencode import OPENCODE_INPUT

FAKE_INPUT = InputProfile(
    prompt=r"^fake> (?P<input>.*)",
    # `working...` stays in view after the work is done: busy only while it is the last line.
    busy=r"^working\.\.\.\Z",
    approvals=(
        Approval(
            # Anchored at the line's end: an answered prompt ("... [y/n] y") is not asked again.
            pattern=r"^Allow tool (?P<tool>[A-Za-z0-9_.:-]+)\? \[y/n\] ?$",
            approve_keys=("y", "Enter"),
        ),
    ),
)


INPUTS: Mapping[str, InputProfile] = {
    "fake": FAKE_INPUT,
    "claude": CLAUDE_INPUT,
    "codex": CODEX_INPUT,
    "gemini": GEMINI_INPUT,
    "copilot": COPILOT_INPUT,
    "opencode": OPENCODE_INPUT,
}


def input_profile(provider: str) -> InputProfile | None:
    """How `provider`'s CLI takes a message; None when it takes none (`shell`)."""
    return INPUTS.get(provider)

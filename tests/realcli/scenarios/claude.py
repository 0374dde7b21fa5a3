"""Claude Code's screens (placeholder scenario: idle box only; the claude capture extends it)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from tests.mockmodel.server import MockModel
from tests.realcli.capture import CliPane


def capture(mock: MockModel) -> list[str]:
    root = Path(tempfile.mkdtemp(prefix="ta-cap-"))
    with CliPane("claude", url=mock.url, root=root) as cli:
        cli.start()
        cli.wait_for("\u276f\u00a0", timeout=30)
        cli.save("idle", "empty input box after start", cli.settle())
    return ["idle"]

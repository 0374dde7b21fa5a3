"""Editing the spec for `pause`/`resume`/`restart`: one value changes, every other byte stays.

Each case is the person's text before and the exact text after; the edit's check (the
new model differs from the old in that one field only) refuses what it cannot do safely.
"""

from __future__ import annotations

import os
import stat
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

import pytest

from reconciler.specfile.edit import (
    AgentEdit,
    SpecChanged,
    SpecEditError,
    edit_agent,
    write_spec,
)
from reconciler.specfile.load import load_spec_text

PAUSE = AgentEdit(agent="impl", key="paused", value=True, text="true")
RESUME = AgentEdit(agent="impl", key="paused", value=False, text="false")
RESTART = AgentEdit(
    agent="impl",
    key="restarted_at",
    value=datetime(2026, 12, 7, 14, 30, 30, tzinfo=timezone.utc),
    text='"2026-12-07T14:30:30Z"',
)


class EditCase(NamedTuple):
    test_id: str
    before: str
    edit: AgentEdit
    after: str
    line: int


HEAD = "version: 1\nteam: {name: demo}\n"

EDIT_CASES = [
    EditCase(
        "block-adds-a-line-under-the-id-keeping-comments",
        HEAD + "agents:\n  # the implementer\n  - id: impl   # keep me\n"
        "    provider: fake\n\n  - id: docs\n    provider: fake\n",
        PAUSE,
        HEAD + "agents:\n  # the implementer\n  - id: impl   # keep me\n    paused: true\n"
        "    provider: fake\n\n  - id: docs\n    provider: fake\n",
        6,
    ),
    EditCase(
        "block-id-not-first-and-odd-indent",
        HEAD + "agents:\n-     provider: fake\n      id: impl\n",
        PAUSE,
        HEAD + "agents:\n-     provider: fake\n      id: impl\n      paused: true\n",
        6,
    ),
    EditCase(
        "replaces-a-written-value-where-it-stands",
        HEAD + "agents:\n  - id: impl\n    paused: true    # on hold\n    provider: fake\n",
        RESUME,
        HEAD + "agents:\n  - id: impl\n    paused: false    # on hold\n    provider: fake\n",
        5,
    ),
    EditCase(
        "replaces-a-quoted-request",
        HEAD + "agents:\n  - id: impl\n    restarted_at: '2026-01-01T00:00:00Z'\n",
        RESTART,
        HEAD + 'agents:\n  - id: impl\n    restarted_at: "2026-12-07T14:30:30Z"\n',
        5,
    ),
    EditCase(
        "replaces-an-unquoted-timestamp",
        HEAD + "agents:\n  - id: impl\n    restarted_at: 2026-01-01 00:00:00\n",
        RESTART,
        HEAD + 'agents:\n  - id: impl\n    restarted_at: "2026-12-07T14:30:30Z"\n',
        5,
    ),
    EditCase(
        "flow-mapping-gets-the-key-at-its-end",
        HEAD + "agents:\n  - {id: impl, provider: fake }  # flow\n",
        PAUSE,
        HEAD + "agents:\n  - {id: impl, provider: fake, paused: true }  # flow\n",
        4,
    ),
    EditCase(
        "flow-agents-list",
        HEAD + "agents: [{id: docs}, {id: impl}]\n",
        RESTART,
        HEAD + 'agents: [{id: docs}, {id: impl, restarted_at: "2026-12-07T14:30:30Z"}]\n',
        3,
    ),
    EditCase(
        "crlf-line-ends-stay-crlf",
        (HEAD + "agents:\n  - id: impl\n    provider: fake\n").replace("\n", "\r\n"),
        PAUSE,
        (HEAD + "agents:\n  - id: impl\n    paused: true\n    provider: fake\n").replace(
            "\n", "\r\n"
        ),
        5,
    ),
    EditCase(
        "id-on-the-last-line-without-a-line-end",
        HEAD + "agents:\n  - provider: fake\n    id: impl",
        PAUSE,
        HEAD + "agents:\n  - provider: fake\n    id: impl\n    paused: true\n",
        6,
    ),
    EditCase(
        "a-merge-key-value-is-overridden-in-the-agent-itself",
        HEAD + "agents:\n  - &base {id: docs, paused: false}\n  - <<: *base\n    id: impl\n",
        PAUSE,
        HEAD + "agents:\n  - &base {id: docs, paused: false}\n  - <<: *base\n    id: impl\n"
        "    paused: true\n",
        7,
    ),
]


@pytest.mark.parametrize("case", EDIT_CASES, ids=[c.test_id for c in EDIT_CASES])
def test_edit_changes_one_value_and_nothing_else(case: EditCase) -> None:
    path = Path("/ws/team.spec.yaml")
    loaded = load_spec_text(case.before, path)

    edited = edit_agent(case.before, loaded, case.edit)

    assert edited.text == case.after
    assert edited.line == case.line
    agent = next(a for a in edited.loaded.spec.agents if a.id == "impl")
    assert getattr(agent, case.edit.key) == case.edit.value


def test_a_value_shared_through_an_anchor_is_refused() -> None:
    """Replacing `*p` would edit the anchor, pausing docs too: the check refuses it."""
    text = HEAD + "agents:\n  - id: docs\n    paused: &p false\n  - id: impl\n    paused: *p\n"
    loaded = load_spec_text(text, Path("/ws/team.spec.yaml"))

    with pytest.raises(SpecEditError, match="cannot set paused of agent 'impl' safely") as caught:
        edit_agent(text, loaded, PAUSE)
    assert "by hand" in str(caught.value)


def test_an_agent_whose_id_comes_from_a_merge_key_is_refused() -> None:
    text = HEAD + "agents:\n  - &a {id: docs}\n  - <<: *a\n    provider: fake\n"
    loaded = load_spec_text(text.replace("<<: *a\n    ", "id: impl\n    "), Path("/ws/s.yaml"))

    with pytest.raises(SpecEditError, match="its id is not written in its own mapping"):
        edit_agent(text, loaded, PAUSE)


def _spec_file(folder: Path, text: str, mode: int = 0o640) -> Path:
    path = folder / "team.spec.yaml"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_write_replaces_the_file_keeping_its_mode(tmp_path: Path) -> None:
    path = _spec_file(tmp_path, "old\n")

    write_spec(path, "new\n", expected="old\n")

    assert path.read_text() == "new\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["team.spec.yaml"]  # no temp left


def test_write_keeps_a_symlinked_spec_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    target = _spec_file(real, "old\n")
    link = tmp_path / "team.spec.yaml"
    link.symlink_to(os.path.relpath(target, tmp_path))

    write_spec(link, "new\n", expected="old\n")

    assert link.is_symlink()
    assert target.read_text() == "new\n"
    assert sorted(p.name for p in real.iterdir()) == ["team.spec.yaml"]


def test_write_refuses_a_spec_changed_since_it_was_read(tmp_path: Path) -> None:
    path = _spec_file(tmp_path, "saved by an editor meanwhile\n")

    with pytest.raises(SpecChanged):
        write_spec(path, "new\n", expected="old\n")

    assert path.read_text() == "saved by an editor meanwhile\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["team.spec.yaml"]

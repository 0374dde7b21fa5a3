"""The spec's summary: what the reading verbs need, valid for exactly the text summarised."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.specfile import summary as S
from reconciler.specfile.load import load_spec

SPEC = """\
version: 1
team: {name: sums}
agents:
  - id: impl
    provider: fake
    env: {API_TOKEN: "s3cret-value-never-cached"}
  - {id: review, provider: fake}
runtime:
  tmux_socket: ta-sums
  resync_interval_sec: 7
"""


@pytest.fixture
def spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = tmp_path / "team.spec.yaml"
    path.write_text(SPEC)
    return path


def test_a_summary_holds_what_the_full_load_found(spec: Path) -> None:
    loaded = load_spec(spec)
    S.write_summary(S.summarize(loaded))
    found = S.read_summary(spec)
    assert found == S.SpecSummary(
        path=str(spec),
        digest=loaded.source_digest,
        workspace=str(loaded.workspace),
        team_id=loaded.spec.team_id,
        members=("impl", "review"),
        resync_interval_sec=7.0,
        tmux_socket="ta-sums",
    )


def test_it_holds_no_value_of_the_spec_and_only_its_owner_reads_it(spec: Path) -> None:
    S.write_summary(S.summarize(load_spec(spec)))
    (cached,) = S.cache_dir().iterdir()
    assert "s3cret" not in cached.read_text() and "API_TOKEN" not in cached.read_text()
    assert cached.stat().st_mode & 0o077 == 0
    assert S.cache_dir().stat().st_mode & 0o077 == 0


def test_an_edited_spec_is_not_summarised_by_the_old_summary(spec: Path) -> None:
    S.write_summary(S.summarize(load_spec(spec)))
    spec.write_text(SPEC.replace("  - {id: review, provider: fake}\n", ""))
    assert S.read_summary(spec) is None


def test_a_workspace_that_is_gone_is_left_to_the_full_load(spec: Path, tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    spec.write_text(SPEC.replace("team: {name: sums}", "team: {name: sums, workspace: ws}"))
    S.write_summary(S.summarize(load_spec(spec)))
    assert S.read_summary(spec) is not None
    (tmp_path / "ws").rmdir()
    assert S.read_summary(spec) is None


@pytest.mark.parametrize("garbage", ["", "{", "[]", '{"format": 1}', '{"format": 99}'])
def test_a_damaged_summary_is_a_miss(spec: Path, garbage: str) -> None:
    S.write_summary(S.summarize(load_spec(spec)))
    (cached,) = S.cache_dir().iterdir()
    cached.write_text(garbage)
    assert S.read_summary(spec) is None


def test_the_cache_keeps_the_newest_summaries(spec: Path) -> None:
    folder = S.cache_dir()
    folder.mkdir(parents=True)
    for n in range(2 * S.KEEP + 1):
        old = folder / f"old{n}.json"
        old.write_text("{}")
        os.utime(old, (1000 + n, 1000 + n))
    S.write_summary(S.summarize(load_spec(spec)))
    left = {p.name for p in folder.iterdir()}
    assert len(left) == S.KEEP
    assert "old0.json" not in left and f"old{2 * S.KEEP}.json" in left
    assert S.read_summary(spec) is not None  # the newest, just written

"""`load_spec(previous=…)`: the same text is not parsed again; any change is."""

from __future__ import annotations

from pathlib import Path

from reconciler.specfile.load import load_spec

SPEC = """\
version: 1
team: {name: reuse}
agents:
  - id: impl
    provider: shell
    command: ["sleep", "60"]
"""


def test_unchanged_text_returns_the_previous_load(tmp_path: Path) -> None:
    path = tmp_path / "team.spec.yaml"
    path.write_text(SPEC)
    first = load_spec(path)
    assert load_spec(path, previous=first) is first


def test_any_change_of_the_text_loads_again(tmp_path: Path) -> None:
    """Even a comment: the result would be equal, but only a parse can tell."""
    path = tmp_path / "team.spec.yaml"
    path.write_text(SPEC)
    first = load_spec(path)
    path.write_text(SPEC + "# a comment\n")
    again = load_spec(path, previous=first)
    assert again is not first
    assert again.content_hash == first.content_hash

    path.write_text(SPEC.replace('"60"', '"61"'))
    changed = load_spec(path, previous=again)
    assert changed.content_hash != first.content_hash


def test_same_text_at_another_path_loads_again(tmp_path: Path) -> None:
    """The path places the workspace, so a copy elsewhere is another spec."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "team.spec.yaml").write_text(SPEC)
    (tmp_path / "b" / "team.spec.yaml").write_text(SPEC)
    first = load_spec(tmp_path / "a" / "team.spec.yaml")
    other = load_spec(tmp_path / "b" / "team.spec.yaml", previous=first)
    assert other is not first
    assert other.workspace == (tmp_path / "b").resolve()

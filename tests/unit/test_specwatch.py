"""`spec_chain`: the paths whose change may change the spec's text, link by link."""

from __future__ import annotations

import os
from pathlib import Path

from reconciler.engine.specwatch import spec_chain


def test_a_plain_file_is_its_own_chain(tmp_path: Path) -> None:
    spec = tmp_path / "team.spec.yaml"
    spec.write_text("x: 1\n")

    chain = spec_chain(spec)

    assert chain.entries == (spec.resolve(),)
    assert chain.folders == (tmp_path.resolve(),)


def test_relative_links_are_followed_from_each_links_folder(tmp_path: Path) -> None:
    """ws/team.spec.yaml → ../links/current → ../files/a.yaml: three entries, three folders."""
    for name in ("ws", "links", "files"):
        (tmp_path / name).mkdir()
    (tmp_path / "files" / "a.yaml").write_text("x: 1\n")
    (tmp_path / "links" / "current").symlink_to("../files/a.yaml")
    (tmp_path / "ws" / "team.spec.yaml").symlink_to("../links/current")
    root = tmp_path.resolve()

    chain = spec_chain(tmp_path / "ws" / "team.spec.yaml")

    assert chain.entries == (
        root / "ws" / "team.spec.yaml",
        root / "links" / "current",
        root / "files" / "a.yaml",
    )
    assert chain.folders == (root / "ws", root / "links", root / "files")


def test_a_swap_changes_the_chain_and_an_edit_the_signature(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("x: 1\n")
    (tmp_path / "b.yaml").write_text("x: 2\n")
    link = tmp_path / "team.spec.yaml"
    link.symlink_to("a.yaml")
    before = spec_chain(link)
    signature = before.signature()

    (tmp_path / "a.yaml").write_text("x: 10\n")
    assert spec_chain(link) == before
    assert spec_chain(link).signature() != signature

    tmp = tmp_path / "new"
    tmp.symlink_to("b.yaml")
    os.replace(tmp, link)
    assert spec_chain(link).entries[-1] == (tmp_path / "b.yaml").resolve()


def test_dangling_links_and_loops_end_the_chain(tmp_path: Path) -> None:
    dangling = tmp_path / "team.spec.yaml"
    dangling.symlink_to("gone/spec.yaml")
    chain = spec_chain(dangling)
    assert chain.entries[-1] == tmp_path.resolve() / "gone" / "spec.yaml"
    assert chain.folders == (tmp_path.resolve(),)  # the missing folder is not watched
    assert chain.signature()[-1] is None

    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    assert len(spec_chain(tmp_path / "a").entries) == 2

"""Editing `team.spec.yaml` for the verbs that change intent (`pause`, `resume`, `restart`).

The spec is the person's file: its comments, order, quoting, indentation and blank lines
are theirs, so a verb changes one value and nothing else. ruamel's round-trip *dump*
keeps comments but re-indents sequences, re-wraps long strings and normalises spacing, so
the edit is made on the text instead, at the positions ruamel's composer reports for the
agent's mapping: a value already written is replaced where it stands; a missing key is
added on its own line under the agent's `id` (block style) or at the end of its
`{...}` (flow style). Everything outside that one span stays byte for byte.

Then the result is checked the way the reconciler will read it: it must load, and its
model must differ from the old one in exactly the intended field of the intended agent.
Anchors, aliases or merge keys that would make the text edit mean something else (another
agent paused with it) fail that check, and the verb refuses instead of guessing.

The file is replaced atomically (temp file in the same folder, fsync, rename, folder
fsync) with the old file's mode; a symlinked spec stays a symlink, because the link's
target is what is written. A spec that changed on disk between reading and renaming (an
editor saving at the same moment) is not overwritten: `write_spec` refuses and the verb
starts again from the new text.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.api.errors import SpecError
from reconciler.specfile.load import LoadedSpec, load_spec_text

_MERGE_TAG = "tag:yaml.org,2002:merge"


class SpecEditError(Exception):
    """The edit cannot be made safely; the message says what to set by hand."""


class SpecChanged(Exception):
    """The spec on disk is no longer the text the edit was made from."""


@dataclass(frozen=True)
class AgentEdit:
    """Set `key` of agent `agent` to `value`, written as the YAML scalar `text`."""

    agent: str
    key: str
    value: object  # what the field holds once loaded (the check compares it)
    text: str  # how it is written in YAML (`true`, `"2026-12-07T14:30:30Z"`)


@dataclass(frozen=True)
class Edited:
    """The new spec text, the 1-based line the value is on, and its loaded form."""

    text: str
    line: int
    loaded: LoadedSpec


def edit_agent(text: str, loaded: LoadedSpec, edit: AgentEdit) -> Edited:
    """Apply `edit` to the spec `text` (which `loaded` was loaded from); see the module doc."""
    item = _agent_node(_compose(text), edit.agent)
    value_node = _value_of(item, edit.key)
    if value_node is not None:
        if not isinstance(value_node, ScalarNode):
            raise SpecEditError(_by_hand(edit, "its value is not a plain scalar"))
        start, end = value_node.start_mark.index, value_node.end_mark.index
        new_text = text[:start] + edit.text + text[end:]
        line = value_node.start_mark.line + 1
    elif item.flow_style:
        last = item.value[-1][1]
        at = last.end_mark.index
        new_text = text[:at] + f", {edit.key}: {edit.text}" + text[at:]
        line = last.end_mark.line + 1
    else:
        new_text, line = _insert_line(text, item, edit)
    try:
        reloaded = load_spec_text(new_text, loaded.path)
    except SpecError as err:
        raise SpecEditError(_by_hand(edit, "the edited text would not load")) from err
    _check_only_change(loaded, reloaded, edit)
    return Edited(text=new_text, line=line, loaded=reloaded)


def _compose(text: str) -> Node:
    try:
        root = YAML(typ="rt").compose(text)
    except YAMLError as err:  # the loader accepted this text a moment ago
        message = "the spec could not be parsed again for editing"
        raise SpecEditError(message) from err
    if not isinstance(root, MappingNode):
        raise SpecEditError("the spec is not a YAML mapping")
    return root


def _value_of(mapping: MappingNode, key: str) -> Node | None:
    """The value written under `key` in this mapping itself (not through a merge key)."""
    for key_node, value_node in mapping.value:
        if (
            isinstance(key_node, ScalarNode)
            and str(key_node.tag) != _MERGE_TAG
            and key_node.value == key
        ):
            return value_node  # type: ignore[no-any-return]
    return None


def _agent_node(root: Node, agent: str) -> MappingNode:
    agents = _value_of(root, "agents") if isinstance(root, MappingNode) else None
    if isinstance(agents, SequenceNode):
        for item in agents.value:
            if not isinstance(item, MappingNode):
                continue
            written = _value_of(item, "id")
            if isinstance(written, ScalarNode) and written.value == agent:
                return item
    message = f"agent {agent!r}: its id is not written in its own mapping under agents"
    raise SpecEditError(message)


def _insert_line(text: str, item: MappingNode, edit: AgentEdit) -> tuple[str, int]:
    """Add `key: value` on a new line right after the agent's `id` line, at its indent."""
    id_key, id_value = next(
        (k, v) for k, v in item.value if isinstance(k, ScalarNode) and k.value == "id"
    )
    column = id_key.start_mark.column
    end = id_value.end_mark.index
    newline = text.find("\n", end)
    eol = "\r\n" if newline > 0 and text[newline - 1] == "\r" else "\n"
    entry = " " * column + f"{edit.key}: {edit.text}"
    if newline < 0:  # the id is on the file's last line, which has no line end
        return text + eol + entry + eol, text.count("\n") + 2
    at = newline + 1
    return text[:at] + entry + eol + text[at:], text.count("\n", 0, at) + 1


def _check_only_change(before: LoadedSpec, after: LoadedSpec, edit: AgentEdit) -> None:
    """The new model is the old one with exactly `edit` applied, nothing else."""
    expected: dict[str, Any] = before.spec.model_dump()
    for agent in expected["agents"]:
        if agent["id"] == edit.agent:
            agent[edit.key] = edit.value
    if after.spec.model_dump() != expected or after.workspace != before.workspace:
        raise SpecEditError(_by_hand(edit, "the text edit would change more than that"))


def _by_hand(edit: AgentEdit, why: str) -> str:
    return (
        f"cannot set {edit.key} of agent {edit.agent!r} safely ({why}); "
        f"set `{edit.key}: {edit.text}` on it by hand"
    )


def spec_target(path: Path) -> Path:
    """The file to replace: a symlink's final target, so the link itself survives."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def write_spec(path: Path, new_text: str, *, expected: str) -> None:
    """Replace the spec atomically with `new_text`, if it still holds `expected`.

    Raises `SpecChanged` when it does not (nothing written), `OSError` when the folder
    cannot be written.
    """
    target = spec_target(path)
    mode = stat.S_IMODE(target.stat().st_mode)
    folder = target.parent
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(new_text)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        unchanged = target.read_text(encoding="utf-8") == expected
        if unchanged:
            tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)  # gone after the rename; left only by a failure
    if not unchanged:
        raise SpecChanged(str(path))
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        with contextlib.suppress(OSError):  # some file systems cannot fsync a folder
            os.fsync(dir_fd)
    finally:
        os.close(dir_fd)

"""Loading `team.spec.yaml`: text to a validated `Spec`, every problem located.

This is the first step of a pass, and the only place that reads the spec file. It either
returns a `LoadedSpec` or raises `SpecError` listing every problem as file:line:column,
which is what keeps an invalid spec from ever touching the running team (the engine keeps
the last good generation and reports `Stalled=True, reason=SpecInvalid`).

The YAML is read with ruamel's round-trip loader because its nodes remember where they
came from; a pydantic error's `loc` is walked through those nodes to find the line. Env
values may be secrets, so messages are built from pydantic's `msg` and `loc` only (never
`input`), and ruamel's own messages, which quote source lines and values, are never
passed on verbatim.

The content hash is taken over the validated model, not the text, so editing a comment
or re-indenting the file does not bump the generation or restart anybody.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.composer import Composer
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.scalarbool import ScalarBoolean

from reconciler.api.errors import SpecError, SpecIssue, SpecNotFound
from reconciler.api.spec import Loc, Spec, dotted_path, located_issues
from reconciler.specfile.summary import text_digest

AUTO_TRUST_DEPRECATION = (
    "runtime.auto_trust_own_workspace is deprecated: "
    "set TEAM_AGENT_AUTO_TRUST_OWN_WORKSPACE=1 instead"
)
_MERGE_TAG = "tag:yaml.org,2002:merge"
_INT_TAG = "tag:yaml.org,2002:int"
MAX_NESTING = 50  # a valid spec nests 5 levels; see _shape_issues
MAX_VALUES = 200_000  # values after alias expansion: 10 000 agents fit
MAX_INT_DIGITS = 4000  # under Python's default int-from-text limit (4300 digits)
_FRIENDLY_MESSAGES = {
    "extra_forbidden": "unknown key",
    "missing": "required key is missing",
}


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec together with where it came from and what identifies it."""

    spec: Spec
    path: Path  # absolute
    workspace: Path  # absolute and resolved: the spec's folder / team.workspace
    content_hash: str  # "sha256:<hex>" of the canonical JSON of the model
    deprecations: tuple[str, ...]
    source_digest: str = ""  # sha256 of the file's text: unchanged text, same result


def load_spec(path: Path, *, previous: LoadedSpec | None = None) -> LoadedSpec:
    """Read and validate the spec file at `path`.

    The file is always read; when its text is the text `previous` was loaded from (same
    path, same workspace), `previous` is returned without parsing again. Parsing is the
    expensive part (about 0.7 ms per agent with ruamel's round-trip loader), and the
    engine loads the spec at every pass while the text rarely changes.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecNotFound(f"no spec file at {path}") from None
    except UnicodeDecodeError as exc:
        message = f"not UTF-8 text (byte {exc.start})"
        raise SpecError([SpecIssue(path.absolute(), 1, 1, message)]) from None
    except OSError as exc:
        message = f"cannot read: {exc.strerror or type(exc).__name__}"
        raise SpecError([SpecIssue(path.absolute(), 1, 1, message)]) from None
    if previous is not None and _unchanged(previous, text, path.absolute()):
        return previous
    loaded = load_spec_text(text, path)
    if not loaded.workspace.is_dir():
        raise SpecError([_workspace_issue(text, loaded)])
    return loaded


def _workspace_issue(text: str, loaded: LoadedSpec) -> SpecIssue:
    """`team.workspace` names no folder: said at its line, not when `.team` cannot be made.

    Checked here, for a spec read from a file, and not in `load_spec_text`, which stays a
    function of the text alone.
    """
    line, column = _locate(_parse_yaml(text, loaded.path), ("team", "workspace"), at_key=False)
    what = "is not a folder" if loaded.workspace.exists() else "does not exist"
    return SpecIssue(
        loaded.path,
        line,
        column,
        f"team.workspace: {loaded.workspace} {what} (paths are relative to the spec's folder)",
    )


def _unchanged(previous: LoadedSpec, text: str, path: Path) -> bool:
    return (
        previous.source_digest == text_digest(text)
        and previous.path == path
        and (path.parent / previous.spec.team.workspace).resolve() == previous.workspace
    )


def load_spec_text(text: str, path: Path) -> LoadedSpec:
    """Validate spec `text` as if read from `path` (which locates errors and the workspace)."""
    path = path.absolute()
    data = _parse_yaml(text, path)
    if not isinstance(data, CommentedMap):
        message = "the spec must be a YAML mapping with 'version', 'team', 'agents', ..."
        raise SpecError([SpecIssue(path, 1, 1, message)])
    try:
        spec = Spec.model_validate(_plain(data))
    except ValidationError as exc:
        # Safe to chain: every model sets hide_input_in_errors, so no value is printed.
        raise SpecError(_validation_issues(exc, data, path)) from exc
    return LoadedSpec(
        spec=spec,
        path=path,
        workspace=(path.parent / spec.team.workspace).resolve(),
        content_hash=content_hash(spec),
        deprecations=spec_deprecations(spec),
        source_digest=text_digest(text),
    )


def content_hash(spec: Spec) -> str:
    """Hash of what the spec means, not how it is written: defaults and order of keys."""
    canonical = json.dumps(
        spec.model_dump(mode="json", by_alias=True),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def spec_deprecations(spec: Spec) -> tuple[str, ...]:
    """Deprecated settings present in the spec; each becomes an event at load."""
    found: list[str] = []
    if "auto_trust_own_workspace" in spec.runtime.model_fields_set:
        found.append(AUTO_TRUST_DEPRECATION)
    return tuple(found)


def _parse_yaml(text: str, path: Path) -> Any:
    """Parse YAML with positions; duplicate keys and syntax errors become located issues.

    ruamel's exception text quotes the offending source, which may hold a secret, so the
    SpecError is raised outside the `except` block: not even `__context__` keeps it.
    """
    issue: SpecIssue
    try:
        yaml = YAML(typ="rt")
        yaml.Composer = _DepthLimitedComposer
        root = yaml.compose(text)
        problems = _duplicate_keys(root, path) or _shape_issues(root, path)
        if problems:
            raise SpecError(problems)
        return _construct(yaml, root, path)
    except _TooDeep as exc:
        issue = SpecIssue(path, exc.line, exc.column, f"nested more than {MAX_NESTING} levels deep")
    except MarkedYAMLError as exc:
        issue = _yaml_issue(exc, path)
    except ReaderError as exc:  # a character YAML does not allow, such as a raw control byte
        issue = _reader_issue(exc, text, path)
    except YAMLError as exc:
        issue = SpecIssue(path, 1, 1, f"YAML error ({type(exc).__name__})")
    except RecursionError:  # nesting deep enough to overflow ruamel's composer
        issue = SpecIssue(path, 1, 1, f"YAML nested more than {MAX_NESTING} levels deep")
    raise SpecError([issue])


def _reader_issue(exc: ReaderError, text: str, path: Path) -> SpecIssue:
    """Locate a character the YAML reader refuses; named by code point, never quoted."""
    position = exc.position if isinstance(exc.position, int) else 0
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    code = exc.character if isinstance(exc.character, int) else None
    what = f"character U+{code:04X}" if code is not None else "a character"
    return SpecIssue(path, line, column, f"YAML: {what} is not allowed in YAML text")


class _TooDeep(Exception):
    """The document nests deeper than a spec can; raised while composing, at that node."""

    def __init__(self, line: int, column: int) -> None:
        super().__init__(line, column)
        self.line = line
        self.column = column


class _DepthLimitedComposer(Composer):
    """ruamel's composer, stopping at the first node deeper than `MAX_NESTING` levels.

    The composer recurses once per level and ruamel's scanner slows down with every open
    flow level, so `[[[[…]]]]` 2000 deep took 4 s to end in a RecursionError; stopping at
    the first level too deep takes a tenth of that and says where (the same node
    `_shape_issues` names; it still checks depth for what aliases nest).
    """

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_NESTING:
                mark = self.parser.peek_event().start_mark
                raise _TooDeep(mark.line + 1, mark.column + 1)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _construct(yaml: YAML, root: Node | None, path: Path) -> Any:
    """Build the Python values from the composed nodes (no second parse of the text); a
    scalar its tag cannot hold becomes a located issue.

    ruamel's constructors raise plain `ValueError`, `KeyError`, ... for a date such as
    `2024-13-45` or `!!int abc`, with messages that quote the value, so only the kind of
    error is kept, and the issue is raised outside the `except` block.
    """
    if root is None:
        return None
    try:
        return yaml.constructor.construct_document(root)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        kind = type(exc).__name__
    line, column = _unconstructible(root)
    raise SpecError([SpecIssue(path, line, column, f"YAML value cannot be read ({kind})")])


def _unconstructible(root: Node | None) -> tuple[int, int]:
    """1-based position of the first scalar that fails to construct on its own (else 1:1)."""
    constructor = YAML(typ="rt").constructor
    for node in sorted(_scalars(root), key=lambda n: (n.start_mark.line, n.start_mark.column)):
        try:
            constructor.construct_object(node, deep=True)
        except (ValueError, KeyError, TypeError, AttributeError, YAMLError):
            return node.start_mark.line + 1, node.start_mark.column + 1
    return 1, 1


def _scalars(root: Node | None) -> list[ScalarNode]:
    found: list[ScalarNode] = []
    seen: set[int] = set()
    pending = [root] if root is not None else []
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, ScalarNode):
            found.append(node)
        elif isinstance(node, MappingNode):
            pending.extend(part for pair in node.value for part in pair)
        elif isinstance(node, SequenceNode):
            pending.extend(node.value)
    return found


def _shape_issues(root: Node | None, path: Path) -> list[SpecIssue]:
    """Input no spec can mean and that would crash a later step, located at the node.

    Nesting deeper than `MAX_NESTING` (ruamel's constructor, `_plain` and pydantic all
    recurse), more than `MAX_VALUES` values once aliases are expanded (a "billion laughs"
    document would otherwise take minutes and gigabytes), integers too long for Python's
    int-from-text limit, and text that cannot be passed on: a NUL (no path, argument or
    environment value can hold one) or a lone UTF-16 surrogate (`"\\ud83d"`), which is not
    valid UTF-8 and made hashing and error messages raise. Aliases are followed, not
    deduplicated, so a recursive alias stops at the depth or count limit.
    """
    issues: list[SpecIssue] = []
    count = 0
    pending: list[tuple[Node, int]] = [(root, 1)] if root is not None else []
    while pending:
        node, depth = pending.pop()
        count += 1
        mark = node.start_mark
        if count > MAX_VALUES:
            message = f"the spec expands to more than {MAX_VALUES} values (YAML aliases?)"
            return [SpecIssue(path, mark.line + 1, mark.column + 1, message)]
        if depth > MAX_NESTING:
            message = f"nested more than {MAX_NESTING} levels deep"
            return [SpecIssue(path, mark.line + 1, mark.column + 1, message)]
        if isinstance(node, MappingNode):
            pending.extend((part, depth + 1) for pair in node.value for part in pair)
        elif isinstance(node, SequenceNode):
            pending.extend((item, depth + 1) for item in node.value)
        elif isinstance(node, ScalarNode):
            problem = _scalar_problem(node)
            if problem is not None:
                issues.append(SpecIssue(path, mark.line + 1, mark.column + 1, problem))
    return sorted(set(issues), key=lambda issue: (issue.line, issue.column))


def join_surrogates(text: str) -> str:
    """Join JSON-style surrogate pair escapes (`"\\ud83d\\ude00"`) into the one character.

    YAML 1.2 reads JSON, and `json.dumps` writes an emoji as such a pair, but the YAML
    reader turns each escape into a half on its own. A half without its partner is left
    as is (and refused by `_scalar_problem`).
    """
    try:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    except UnicodeDecodeError:
        return text


def _scalar_problem(node: ScalarNode) -> str | None:
    value = join_surrogates(str(node.value))
    if "\x00" in value:
        return "text holds a NUL character (\\0), which no path, argument or env value can hold"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return (
            "text holds a lone UTF-16 surrogate escape (\\ud800-\\udfff), which is not "
            "valid text; write the character itself or use a \\U00XXXXXX escape"
        )
    if str(node.tag) == _INT_TAG and len(value) > MAX_INT_DIGITS:
        return f"integer with more than {MAX_INT_DIGITS} digits"
    return None


def _yaml_issue(exc: MarkedYAMLError, path: Path) -> SpecIssue:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    if isinstance(exc, DuplicateKeyError):
        # Its problem text quotes both values; the pre-check normally catches these.
        return SpecIssue(path, line, column, "YAML: duplicate key")
    parts = [part for part in (exc.context, exc.problem) if part]
    return SpecIssue(path, line, column, "YAML syntax error: " + ": ".join(parts))


def _duplicate_keys(root: Node | None, path: Path) -> list[SpecIssue]:
    """Find repeated keys in any mapping, located at the repeat (values never quoted)."""
    issues: list[SpecIssue] = []
    seen_nodes: set[int] = set()
    pending = [root] if root is not None else []
    while pending:
        node = pending.pop()
        if id(node) in seen_nodes:  # aliases may point back at an ancestor
            continue
        seen_nodes.add(id(node))
        if isinstance(node, MappingNode):
            first_line: dict[tuple[str, str], int] = {}
            for key, value in node.value:
                pending.extend((key, value))
                if not isinstance(key, ScalarNode) or str(key.tag) == _MERGE_TAG:
                    continue
                ident = (str(key.tag), str(key.value))
                mark = key.start_mark
                if ident in first_line:
                    message = f"duplicate key '{key.value}' (first at line {first_line[ident]})"
                    issues.append(SpecIssue(path, mark.line + 1, mark.column + 1, message))
                else:
                    first_line[ident] = mark.line + 1
        elif isinstance(node, SequenceNode):
            pending.extend(node.value)
    return sorted(issues, key=lambda issue: (issue.line, issue.column))


def _plain(value: Any) -> Any:
    """Turn ruamel's round-trip types into plain Python so pydantic sees ordinary values."""
    if isinstance(value, dict):
        return {_plain(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, (bool, ScalarBoolean)):
        return bool(value)
    if isinstance(value, str):
        return join_surrogates(str(value))
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


def _validation_issues(exc: ValidationError, root: CommentedMap, path: Path) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    for error in exc.errors():
        at_key = error["type"] == "extra_forbidden"
        for loc, message in located_issues(error):
            line, column = _locate(root, loc, at_key=at_key)
            text = _FRIENDLY_MESSAGES.get(error["type"], message)
            where = dotted_path(loc)
            issues.append(SpecIssue(path, line, column, f"{where}: {text}" if where else text))
    return sorted(issues, key=lambda issue: (issue.line, issue.column))


def _locate(root: CommentedMap, loc: Loc, *, at_key: bool) -> tuple[int, int]:
    """1-based position of `loc` in the YAML, or of its nearest ancestor that exists.

    A value is located at the value, an unknown key (`at_key`) or a bad dict key
    (`[key]` in the loc) at the key, a missing key at the mapping that lacks it.
    """
    node: Any = root
    position: tuple[int, int] = (root.lc.line, root.lc.col)
    key_position: tuple[int, int] | None = None
    for part in loc:
        if part == "[key]":
            at_key = True
            break
        step = _step(node, part)
        if step is None:
            key_position = None
            break
        node, position, key_position = step
    if at_key and key_position is not None:
        position = key_position
    return position[0] + 1, position[1] + 1


def _step(node: Any, part: str | int) -> tuple[Any, tuple[int, int], tuple[int, int] | None] | None:
    """Descend one `loc` part: (child, its position, its key's position) or None."""
    try:
        if isinstance(node, CommentedMap) and part in node:
            key_position: tuple[int, int] = tuple(node.lc.key(part))
            child = node[part]
            # ruamel places an empty value at the next token; the key is clearer.
            value_position = key_position if child is None else tuple(node.lc.value(part))
            return child, value_position, key_position
        if isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            return node[part], tuple(node.lc.item(part)), None
    except (KeyError, TypeError):  # keys merged in with `<<` carry no position of their own
        return None
    return None

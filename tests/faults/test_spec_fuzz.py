"""Bad input, in process: a valid spec mutated every way hypothesis can think of.

Attacks: the loader and everything a valid spec flows into before any process starts
(provider launch configuration, config hash, every controller's plan). Mutations of a
valid spec: wrong types, unknown keys, deleted keys, huge numbers, long and unicode
strings, control characters, lone surrogates, NUL, shell metacharacters (`;`, `$()`,
backticks, `|`, `&&`) and tmux formats and targets (`#{...}`, `#(...)`, `%1`, `:`) in
ids, env names and values, commands and paths, absurd agent counts, YAML tags, anchors
and aliases, and raw text edits of the YAML itself.

Must hold: loading either succeeds or raises `SpecError`, never anything else; every
issue names the file with a line and column inside the text; no message contains an
env value (they are secrets); a spec that loads resolves, hashes and plans without
raising. The end-to-end half (a bounded number of cases through `reconcile --once` on
a private tmux server) is in test_spec_fuzz_e2e.py.
"""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from controllers.base import PassInputs
from controllers.registry import default_controllers
from controllers.team.desired import desired_team, installed_executables
from reconciler.api.errors import SpecError
from reconciler.api.status import TeamStatus
from reconciler.specfile.load import load_spec_text
from tests.faults import harness
from tests.unit.builders import NOW, world

SPEC_PATH = Path("/srv/fuzz/team.spec.yaml")
SECRET = "s3cr3t-VALUE-7f3a91"  # in every env value of the base spec; never in a message
LOCATED = re.compile(r"^/srv/fuzz/team\.spec\.yaml:(\d+):(\d+): ", re.MULTILINE)

BASE: dict[str, Any] = {
    "version": 1,
    "team": {"name": "fuzz", "description": "base team"},
    "leader": {"provider": "fake", "env": {"LEADER_KEY": SECRET}},
    "agents": [
        {"id": "impl", "provider": "fake", "env": {"API_KEY": SECRET}, "role": "writes code"},
        {
            "id": "logs",
            "provider": "shell",
            "command": ["tail", "-f", "app.log"],
            "env": {"TOKEN": f"Bearer {SECRET}"},
            "restart_policy": "OnFailure",
            "readiness": {"pattern": "^ready", "timeout_sec": 5},
        },
    ],
    "routing": {"default": "impl", "rules": [{"match": "test", "to": "logs"}]},
    "communication": {"allow": [{"from": "impl", "to": "logs"}]},
    "runtime": {"resync_interval_sec": 5, "stop_grace_sec": 1, "tmux_socket": "fuzz"},
    "tasks": [{"id": "t1", "title": "first", "assignee": "impl"}],
}

HOSTILE = [
    "$(touch /tmp/pwned)",
    "`touch /tmp/pwned`",
    "; touch /tmp/pwned",
    "a && touch /tmp/pwned",
    "| touch /tmp/pwned",
    "#{pane_id}",
    "#(touch /tmp/pwned)",
    "#{E:@team_agent_team}",
    "%1",
    "%",
    ":",
    "=team-fuzz:",
    "@1",
    "team-fuzz:0.1",
    "a b",
    "'\"",
    "\\",
    "-",
    "--",
    "-n",
    "..",
    "../../etc",
    "~root",
    "*",
    "\n",
    "\r\n",
    "\t",
    "\x1b[2J",
    "\x00",
    "\x7f",
    "\u0085",
    "\u2028",
    "\ufeff",
    "\ud83d",  # a lone surrogate, as `"\ud83d"` in YAML
    "é",
    "名前",
    "🙂",
    "",
    " ",
    "TEAM_AGENT_ID",
    "CLAUDE_CODE_X",
    "x" * 5000,
    "null",
    "true",
    "0x10",
    "1e400",
    ".nan",
    "2024-13-45",
    "!!binary",
    "&anchor",
    "*alias",
    "<<",
    "{a: 1}",
    "[1, 2]",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([10**400, -(10**4100), 2**63, -1, 0]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.text(st.characters(codec="utf-8", categories=("Cc", "Cf", "Zs", "Zl", "So")), max_size=8),
    st.sampled_from(HOSTILE),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.one_of(st.text(max_size=12), st.sampled_from(HOSTILE)), inner, max_size=4
        )
    ),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in the document a value lives (including the root's children)."""
    found: list[tuple[Any, ...]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            found.append((*prefix, key))
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.append((*prefix, index))
            found += _paths(value, (*prefix, index))
    return found


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        doc = doc[part]
    return doc


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A valid spec, mutated 1-4 times, rendered as block YAML or JSON (also YAML)."""
    doc: Any = json.loads(json.dumps(BASE))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(
            st.sampled_from(
                ["set", "set", "add", "delete", "id", "env", "command", "count", "anchor"]
            )
        )
        paths = _paths(doc)
        if kind == "set" and paths:
            path = draw(st.sampled_from(paths))
            _parent(doc, path)[path[-1]] = draw(values)
        elif kind == "add":
            mappings = [p for p in [(), *paths] if isinstance(_get(doc, p), dict)]
            target = _get(doc, draw(st.sampled_from(mappings)))
            target[draw(st.one_of(st.text(max_size=12), st.sampled_from(HOSTILE)))] = draw(values)
        elif kind == "delete" and paths:
            path = draw(st.sampled_from(paths))
            del _parent(doc, path)[path[-1]]
        elif kind in ("id", "env", "command") and _agents(doc):
            agent = draw(st.sampled_from(_agents(doc)))
            hostile = draw(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=20)))
            if kind == "id":
                agent["id"] = hostile
            elif kind == "env":
                env = agent.setdefault("env", {}) if isinstance(agent.get("env"), dict) else {}
                name = draw(st.sampled_from(["V", hostile]))
                env[name] = draw(st.sampled_from([hostile, f"{SECRET}{hostile}"]))
                agent["env"] = env
            else:
                agent["provider"] = "shell"
                agent["command"] = ["sh", "-c", "exit 0", hostile]
        elif kind == "count" and _agents(doc):
            template = draw(st.sampled_from(_agents(doc)))
            n = draw(st.sampled_from([0, 2, 50, 1500 if harness.RUN.long else 300]))
            unique = draw(st.booleans())
            doc["agents"] = [
                {**template, "id": f"{template.get('id')}-{i}" if unique else template.get("id")}
                for i in range(n)
            ]
    if draw(st.booleans()):
        text = json.dumps(
            doc, ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, 2]))
        )
    else:
        buffer = io.StringIO()
        yaml = YAML(typ="rt")
        yaml.width = 4096
        yaml.dump(doc, buffer)
        text = buffer.getvalue()
    if kind == "anchor":
        text = text.replace("agents:", "agents: &a", 1) + "extra: *a\n"
    return text


@st.composite
def text_edits(draw: st.DrawFn) -> str:
    """Valid block YAML with raw characters or YAML syntax spliced in at random places."""
    buffer = io.StringIO()
    YAML(typ="rt").dump(json.loads(json.dumps(BASE)), buffer)
    text = buffer.getvalue()
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        piece = draw(
            st.one_of(
                st.sampled_from(
                    [
                        "\x00",
                        "\x07",
                        "\t",
                        ": ",
                        "- ",
                        "{",
                        "[",
                        "&a ",
                        "*a",
                        "!!int ",
                        "? ",
                        "\n  ",
                        "'",
                        '"',
                        "#",
                        "%TAG ! x\n",
                        "---\n",
                        "...\n",
                        "\ufeff",
                        "\\u",
                    ]
                ),
                st.text(max_size=6),
            )
        )
        text = text[:at] + piece + text[at:]
    return text


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def _agents(doc: Any) -> list[dict[str, Any]]:
    agents = doc.get("agents") if isinstance(doc, dict) else None
    return [a for a in agents if isinstance(a, dict)] if isinstance(agents, list) else []


def check_loads_or_locates(text: str, workspace: Path) -> None:
    """The property: SpecError with located issues, or a spec that resolves and plans."""
    try:
        loaded = load_spec_text(text, SPEC_PATH)
    except SpecError as err:
        lines = text.count("\n") + 2
        for issue in err.issues:
            assert issue.file == SPEC_PATH
            assert 1 <= issue.line <= lines, (issue, lines)
            assert issue.column >= 1, issue
        rendered = str(err)
        assert SECRET not in rendered
        assert LOCATED.match(rendered), rendered
        return
    spec = loaded.spec.model_copy(
        update={"team": loaded.spec.team.model_copy(update={"workspace": "."})}
    )
    team = desired_team(spec, workspace, python=sys.executable)
    for agent in team.agents:
        if agent.launch is not None:
            agent.launch.config_hash()
            json.dumps({"argv": list(agent.launch.argv), "env": dict(agent.launch.env)})
    inputs = PassInputs(
        loaded=loaded,
        team=team,
        world=world(),
        previous=TeamStatus.empty(spec.team_id),
        now=NOW,
        generation=1,
        installed=installed_executables(a.launch for a in team.agents),
    )
    for controller in default_controllers():
        controller.reconcile(inputs)


EXAMPLES = 1500 if harness.RUN.long else 40  # per property
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=not harness.RUN.long,  # the short run is the same every time (CI)
    database=None,
)


@FUZZ
@given(text=mutated())
def test_mutated_spec_loads_or_fails_located(
    text: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Structured mutations of a valid spec (see the module docstring)."""
    check_loads_or_locates(text, tmp_path_factory.getbasetemp())


@FUZZ
@given(text=text_edits())
def test_edited_yaml_text_loads_or_fails_located(
    text: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Raw characters and YAML syntax spliced into the text of a valid spec."""
    check_loads_or_locates(text, tmp_path_factory.getbasetemp())


class Crash(NamedTuple):
    text: str
    line: int
    column: int
    says: str


# Inputs that crashed the loader with a traceback before this suite (each a SpecError now).
CRASHES = [
    Crash(
        "version: 1\nteam: {name: a}\nruntime: {resync_interval_sec: " + "9" * 5000 + "}\n",
        3,
        32,
        "more than 4000 digits",
    ),
    Crash(
        "version: 1\nteam: {name: a}\ncontext: {files: " + "[" * 300 + "]" * 300 + "}\n",
        3,
        66,
        "nested more than 50 levels",
    ),
    # 2000 deep overflowed the composer after 4 s and was located at 1:1; now it stops at
    # the 51st level, where it is.
    Crash(
        "version: 1\nteam: {name: a}\nagents: " + "[" * 2000 + "]" * 2000 + "\n",
        3,
        58,
        "nested more than 50 levels",
    ),
    Crash('version: 1\nteam: {name: "\\ud800"}\n', 2, 14, "lone UTF-16 surrogate"),
    Crash(
        "version: 1\nteam: {name: a}\nagents: [{id: a, provider: shell, command: [x], "
        'env: {A: "\\ude00\\ud83d"}}]\n',
        3,
        58,
        "lone UTF-16 surrogate",
    ),
    Crash('version: 1\nteam: {name: a, workspace: "a\\0b"}\n', 2, 28, "NUL"),
    Crash("version: 1\nteam: {name: 2024-13-45}\n", 2, 14, "cannot be read (ValueError)"),
    Crash("version: 1\nteam: {name: !!int abc}\n", 2, 14, "cannot be read (ValueError)"),
    Crash("version: 1\nteam: {name: !!bool abc}\n", 2, 14, "cannot be read (KeyError)"),
    Crash("version: 1\nteam: !!set abc\n", 2, 7, "cannot be read (AttributeError)"),
    Crash("version: 1\nteam: {name: a\x07}\n", 2, 15, "U+0007 is not allowed"),
]


@pytest.mark.parametrize("case", CRASHES, ids=[c.says + f"@{c.line}:{c.column}" for c in CRASHES])
def test_former_crashes_are_located_spec_errors(case: Crash) -> None:
    """Each input once ended in a traceback; now it is a SpecError at the right place."""
    with pytest.raises(SpecError) as caught:
        load_spec_text(case.text, SPEC_PATH)
    issue = caught.value.first
    assert (issue.line, issue.column) == (case.line, case.column), issue
    assert case.says in issue.message, issue


def test_json_surrogate_pairs_are_one_character() -> None:
    """`json.dumps` writes an emoji as a surrogate pair escape; YAML must read it whole."""
    text = json.dumps(
        {
            "version": 1,
            "team": {"name": "a", "description": "\U0001f642"},
            "agents": [{"id": "x", "provider": "shell", "command": ["echo", "\U0001f642"]}],
        }
    )
    assert "\\ud83d\\ude42" in text
    spec = load_spec_text(text, SPEC_PATH).spec
    assert spec.team.description == "\U0001f642"
    assert spec.agents[0].command == ["echo", "\U0001f642"]


def test_billion_laughs_is_refused_quickly() -> None:
    """Nine levels of nine-fold aliases would expand to 387 million values: refused at the
    alias-expansion bound instead of taking minutes and gigabytes."""
    levels = ["  l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    for n in range(1, 9):
        levels.append(f"  l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 9) + "]")
    text = "version: 1\nteam: {name: a}\nbomb:\n" + "\n".join(levels) + "\ncontext: {files: *l8}\n"
    with pytest.raises(SpecError) as caught:
        load_spec_text(text, SPEC_PATH)
    assert "expands to more than" in caught.value.first.message

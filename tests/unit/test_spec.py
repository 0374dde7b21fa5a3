"""Spec models and loader: defaults, located errors, secrets, content hash, file search."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import NamedTuple

import pytest
from pydantic import ValidationError

from reconciler.api.errors import SpecError, SpecNotFound
from reconciler.api.spec import PERMISSION_MODES, PORTABLE_PERMISSION_MODES, CommunicationEdge, Spec
from reconciler.specfile.load import (
    AUTO_TRUST_DEPRECATION,
    LoadedSpec,
    load_spec,
    load_spec_text,
)
from reconciler.specfile.locate import find_spec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SPEC_PATH = Path("/srv/team/team.spec.yaml")
HEAD = "version: 1\nteam: {name: demo}\n"


def load(text: str) -> LoadedSpec:
    return load_spec_text(textwrap.dedent(text), SPEC_PATH)


def load_error(text: str) -> SpecError:
    with pytest.raises(SpecError) as caught:
        load(text)
    return caught.value


# --- examples and defaults ------------------------------------------------------------


@pytest.mark.parametrize("name", ["minimal.team.spec.yaml", "full.team.spec.yaml"])
def test_examples_validate(name: str) -> None:
    loaded = load_spec(EXAMPLES / name)
    assert loaded.path == EXAMPLES / name
    assert loaded.workspace == EXAMPLES.resolve()
    assert loaded.content_hash.startswith("sha256:")
    assert loaded.deprecations == ()


def test_full_example_fills_every_section() -> None:
    spec = load_spec(EXAMPLES / "full.team.spec.yaml").spec
    assert set(spec.model_fields_set) == set(Spec.model_fields)
    assert {agent.provider for agent in spec.agents} >= {"claude", "codex", "shell"}
    prompt = spec.agents[0].system_prompt
    assert type(prompt) is str  # ruamel's string subclasses do not leak into the model


def test_minimal_spec_defaults() -> None:
    loaded = load(HEAD + "agents: [{id: impl}]\n")
    spec = loaded.spec
    agent = spec.agents[0]
    assert (agent.provider, agent.restart_policy, agent.paused) == ("fake", "Always", False)
    assert (agent.command, agent.env, agent.readiness, agent.session.on_lost) == (
        None,
        {},
        None,
        "fresh",
    )
    assert spec.leader is None
    assert spec.team_id == "demo"
    assert spec.session_name == "team-demo"
    assert spec.routing.default is None
    assert spec.communication.result_format == "envelope-v1"
    assert spec.communication.leader_receives_results is True
    assert (spec.runtime.resync_interval_sec, spec.runtime.stuck_timeout_sec) == (30, 600)
    assert (spec.runtime.stop_grace_sec, spec.runtime.tmux_socket) == (5, None)
    assert spec.orphans.policy == "report"
    assert loaded.workspace == SPEC_PATH.parent
    assert loaded.path == SPEC_PATH


def test_explicit_team_id_session_and_workspace() -> None:
    loaded = load(
        """\
        version: 1
        team: {name: demo, id: demo-2, workspace: ../work}
        runtime: {session_name: my-session}
        """
    )
    assert loaded.spec.team_id == "demo-2"
    assert loaded.spec.session_name == "my-session"
    assert loaded.workspace == Path("/srv/work")


def test_models_are_frozen() -> None:
    spec = load(HEAD).spec
    with pytest.raises(ValidationError):
        spec.team.name = "other"


def test_communication_edge_accepts_field_name_and_dumps_alias() -> None:
    edge = CommunicationEdge(from_="leader", to="impl")
    assert edge.model_dump(by_alias=True) == {"from": "leader", "to": "impl"}


def test_cross_field_errors_are_located_without_the_loader() -> None:
    data = {"version": 1, "team": {"name": "demo"}, "agents": [{"id": "a"}, {"id": "a"}]}
    with pytest.raises(ValidationError, match=r"agents\[1\]\.id: duplicate agent id 'a'"):
        Spec.model_validate(data)


# --- located errors -------------------------------------------------------------------


class ErrorCase(NamedTuple):
    test_id: str
    text: str
    line: int
    column: int
    message: str


ERROR_CASES = [
    ErrorCase(
        "yaml-syntax",
        "version: 1\nteam:\n  name: demo: x\n",
        3,
        13,
        "YAML syntax error: mapping values are not allowed here",
    ),
    ErrorCase("yaml-tab", "version: 1\nteam:\n\tname: demo\n", 3, 1, "YAML syntax error"),
    ErrorCase(
        "yaml-duplicate-key",
        HEAD + "version: 1\n",
        3,
        1,
        "duplicate key 'version' (first at line 1)",
    ),
    ErrorCase("top-level-list", "- a\n- b\n", 1, 1, "must be a YAML mapping"),
    ErrorCase("empty-file", "", 1, 1, "must be a YAML mapping"),
    ErrorCase("unknown-top-level-key", HEAD + "agnets: []\n", 3, 1, "agnets: unknown key"),
    ErrorCase(
        "unknown-agent-key",
        HEAD + "agents:\n  - id: impl\n    promt: hi\n",
        5,
        5,
        "agents[0].promt: unknown key",
    ),
    ErrorCase(
        "wrong-type-block",
        HEAD + "runtime:\n  resync_interval_sec: often\n",
        4,
        24,
        "runtime.resync_interval_sec: Input should be a valid number",
    ),
    ErrorCase(
        "wrong-type-flow", "version: 1\nteam: {name: 5}\n", 2, 14, "team.name: Input should be"
    ),
    ErrorCase(
        "out-of-range",
        HEAD + "runtime:\n  resync_interval_sec: 0\n",
        4,
        24,
        "runtime.resync_interval_sec: Input should be greater than or equal to 1",
    ),
    ErrorCase("wrong-version", "version: 2\nteam: {name: demo}\n", 1, 10, "version: Input"),
    ErrorCase("missing-version", "team: {name: demo}\n", 1, 1, "version: required key"),
    ErrorCase("missing-nested", "version: 1\nteam: {}\n", 2, 7, "team.name: required key"),
    ErrorCase("null-section", "version: 1\nteam:\n", 2, 1, "team: Input should be"),
    ErrorCase(
        "duplicate-agent-id",
        HEAD + "agents:\n  - id: impl\n  - id: tests\n  - id: impl\n",
        6,
        9,
        "agents[2].id: duplicate agent id 'impl'",
    ),
    ErrorCase(
        "shell-without-command",
        HEAD + "agents:\n  - id: logs\n    provider: shell\n",
        5,
        15,
        "agents[0].provider: provider 'shell' needs a 'command'",
    ),
    ErrorCase(
        "empty-command",
        HEAD + "agents:\n  - id: logs\n    provider: shell\n    command: []\n",
        6,
        14,
        "agents[0].command: List should have at least 1 item",
    ),
    ErrorCase(
        "empty-command-word",
        HEAD + "agents:\n  - id: logs\n    command: [tail, '']\n",
        5,
        21,
        "agents[0].command[1]: String should have at least 1 character",
    ),
    ErrorCase(
        "env-reserved-name",
        HEAD + "agents:\n  - id: impl\n    env: {TEAM_AGENT_ID: x}\n",
        5,
        11,
        "agents[0].env.TEAM_AGENT_ID: env name 'TEAM_AGENT_ID' is reserved",
    ),
    ErrorCase(
        "env-bad-name",
        HEAD + "leader:\n  provider: claude\n  env: {'BAD-NAME': x}\n",
        5,
        9,
        "leader.env.BAD-NAME: env name 'BAD-NAME' is not safe",
    ),
    ErrorCase(
        "routing-default-unknown",
        HEAD + "agents: [{id: impl}]\nrouting:\n  default: nobody\n",
        5,
        12,
        "routing.default: unknown agent 'nobody' (expected one of: impl)",
    ),
    ErrorCase(
        "routing-rule-unknown",
        HEAD + "agents: [{id: impl}]\nrouting:\n  rules:\n    - {match: x, to: ghost}\n",
        6,
        22,
        "routing.rules[0].to: unknown agent 'ghost'",
    ),
    ErrorCase(
        "edge-unknown",
        HEAD + "communication:\n  allow:\n    - {from: ghost, to: leader}\n",
        5,
        14,
        "communication.allow[0].from: unknown agent 'ghost' (expected one of: leader)",
    ),
    ErrorCase(
        "task-assignee-unknown",
        HEAD + "tasks:\n  - id: t1\n    title: do it\n    assignee: ghost\n",
        6,
        15,
        "tasks[0].assignee: unknown agent 'ghost' (no agents declared)",
    ),
    ErrorCase(
        "readiness-bad-regex",
        HEAD + "agents:\n  - id: impl\n    readiness: {pattern: '('}\n",
        5,
        26,
        "agents[0].readiness.pattern: not a valid regular expression",
    ),
    ErrorCase(
        "prompt-and-prompt-file",
        HEAD + "agents:\n  - id: impl\n    system_prompt: hi\n    system_prompt_file: p.md\n",
        6,
        25,
        "agents[0].system_prompt_file: set either 'system_prompt' or 'system_prompt_file'",
    ),
    ErrorCase(
        "bad-tmux-socket",
        HEAD + "runtime: {tmux_socket: a/b}\n",
        3,
        24,
        "runtime.tmux_socket: tmux socket 'a/b' is not safe",
    ),
]


@pytest.mark.parametrize("case", ERROR_CASES, ids=[case.test_id for case in ERROR_CASES])
def test_errors_are_located(case: ErrorCase) -> None:
    error = load_error(case.text)
    issue = error.first
    assert (issue.file, issue.line, issue.column) == (SPEC_PATH, case.line, case.column), issue
    assert case.message in issue.message
    assert str(error).startswith(f"{SPEC_PATH}:{case.line}:{case.column}: ")


def test_every_problem_is_reported_in_file_order() -> None:
    error = load_error(HEAD + "agents:\n  - id: impl\n    paused: maybe\nfoo: 1\n")
    assert [(issue.line, issue.column) for issue in error.issues] == [(5, 13), (6, 1)]


UNSAFE_IDS = ["a b", "a:b", "%1", "#{pane_id}", "$(rm -rf /)", "é", "a.b", "Impl", "-x", "x" * 64]


@pytest.mark.parametrize("agent_id", UNSAFE_IDS, ids=repr)
def test_unsafe_agent_ids_are_rejected(agent_id: str) -> None:
    error = load_error(HEAD + f"agents:\n  - id: {json.dumps(agent_id)}\n")
    assert (error.first.line, error.first.column) == (4, 9)
    assert error.first.message == (
        f"agents[0].id: agent id '{agent_id}' is not safe: "
        "use lowercase letters, digits, '-' and '_' (max 63)"
    )


@pytest.mark.parametrize("agent_id", ["impl", "tail-logs", "a_b", "0", "x" * 63])
def test_safe_agent_ids_are_accepted(agent_id: str) -> None:
    text = HEAD + f"agents: [{{id: {json.dumps(agent_id)}}}]\n"
    assert load(text).spec.agents[0].id == agent_id


# --- secrets --------------------------------------------------------------------------


class SecretCase(NamedTuple):
    test_id: str
    text: str
    secret: str


SECRET_CASES = [
    SecretCase(
        "wrong-type-values",
        HEAD + "agents:\n  - id: impl\n    env: {API_KEY: 12345, TOKEN: 98765.5}\n",
        "12345",
    ),
    SecretCase(
        "leader-env", HEAD + "leader:\n  provider: claude\n  env: {API_KEY: 424242}\n", "424242"
    ),
    SecretCase(
        "yaml-syntax-near-secret",
        HEAD + 'agents:\n  - id: impl\n    env: {API_KEY: "s3cr3t-value}\n',
        "s3cr3t",
    ),
    SecretCase(
        "duplicate-env-key",
        HEAD + "agents:\n  - id: impl\n    env: {API_KEY: hunter2, API_KEY: hunter3}\n",
        "hunter",
    ),
    SecretCase(
        "secret-next-to-other-error",
        HEAD + "agents:\n  - id: 'a b'\n    env: {API_KEY: sk-live-abc}\n",
        "sk-live",
    ),
]


@pytest.mark.parametrize("case", SECRET_CASES, ids=[case.test_id for case in SECRET_CASES])
def test_env_values_never_appear_in_errors(case: SecretCase) -> None:
    error = load_error(case.text)
    chain: list[BaseException] = []
    cause: BaseException | None = error
    while cause is not None:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    for exc in chain:
        assert case.secret not in str(exc), type(exc)


def test_wrong_type_env_value_is_located_by_name() -> None:
    error = load_error(HEAD + "agents:\n  - id: impl\n    env: {API_KEY: 12345}\n")
    assert error.first.message == "agents[0].env.API_KEY: Input should be a valid string"
    assert (error.first.line, error.first.column) == (5, 20)


# --- deprecations and content hash ----------------------------------------------------


@pytest.mark.parametrize("value", ["true", "false", "null"])
def test_deprecated_auto_trust_loads_with_a_deprecation(value: str) -> None:
    loaded = load(HEAD + f"runtime:\n  auto_trust_own_workspace: {value}\n")
    assert loaded.deprecations == (AUTO_TRUST_DEPRECATION,)


class HashCase(NamedTuple):
    test_id: str
    edited: str
    same: bool


HASH_BASE = """\
version: 1
team: {name: demo}
agents:
  - id: impl
    env: {A: "1"}
"""
HASH_CASES = [
    HashCase("comment", "# team\n" + HASH_BASE.replace("impl\n", "impl  # worker\n"), True),
    HashCase(
        "block-style-and-spacing",
        "version:   1\nteam:\n  name: demo\nagents:\n- id: impl\n  env:\n    A: '1'\n",
        True,
    ),
    HashCase("key-order", "team: {name: demo}\nversion: 1\n" + HASH_BASE.split("}\n", 1)[1], True),
    HashCase("explicit-default", HASH_BASE + "    restart_policy: Always\n", True),
    HashCase("env-value", HASH_BASE.replace('"1"', '"2"'), False),
    HashCase("new-agent", HASH_BASE + "  - id: other\n", False),
    HashCase("paused", HASH_BASE + "    paused: true\n", False),
]


@pytest.mark.parametrize("case", HASH_CASES, ids=[case.test_id for case in HASH_CASES])
def test_content_hash_follows_meaning_not_text(case: HashCase) -> None:
    base = load(HASH_BASE).content_hash
    assert (load(case.edited).content_hash == base) is case.same


# --- finding the spec -----------------------------------------------------------------


class FindCase(NamedTuple):
    test_id: str
    existing: tuple[str, ...]
    explicit: str | None
    expected: str | None  # None: SpecNotFound


FIND_CASES = [
    FindCase("explicit", ("custom.yaml", "team.spec.yaml"), "custom.yaml", "custom.yaml"),
    FindCase("explicit-missing", ("team.spec.yaml",), "custom.yaml", None),
    FindCase(
        "cwd-first",
        ("team.spec.yaml", ".team/current/team.spec.yaml"),
        None,
        "team.spec.yaml",
    ),
    FindCase(
        "team-current",
        (".team/current/team.spec.yaml",),
        None,
        ".team/current/team.spec.yaml",
    ),
    FindCase("nothing", (), None, None),
]


@pytest.mark.parametrize("case", FIND_CASES, ids=[case.test_id for case in FIND_CASES])
def test_find_spec_search_order(case: FindCase, tmp_path: Path) -> None:
    for name in case.existing:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(HEAD)
    explicit = Path(case.explicit) if case.explicit is not None else None
    if case.expected is not None:
        assert find_spec(explicit, tmp_path) == tmp_path / case.expected
        return
    with pytest.raises(SpecNotFound) as caught:
        find_spec(explicit, tmp_path)
    tried = [case.explicit] if case.explicit else ["team.spec.yaml", ".team/current/team.spec.yaml"]
    for name in tried:
        assert str(tmp_path / name) in str(caught.value)


def test_load_spec_of_missing_file_is_spec_not_found(tmp_path: Path) -> None:
    with pytest.raises(SpecNotFound):
        load_spec(tmp_path / "team.spec.yaml")


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_a_workspace_that_is_no_folder_is_a_located_spec_error(tmp_path: Path, kind: str) -> None:
    """A typo in team.workspace is said at its line by `validate` and every pass, not
    found later as an unwritable state folder (exit 4)."""
    if kind == "file":
        (tmp_path / "work").write_text("")
    path = tmp_path / "team.spec.yaml"
    path.write_text("version: 1\nteam:\n  name: w\n  workspace: ./work\nagents: []\n")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    issue = caught.value.first
    assert (issue.line, issue.column) == (4, 14)
    what = "is not a folder" if kind == "file" else "does not exist"
    assert issue.message == (
        f"team.workspace: {tmp_path / 'work'} {what} (paths are relative to the spec's folder)"
    )
    (tmp_path / "work").unlink(missing_ok=True)
    (tmp_path / "work").mkdir()
    assert load_spec(path).workspace == tmp_path / "work"


def test_a_complex_yaml_key_never_echoes_the_values_inside_it() -> None:
    """`? {TOKEN: value}` is a mapping used as a key; pydantic puts its str() in the error
    location, which printed the value (found by the long fuzz run)."""
    text = (
        "version: 1\nteam: {name: a}\nagents:\n- id: logs\n  provider: shell\n"
        "  command: [x]\n  env:\n  ?   TOKEN: Bearer s3cr3t-VALUE\n"
    )
    with pytest.raises(SpecError) as caught:
        load_spec_text(text, SPEC_PATH)
    rendered = str(caught.value)
    assert "s3cr3t-VALUE" not in rendered
    assert "agents[0].<key>: Keys should be strings" in rendered


# --- permission modes, per provider -----------------------------------------------------


@pytest.mark.parametrize("provider", sorted(PERMISSION_MODES))
def test_a_permission_mode_the_cli_would_refuse_is_a_located_error(provider: str) -> None:
    error = load_error(
        HEAD + f"agents:\n  - id: impl\n    provider: {provider}\n    permission_mode: sometimes\n"
    )
    [issue] = error.issues
    assert (issue.line, issue.column) == (6, 22)
    assert f"{provider} accepts permission_mode " in issue.message
    assert all(mode in issue.message for mode in PERMISSION_MODES[provider])


@pytest.mark.parametrize("provider", sorted(PERMISSION_MODES))
def test_the_portable_permission_modes_are_accepted_by_every_cli(provider: str) -> None:
    for mode in PORTABLE_PERMISSION_MODES:
        loaded = load(
            HEAD + f"agents:\n  - id: impl\n    provider: {provider}\n    permission_mode: {mode}\n"
        )
        assert loaded.spec.agents[0].permission_mode == mode


@pytest.mark.parametrize("provider", ["shell", "fake"])
def test_a_provider_without_permission_modes_refuses_one(provider: str) -> None:
    command = "    command: [sleep, '60']\n" if provider == "shell" else ""
    agent = f"  - id: impl\n    provider: {provider}\n{command}    permission_mode: ask\n"
    error = load_error(HEAD + "agents:\n" + agent)
    assert "takes no permission_mode" in error.issues[0].message

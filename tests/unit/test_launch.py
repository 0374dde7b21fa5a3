"""`LaunchConfig.config_hash`: the recreate trigger changes exactly when the launch does."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import NamedTuple

import pytest

from reconciler.api.launch import LaunchConfig

SECRET = "sk-ant-very-secret-value-0123456789"

BASE = LaunchConfig(
    provider="shell",
    argv=("agent-cli", "--model", "big"),
    cwd="/ws",
    env={"API_KEY": SECRET, "LOG_LEVEL": "info", "TEAM_AGENT_ID": "impl"},
    readiness_pattern=r"^> ",
)


class HashCase(NamedTuple):
    test_id: str
    other: LaunchConfig
    changes: bool


HASH_CASES = [
    HashCase("identical", replace(BASE), False),
    HashCase("argv-as-list-or-tuple-alike", replace(BASE, argv=tuple(list(BASE.argv))), False),
    HashCase(
        "env-order-does-not-matter",
        replace(BASE, env=dict(reversed(list(BASE.env.items())))),
        False,
    ),
    HashCase("argv-value", replace(BASE, argv=("agent-cli", "--model", "small")), True),
    HashCase("argv-extra-arg", replace(BASE, argv=(*BASE.argv, "--verbose")), True),
    HashCase("argv-order", replace(BASE, argv=("agent-cli", "big", "--model")), True),
    HashCase("argv-split-differently", replace(BASE, argv=("agent-cli", "--model big")), True),
    HashCase("env-value", replace(BASE, env={**BASE.env, "API_KEY": SECRET + "x"}), True),
    HashCase("env-added", replace(BASE, env={**BASE.env, "NEW": "1"}), True),
    HashCase(
        "env-removed",
        replace(BASE, env={k: v for k, v in BASE.env.items() if k != "LOG_LEVEL"}),
        True,
    ),
    HashCase(
        "env-renamed", replace(BASE, env={**BASE.env, "LOG_LEVEL": "", "LEVEL": "info"}), True
    ),
    HashCase("cwd", replace(BASE, cwd="/ws/sub"), True),
    HashCase("readiness", replace(BASE, readiness_pattern=r"^\$ "), True),
    HashCase("readiness-removed", replace(BASE, readiness_pattern=None), True),
    HashCase("provider", replace(BASE, provider="fake"), True),
    HashCase("restart-requested", replace(BASE, restart_token="2026-12-07T14:30:30Z"), True),
]


@pytest.mark.parametrize("case", HASH_CASES, ids=[c.test_id for c in HASH_CASES])
def test_config_hash_changes_exactly_when_the_launch_does(case: HashCase) -> None:
    assert (case.other.config_hash() != BASE.config_hash()) is case.changes


def test_config_hash_is_stable_across_calls_and_shaped() -> None:
    first = BASE.config_hash()

    assert first == BASE.config_hash()
    assert first.startswith("sha256:")
    assert len(first) == len("sha256:") + 32
    int(first.removeprefix("sha256:"), 16)  # hex


def test_a_new_restart_request_changes_the_hash_and_the_same_one_does_not() -> None:
    first = replace(BASE, restart_token="2026-12-07T14:30:30Z")

    assert replace(BASE, restart_token="2026-12-07T14:30:30Z").config_hash() == first.config_hash()
    assert replace(BASE, restart_token="2026-12-07T14:30:31Z").config_hash() != first.config_hash()


def test_no_restart_request_keeps_the_hash_agents_had_before_requests_existed() -> None:
    """The token joins the digest only when set: upgrading team-agent recreates nobody."""
    payload = json.dumps(
        {
            "argv": list(BASE.argv),
            "cwd": BASE.cwd,
            "env": dict(sorted(BASE.env.items())),
            "provider": BASE.provider,
            "readiness": BASE.readiness_pattern,
        },
        sort_keys=True,
        separators=(",", ":"),
    )

    assert BASE.config_hash() == "sha256:" + hashlib.sha256(payload.encode()).hexdigest()[:32]


def test_config_hash_reveals_no_env_value() -> None:
    digest = BASE.config_hash()

    for value in BASE.env.values():
        assert value not in digest
    for fragment in (SECRET[:8], SECRET[-8:]):
        assert fragment not in digest


def test_executable_is_the_first_argv_entry() -> None:
    assert BASE.executable == "agent-cli"

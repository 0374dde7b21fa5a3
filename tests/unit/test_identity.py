"""The leader UUID: the 0.2.x formula, NUL rejection, the override, and where inputs come from."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from controllers.leader.identity import (
    IdentityError,
    IdentityInputs,
    leader_uuid,
    machine_fingerprint,
    os_user,
    read_machine_id,
    resolve_identity,
)

INPUTS = IdentityInputs("machine-0541-red", "/home/ana/proj", "ana", "demo")


def test_formula_is_the_one_leaders_of_0_2_carry() -> None:
    # Pinned: a leader started by team-agent 0.2.x with these inputs carries this UUID.
    assert leader_uuid(INPUTS) == "573ff2a0a287ec6c7945437825308e53"
    joined = "\0".join(["machine-0541-red", "/home/ana/proj", "ana", "demo"])
    assert leader_uuid(INPUTS) == hashlib.sha256(joined.encode()).hexdigest()[:32]


@pytest.mark.parametrize("field", ["machine_fingerprint", "workspace", "os_user", "team_id"])
def test_an_input_holding_nul_is_rejected(field: str) -> None:
    values = {
        "machine_fingerprint": "fp",
        "workspace": "/ws",
        "os_user": "ana",
        "team_id": "demo",
    }
    values[field] += "\0x"
    with pytest.raises(IdentityError, match="NUL"):
        leader_uuid(IdentityInputs(**values))


def test_moving_text_between_inputs_changes_the_uuid() -> None:
    # Why NUL is the separator and is rejected: "a\0b" + "c" must differ from "a" + "b\0c".
    one = IdentityInputs("fp", "/ws/a", "ana", "demo")
    two = IdentityInputs("fp", "/ws", "a", "ana-demo")
    assert leader_uuid(one) != leader_uuid(two)


ENV = {"TEAM_AGENT_MACHINE_FINGERPRINT": "machine-0541-red", "USER": "ana"}


def test_resolve_uses_env_fingerprint_user_and_resolved_workspace(tmp_path: Path) -> None:
    real = tmp_path / "proj"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    ident = resolve_identity("demo", link, env=ENV)
    assert ident.inputs.workspace == str(real.resolve())
    assert ident.inputs.fingerprint_source == "env"
    expected = IdentityInputs("machine-0541-red", str(real.resolve()), "ana", "demo")
    assert ident.uuid == leader_uuid(expected)
    assert not ident.overridden


def test_override_wins() -> None:
    env = {**ENV, "TEAM_AGENT_LEADER_SESSION_UUID_OVERRIDE": "fixed-leader"}
    ident = resolve_identity("demo", Path("/ws"), env=env)
    assert (ident.uuid, ident.overridden) == ("fixed-leader", True)


def test_empty_override_is_not_set() -> None:
    env = {**ENV, "TEAM_AGENT_LEADER_SESSION_UUID_OVERRIDE": "  "}
    assert not resolve_identity("demo", Path("/ws"), env=env).overridden


def test_os_user_order() -> None:
    assert os_user({"USER": "ana", "USERNAME": "bo"}) == "ana"
    assert os_user({"USERNAME": "bo"}) == "bo"
    assert os_user({}) != ""  # the password database's name for our uid


def test_machine_fingerprint_never_exposes_the_machine_id() -> None:
    value, source = machine_fingerprint({})
    assert machine_fingerprint({}) == (value, source)  # stable
    machine_id = read_machine_id()
    if machine_id is None:
        assert source == "hostname"
        return
    assert source == "machine-id"
    assert len(value) == 32 and machine_id not in value and value not in machine_id


def test_env_fingerprint_wins_over_the_machine_id() -> None:
    assert machine_fingerprint({"TEAM_AGENT_MACHINE_FINGERPRINT": "given"}) == ("given", "env")


def test_real_environment_resolves() -> None:
    ident = resolve_identity("demo", Path.cwd(), env=os.environ)
    assert len(ident.uuid) == 32 or ident.overridden

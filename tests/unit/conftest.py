"""The rule of `tests/unit/`: a unit test runs in this process and starts no other.

Unit tests are the fast, exact layer: pure plans against in-memory worlds, parsers,
models, the store on a tmp dir. A test that starts a child process (the CLI, the fake
agent, a real agent CLI, tmux, `sleep`) is slower, depends on the machine and belongs in
`tests/process/` or `tests/e2e/` (tests/README.md). So every unit test runs with the ways
of starting a process replaced by a refusal that fails the test, naming what it tried.
The refusal is a `BaseException` (pytest's failure), so `except Exception` in the code
under test does not hide it; an attempt swallowed anyway still fails the test when it
ends, since every attempt is recorded.
"""

from __future__ import annotations

import _posixsubprocess  # CPython's fork+exec, under subprocess and multiprocessing
import os
import pty
import subprocess
from collections.abc import Callable, Generator
from typing import Any

import pytest

ATTEMPTS = pytest.StashKey[list[str]]()
WHERE = "tests/unit runs in-process only: move the test to tests/process or tests/e2e"

# Every way the standard library starts (or becomes) another program. subprocess,
# asyncio's subprocesses, os.popen and multiprocessing's spawn and forkserver all end in
# `_posixsubprocess.fork_exec`; multiprocessing's fork context in `os.fork`.
OS_CALLS = (
    "fork",
    "forkpty",
    "posix_spawn",
    "posix_spawnp",
    "system",
    "execv",
    "execve",
    "execvp",
    "execvpe",
    "execl",
    "execle",
    "execlp",
    "execlpe",
    "spawnv",
    "spawnve",
    "spawnvp",
    "spawnvpe",
)


def forbid_processes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replace every way to start a process with a refusal; returns the attempts made."""
    attempts: list[str] = []

    def refusal(name: str) -> Callable[..., Any]:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            first = next((a for a in args if not isinstance(a, subprocess.Popen)), "")
            attempts.append(f"{name}({first!r:.200})")
            pytest.fail(f"a unit test started a process: {attempts[-1]}; {WHERE}")

        return refuse

    monkeypatch.setattr(subprocess.Popen, "__init__", refusal("subprocess.Popen"))
    monkeypatch.setattr(_posixsubprocess, "fork_exec", refusal("_posixsubprocess.fork_exec"))
    monkeypatch.setattr(pty, "fork", refusal("pty.fork"))
    for name in OS_CALLS:
        if hasattr(os, name):
            monkeypatch.setattr(os, name, refusal(f"os.{name}"))
    return attempts


@pytest.fixture(autouse=True)
def no_child_processes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every unit test, from its first fixture on: starting a process fails it."""
    request.node.stash[ATTEMPTS] = forbid_processes(monkeypatch)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """A test that passed although it tried to start a process (the code under test
    caught the refusal) fails all the same."""
    yield
    attempts = item.stash.get(ATTEMPTS, [])
    if attempts:
        pytest.fail(f"a unit test started a process: {', '.join(attempts)}; {WHERE}")

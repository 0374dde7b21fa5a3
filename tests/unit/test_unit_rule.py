"""The guard of tests/unit (tests/unit/conftest.py): a unit test cannot start a process.

Each way of starting one is tried here, on purpose, and must be refused and recorded; the
records are cleared at the end so that these tests themselves pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import subprocess
import sys
from collections.abc import Callable

import psutil
import pytest

from tests.unit.conftest import ATTEMPTS, pytest_runtest_call


def _asyncio_exec() -> None:
    async def start() -> None:
        await asyncio.create_subprocess_exec("true")

    asyncio.run(start())


def _multiprocessing(method: str) -> Callable[[], None]:
    def start() -> None:
        multiprocessing.get_context(method).Process(target=print).start()

    return start


WAYS: dict[str, Callable[[], object]] = {
    "subprocess.run": lambda: subprocess.run(["true"], check=False),
    "subprocess.Popen": lambda: subprocess.Popen([sys.executable, "-c", "pass"]),
    "psutil.Popen": lambda: psutil.Popen(["true"]),
    "os.system": lambda: os.system("true"),
    "os.popen": lambda: os.popen("true"),
    "os.fork": lambda: os.fork(),  # looked up at call time, when the guard is in place
    "os.posix_spawn": lambda: os.posix_spawn("/bin/true", ["true"], {}),
    "os.execv": lambda: os.execv("/bin/true", ["true"]),
    "asyncio": _asyncio_exec,
    "multiprocessing fork": _multiprocessing("fork"),
    "multiprocessing spawn": _multiprocessing("spawn"),
}


@pytest.mark.parametrize("way", sorted(WAYS))
def test_every_way_of_starting_a_process_is_refused(
    way: str, request: pytest.FixtureRequest
) -> None:
    attempts = request.node.stash[ATTEMPTS]
    with pytest.raises(pytest.fail.Exception, match="a unit test started a process"):
        WAYS[way]()
    assert attempts, "refused but not recorded"
    attempts.clear()  # provoked on purpose: this test passes


def test_an_attempt_the_code_swallowed_still_fails_the_test(request: pytest.FixtureRequest) -> None:
    attempts = request.node.stash[ATTEMPTS]
    with contextlib.suppress(BaseException):  # code under test that hides every error
        subprocess.run(["true"], check=False)
    assert attempts
    call = pytest_runtest_call(request.node)
    next(call)  # the test's own call ran (and passed)
    with pytest.raises(pytest.fail.Exception, match=r"subprocess\.Popen\(\['true'\]\)"):
        next(call)
    attempts.clear()

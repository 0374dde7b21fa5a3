"""Our side of the side-by-side benchmark: a fake leader and N fake agents, as a person runs them.

The workers are `bench/harness.py`'s `private_team`: a temporary workspace whose spec
declares N fake agents (our stand-in CLI, `provider: fake`) on a private tmux server
(`runtime.tmux_socket`), plus `leader: {provider: fake}`. The leader lives apart, as a
person's does: a second private server (`bench-<pid>-lead-<label>-<random>`) with one
pane in which `team-agent -f SPEC leader fake` runs, which marks the pane and becomes the
fake leader; the passes find and bind it there (`docs/leader.md`). Every command is the
installed console script in a fresh process (`BenchTeam.cli_argv`), run from outside
tmux with the sandbox's environment.

`close` kills the leader's server and unlinks its socket; `private_team` removes the rest
(workers' server, `team-agent run` if one was started, the folder).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.harness import BenchError, BenchTeam, private_team, wait_until
from bench.refteam import measured_run
from bench.sidebyside import ProcessRun
from reconciler.observe.tmux import Tmux, socket_path_for

LEADER_PROMPT = "fake> "
CONVERGE_TIMEOUT = "180s"


def agent_ids(size: int) -> list[str]:
    return [f"a{i:03d}" for i in range(size)]


def actions_of(run: ProcessRun) -> list[object]:
    """The actions a `reconcile --once -o json` pass reports (`lastReconcile.actions`)."""
    try:
        actions = json.loads(run.stdout)["lastReconcile"]["actions"]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise BenchError(f"reconcile --once printed no status: {run.tail()}") from err
    return list(actions)


@dataclass
class OurTeam:
    """A `private_team` whose spec declares a fake leader, and that leader's own server."""

    team: BenchTeam
    leader_socket: str

    @property
    def workspace(self) -> Path:
        return self.team.workspace

    def prepare(self, size: int) -> None:
        """Write the spec (N fake agents, a fake leader) and start the leader."""
        self.team.write_spec(self.team.fake_agents(agent_ids(size)), leader="fake")
        leader = Tmux(socket_name=self.leader_socket)
        created = subprocess.run(
            [*leader.base_argv(), "new-session", "-d", "-s", "main", "-x", "200", "-y", "50",
             "-c", str(self.workspace), "-P", "-F", "#{pane_id}",
             "--", *self.team.cli_argv("leader", "fake")],
            env=self.team.env(), capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        if created.returncode != 0:
            raise BenchError(f"our leader pane: {created.stderr.strip()}")
        pane = created.stdout.strip()

        def prompt_shown() -> bool:
            screen = "\n".join(leader.run("capture-pane", "-p", "-J", "-t", pane))
            return LEADER_PROMPT in screen

        wait_until(prompt_shown, timeout=30, interval=0.1, what="our fake leader's prompt")

    def run(self, *args: str, timeout: float = 240.0) -> ProcessRun:
        argv = self.team.cli_argv(*args)
        return measured_run(argv, env=self.team.env(), cwd=self.workspace, timeout=timeout)

    def cold_start(self) -> ProcessRun:
        """`reconcile --once --wait`: from no workers' server to every agent Ready."""
        return self.run("reconcile", "--once", "--wait", CONVERGE_TIMEOUT, "-o", "json")

    def noop_pass(self) -> ProcessRun:
        return self.run("reconcile", "--once", "-o", "json")

    def settle(self, *, tries: int = 20) -> None:
        """Passes until one acts on nothing (fake agents print for a while after starting)."""
        for _ in range(tries):
            run = self.noop_pass()
            if run.returncode == 0 and not actions_of(run):
                return
        raise BenchError(f"no no-op pass after {tries} passes: {run.tail()}")

    def close(self) -> None:
        """Kill the leader's server and unlink its socket; never raises."""
        with contextlib.suppress(Exception):
            subprocess.run(
                [*Tmux(socket_name=self.leader_socket).base_argv(), "kill-server"],
                capture_output=True, timeout=10, check=False,
            )  # fmt: skip
        with contextlib.suppress(Exception):
            Path(socket_path_for(self.leader_socket)).unlink(missing_ok=True)


@contextlib.contextmanager
def private_our_team(label: str) -> Iterator[OurTeam]:
    """Our sandbox with a fake leader (see the module docstring)."""
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") or "x"
    with private_team(f"ours-{slug}") as team:
        ours = OurTeam(team, f"bench-{os.getpid()}-lead-{slug}-{uuid.uuid4().hex[:6]}")
        try:
            yield ours
        finally:
            ours.close()

"""The verbs agents and monitors call all the time import only what they use (issue 16).

A test of structure, not of time: each verb runs in a fresh interpreter, as the console
script runs it, and the modules it loaded are compared with what it must never load.
A time figure belongs to `bench/`; what this catches is the next import that drags the
engine, the tmux observation or rich into `status` (each costs tens of milliseconds at
every start, and agents call these verbs on every turn).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.api.status import TeamStatus
from reconciler.store.statusfile import ensure_state_dir

SPEC = """\
version: 1
team: {name: lean}
agents:
  - {id: impl, provider: fake}
"""

# Run the verb as `team-agent` would, then list every module the process holds.
PROBE = """\
import json, os, sys
sys.argv = ["team-agent", *sys.argv[1:]]
from reconciler.cli.main import main
try:
    main()
except SystemExit:
    pass
with open(os.environ["MODULES_OUT"], "w") as out:
    json.dump(sorted(sys.modules), out)
"""

# What reading a file, a store or a status must never pay for.
NEVER = (
    "reconciler.engine.engine",  # the engine and, through the registry, every controller
    "controllers.registry",
    "reconciler.observe.world",  # the tmux observation
    "reconciler.observe.tmux",
    "rich",  # machine output goes straight to stdout
    "tenacity",
)

# Verbs that only read: once a verb has summarised the spec, they do not parse it again.
READ_ONLY = ("reconciler.specfile.load", "ruamel")
VERBS = {
    # The status file and the lock record are msgspec structs: no pydantic to read them.
    "status": (["status", "-o", "json"], ("sqlite3", "pydantic", *READ_ONLY)),
    "wait": (
        ["wait", "--for", "condition=Ready", "--timeout", "0s"],
        ("sqlite3", "pydantic", *READ_ONLY),
    ),
    "approvals": (["approvals", "-o", "json"], ("pydantic", *READ_ONLY)),
    "inbox": (["inbox", "impl", "-o", "json"], ("pydantic", *READ_ONLY)),
    "results": (["results", "-o", "json"], READ_ONLY),
    "send": (["send", "impl", "hello"], ()),
    "report": (["report", "--agent", "impl", "--status", "done", "--summary", "ok"], ()),
    "validate": (["validate"], ()),
    # The leader's UUID needs the team id and the workspace: the summary has both.
    "identity": (["identity", "-o", "json"], ("pydantic", *READ_ONLY)),
}
# `send` checks its caller against the team's leader and workers (the owner gate), which
# observes the caller's pane when it runs inside tmux: it may load the tmux observation.
ALLOWED = {"send": ("reconciler.observe.world", "reconciler.observe.tmux")}


def _probe(workspace: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    """Run the verb once in a fresh interpreter; its modules go to `modules.json`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TMUX", "TEAM_AGENT_"))}
    env["MODULES_OUT"] = str(workspace / "modules.json")
    env["XDG_CACHE_HOME"] = str(workspace / "cache")
    return subprocess.run(
        [sys.executable, "-c", PROBE, "-f", str(workspace / "team.spec.yaml"), *args],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _loaded_modules(workspace: Path) -> set[str]:
    return set(json.loads((workspace / "modules.json").read_text()))


def _modules(workspace: Path, args: list[str]) -> set[str]:
    """The modules of the second of two runs: the first one summarises the spec."""
    _probe(workspace, args)
    _probe(workspace, args)
    return _loaded_modules(workspace)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "team.spec.yaml").write_text(SPEC)
    state = ensure_state_dir(tmp_path)
    (state / "status.json").write_text(TeamStatus.empty("lean").to_json())
    return tmp_path


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_a_verb_agents_call_often_imports_no_engine_tmux_or_rich(
    workspace: Path, verb: str
) -> None:
    args, also_never = VERBS[verb]
    loaded = _modules(workspace, args)
    assert "reconciler.cli.main" in loaded  # the probe ran the verb
    never = [bad for bad in (*NEVER, *also_never) if bad not in ALLOWED.get(verb, ())]
    wrong = sorted(m for m in loaded for bad in never if m == bad or m.startswith(bad + "."))
    assert not wrong, f"`team-agent {' '.join(args)}` imported {wrong}"


# Reading the status file, judging how current it is and printing it as JSON: what every
# `status`, `wait` and `approvals` does. The verbs themselves still import pydantic for
# the spec (`reconciler.cli.util.target` loads it) and, in `approvals`, the result
# envelope; the status file's own models must not add it (issue 16).
STATUS_PROBE = """\
import io, json, os, sys
from datetime import datetime, timezone
from pathlib import Path
from reconciler.cli.output import Output
from reconciler.cli.render import render_status
from reconciler.store.freshness import as_seen, assess
from reconciler.store.statusfile import StatusStore
store = StatusStore(Path(sys.argv[1]))
status = store.read()
observation = assess(status, reconciler=None, now=datetime.now(timezone.utc), resync_sec=30.0)
render_status(as_seen(status, observation, now=datetime.now(timezone.utc)), "json",
              Output(io.StringIO()), observation)
store.write(status)
with open(os.environ["MODULES_OUT"], "w") as out:
    json.dump(sorted(sys.modules), out)
"""


def test_reading_and_writing_the_status_imports_no_pydantic(workspace: Path) -> None:
    out = workspace / "modules.json"
    result = subprocess.run(
        [sys.executable, "-c", STATUS_PROBE, str(workspace / ".team")],
        env={**os.environ, "MODULES_OUT": str(out)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(out.read_text())
    assert "reconciler.store.statusfile" in loaded and "reconciler.cli.render" in loaded
    wrong = sorted(m for m in loaded if m == "pydantic" or m.startswith(("pydantic.", "pydantic_")))
    assert not wrong, f"reading the status imported {wrong[:5]}"


def test_a_table_for_a_person_still_uses_rich(workspace: Path) -> None:
    """The check above can fail: a table does load rich."""
    assert "rich.table" in _modules(workspace, ["status"])


def test_an_edited_spec_is_parsed_again(workspace: Path) -> None:
    """The summary holds for the text it summarised: `inbox` of an agent added since
    must know it (a stale summary would refuse it as unknown)."""
    assert "reconciler.specfile.load" not in _modules(workspace, ["inbox", "impl"])
    spec = workspace / "team.spec.yaml"
    spec.write_text(spec.read_text() + "  - {id: added, provider: fake}\n")
    done = _probe(workspace, ["inbox", "added", "-o", "json"])
    assert done.stdout.strip() == "[]", done.stderr
    assert "reconciler.specfile.load" in _loaded_modules(workspace)

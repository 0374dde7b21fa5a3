"""Install the pinned agent CLIs into a cache outside the clone, keyed by the lock file.

`package.json` and `package-lock.json` beside this file pin the five npm packages (and
everything they pull in). `ensure()` installs them with `npm install` (the lock file pins
every version; `npm ci` refuses this lock because npm leaves other platforms' optional
binaries out of it) into
`$TEAM_AGENT_CLI_CACHE` (default `~/.cache/team-agent/clis`)`/<sha256 of the lock>/`, once:
a later run with the same lock reuses the folder, and a bumped lock gets a new one. Only
the npm registry is used; the native binaries of codex, copilot and opencode arrive as
registry packages. `python -m tests.realcli.install` does the same from the shell
(`scripts/install-clis`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
LOCK = HERE / "package-lock.json"
MANIFEST = HERE / "package.json"
# Executables under node_modules/.bin, per provider name.
EXECUTABLES = {
    "claude": "claude",
    "codex": "codex",
    "gemini": "gemini",
    "copilot": "copilot",
    "opencode": "opencode",
}


class CliInstallError(RuntimeError):
    """npm is missing or `npm install` failed; the message says which and how to fix it."""


def pinned() -> dict[str, str]:
    """Package name -> pinned version, from package.json."""
    return dict(json.loads(MANIFEST.read_text())["dependencies"])


def cache_root() -> Path:
    default = (
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "team-agent" / "clis"
    )
    return Path(os.environ.get("TEAM_AGENT_CLI_CACHE") or default)


def lock_key() -> str:
    digest = hashlib.sha256(LOCK.read_bytes() + MANIFEST.read_bytes()).hexdigest()
    return digest[:16]


def prefix() -> Path:
    return cache_root() / lock_key()


def bin_dir() -> Path:
    return prefix() / "node_modules" / ".bin"


def installed() -> bool:
    stamp = prefix() / ".installed"
    return stamp.exists() and all((bin_dir() / exe).exists() for exe in EXECUTABLES.values())


def ensure() -> Path:
    """The folder holding the five executables, installing them first when needed."""
    if installed():
        return bin_dir()
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise CliInstallError(
            "node and npm are needed to install the agent CLIs (apt-get install nodejs npm)"
        )
    target = prefix()
    staging = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    shutil.copy2(MANIFEST, staging / "package.json")
    shutil.copy2(LOCK, staging / "package-lock.json")
    done = subprocess.run(
        [npm, "install", "--no-save", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=staging,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if done.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise CliInstallError(
            f"npm install failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}"
        )
    (staging / ".installed").write_text(json.dumps(pinned(), indent=2) + "\n")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return bin_dir()


def main() -> int:
    try:
        where = ensure()
    except CliInstallError as err:
        print(f"install-clis: error: {err}", file=sys.stderr)
        return 1
    for package, version in sorted(pinned().items()):
        print(f"install-clis: {package}@{version}")
    print(f"install-clis: {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

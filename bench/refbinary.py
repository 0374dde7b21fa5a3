"""The reference system's binary: team-agent's Rust release, fetched once from npm, cached.

Issue 16 measures every verb against the reference system, the Rust team-agent whose
static linux-x64 build the npm registry carries as `@team-agent/cli-linux-x64` (the
version pinned here; the registry holds no other, the issue names the 0.5.66 source it
was built from). Nothing of it is committed: `ensure_binary` runs `npm pack` for the
pinned version into a staging folder beside the cache, unpacks the tarball (npm has
checked its integrity against the registry), checks that the binary reports the pinned
version, and renames the folder into place:

    $TEAM_AGENT_REFERENCE_CACHE (default ~/.cache/team-agent/reference)
        /<version>/package/bin/team-agent

A later run finds it there and downloads nothing. Only the npm registry, through npm, is
ever asked. When npm is missing or the registry cannot be reached, `BenchError` says so
and which command failed: the benchmark then reports an error, never a figure.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path

from bench.harness import BenchError

PACKAGE = "@team-agent/cli-linux-x64"
VERSION = "0.5.99"
PACK_TIMEOUT_SEC = 300.0


def cache_root() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    default = cache / "team-agent" / "reference"
    return Path(os.environ.get("TEAM_AGENT_REFERENCE_CACHE") or default)


def binary_path(version: str = VERSION) -> Path:
    return cache_root() / version / "package" / "bin" / "team-agent"


def parse_pack_output(stdout: str, *, package: str = PACKAGE, version: str = VERSION) -> str:
    """The tarball's file name from `npm pack --json`, checked to be the version asked for.

    npm prints a JSON list with one object per packed package; anything else (npm's own
    warnings on stdout, another version) is refused rather than unpacked.
    """
    try:
        entries = json.loads(stdout)
    except json.JSONDecodeError as err:
        what = f"`npm pack {package}@{version}` printed no JSON"
        raise BenchError(f"{what}: {stdout[:200]!r}") from err
    if not isinstance(entries, list) or len(entries) != 1 or not isinstance(entries[0], dict):
        raise BenchError(f"`npm pack {package}@{version}` printed {stdout[:200]!r}")
    entry = entries[0]
    if (entry.get("name"), entry.get("version")) != (package, version):
        raise BenchError(
            f"`npm pack` returned {entry.get('name')}@{entry.get('version')}, "
            f"not {package}@{version}"
        )
    filename = entry.get("filename")
    if not isinstance(filename, str) or "/" in filename or not filename.endswith(".tgz"):
        raise BenchError(f"`npm pack` named no tarball: {filename!r}")
    return filename


def npm_error_summary(stderr: str, *, lines: int = 4) -> str:
    """The first few lines of npm's error report, without its stack trace and log path."""
    kept = []
    for line in stderr.splitlines():
        for prefix in ("npm error ", "npm ERR! "):
            if line.startswith(prefix):
                text = line[len(prefix) :]
                if text.strip() and not text[0].isspace() and "complete log" not in text:
                    kept.append(text.strip())
    return "; ".join(kept[:lines]) or stderr.strip()[-300:]


def ensure_binary(version: str = VERSION) -> Path:
    """The cached reference binary, fetched first when it is not there (see the module)."""
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        raise BenchError(
            f"the reference binary ({PACKAGE}) runs on Linux x86-64 only, "
            f"not {platform.system()} {platform.machine()}"
        )
    binary = binary_path(version)
    if not binary.exists():
        _fetch(version)
    _check_version(binary, version)
    return binary


def _fetch(version: str) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise BenchError(f"npm is needed to fetch {PACKAGE}@{version} (apt-get install npm)")
    target = cache_root() / version
    staging = target.with_name(f"{target.name}.tmp{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        done = subprocess.run(
            [npm, "pack", f"{PACKAGE}@{version}", "--json", "--pack-destination", str(staging)],
            cwd=staging,
            capture_output=True,
            text=True,
            timeout=PACK_TIMEOUT_SEC,
            check=False,
        )
        if done.returncode != 0:
            raise BenchError(
                f"`npm pack {PACKAGE}@{version}` failed (exit {done.returncode}; is the npm "
                f"registry reachable?): {npm_error_summary(done.stderr)}"
            )
        tarball = staging / parse_pack_output(done.stdout, version=version)
        with tarfile.open(tarball) as archive:
            archive.extractall(staging, filter="data")
        tarball.unlink()
        binary = staging / "package" / "bin" / "team-agent"
        if not binary.is_file():
            raise BenchError(f"{PACKAGE}@{version} holds no package/bin/team-agent")
        binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    except subprocess.TimeoutExpired as err:
        raise BenchError(f"`npm pack {PACKAGE}@{version}` took over {err.timeout:g}s") from err
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _check_version(binary: Path, version: str) -> None:
    try:
        done = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError as err:
        raise BenchError(f"the reference binary {binary} does not run: {err}") from err
    if done.stdout.strip() != f"team-agent {version}":
        raise BenchError(
            f"{binary} reports {done.stdout.strip()!r}, not team-agent {version}; "
            f"delete {binary.parents[2]} to fetch it again"
        )

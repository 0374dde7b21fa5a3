"""Where the spec is: `-f FILE`, else the default locations from the current folder.

Apart from `reconciler.specfile.load` (ruamel, the pydantic models) because finding the
file is all a reading verb needs before it looks at the spec's summary.
"""

from __future__ import annotations

from pathlib import Path

from reconciler.api.errors import SpecNotFound

SPEC_FILENAME = "team.spec.yaml"
DEFAULT_SPEC_LOCATIONS: tuple[Path, ...] = (
    Path(SPEC_FILENAME),
    Path(".team") / "current" / SPEC_FILENAME,
)

def find_spec(explicit: Path | None, cwd: Path) -> Path:
    """Return the spec to use: `explicit` if given, else the default search locations.

    Relative paths are taken from `cwd` (passed in, not read, so tests need no chdir).
    """
    candidates = (explicit,) if explicit is not None else DEFAULT_SPEC_LOCATIONS
    tried: list[str] = []
    for candidate in candidates:
        path = cwd / candidate
        if path.is_file():
            return path
        tried.append(str(path))
    raise SpecNotFound(f"no spec file found; tried: {', '.join(tried)}")

"""How team-agent runs one of its own modules in a child Python: never from the caller's folder.

`python -m reconciler.launcher.exec_agent` puts the current folder first on `sys.path`, and the
pane's current folder is the person's workspace. A workspace with its own `controllers/`,
`controllers.py` or `reconciler/` (common names) would then be imported instead of ours,
and every agent would crash-loop with `No module named reconciler.launcher.exec_agent`.

Python 3.11 has `-P` (do not prepend that folder), 3.10 does not; `-I` would also drop
`PYTHONPATH` and the user's site-packages, where `pip install --user` puts team-agent. So
the child runs a one-line bootstrap with `-c`: drop the `''` entry that `-c` prepends (the
current folder; absent under `PYTHONSAFEPATH`), then run the module as `__main__` with
`runpy`, exactly as `-m` would. Everything else on `sys.path` stays: site-packages and an
editable install's finder (they are how team-agent itself is found).

The code must not end with `;`: tmux reads an argument ending in `;` as a command separator.
"""

from __future__ import annotations

BOOTSTRAP = (
    "import runpy, sys; sys.path[:1] = [p for p in sys.path[:1] if p]; "
    "runpy.run_module({module!r}, run_name='__main__', alter_sys=True)"
)


def module_argv(python: str, module: str, *args: str) -> list[str]:
    """`python -m MODULE ARGS…` without the current folder on the module's `sys.path`."""
    return [python, "-c", BOOTSTRAP.format(module=module), *args]

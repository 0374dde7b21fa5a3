"""Benchmarks: every figure the project states, reproducible by one command.

`bench/run.py` runs them all and prints one table (figure, value, target, pass/fail,
machine facts); `docs/benchmarks.md` keeps the latest table. Each benchmark builds its
team in a temporary workspace on its own private tmux server (`tmux -L bench-<pid>-…`)
and removes both at the end, also on failure or Ctrl-C; the default tmux server is never
addressed.
"""

"""`python -m reconciler` runs the `team-agent` command line."""

from reconciler.cli import main

main()

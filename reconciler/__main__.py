"""`python -m reconciler` runs the `team-agent` command line."""

from reconciler.cli.main import main

main()

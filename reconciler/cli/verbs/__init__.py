"""The `team-agent` verbs, one module per kind of work; `reconciler.cli.main` assembles them."""

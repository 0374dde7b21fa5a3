"""The real agent CLIs as test dependencies: pinned install, per-CLI homes, the e2e suite."""

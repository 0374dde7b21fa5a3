"""Orphans: what a dead or changed team left behind, found from evidence and reaped on request."""

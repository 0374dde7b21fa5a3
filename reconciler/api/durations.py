"""Durations on the command line: `30s`, `500ms`, `2m`, `1h`, or plain seconds."""

from __future__ import annotations

import re

import click

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


def parse_duration(text: str) -> float:
    """Seconds in `text`; a malformed duration is a usage error (exit 2)."""
    match = _PATTERN.match(text)
    if match is None:
        raise click.BadParameter(f"{text!r} is not a duration (e.g. 30s, 500ms, 2m)")
    return float(match[1]) * _UNITS[match[2] or "s"]

"""The fake agent's command line: its options, their checks and the parsed ``Options``.

Role in the loop: the reconciler and the tests launch ``python -m reconciler.fakeagent.agent``
with these options, so this module is the fake's contract with them. Besides the options
a real CLI has (an initial prompt, ``--session-id``, ``--resume``), it holds the ones for
misbehaving on demand (``--crash-on-start``, ``--exit-after``, ``--ready-delay``,
``--ignore-sighup``) that drive the restart, backoff and orphan paths, and ``--no-report``
for a worker that never reports its tasks (the stuck and idle alerts). It is kept apart from
the loop so that what the fake accepts can be read in one place. Standard library only,
like the rest of the fake.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.fakeagent.sessions import parse_session_id

VERSION = "0.3.0"


@dataclass(frozen=True)
class Options:
    """The parsed command line; see ``build_parser`` for what each option is for."""

    prompt: str | None
    session_id: str | None
    resume: str | None
    print_session_file: bool
    exit_after: float | None
    exit_code: int
    crash_on_start: bool
    ready_delay: float
    ignore_sighup: bool
    banners: tuple[str, ...]
    no_report: bool


def parse_seconds(text: str) -> float:
    """A duration in seconds >= 0; also checks the argument of ``/sleep``."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0.0:  # also rejects nan
        raise argparse.ArgumentTypeError(f"not a number of seconds >= 0: {text!r}")
    return value


def _exit_status(text: str) -> int:
    if not text.isdigit() or int(text) > 255:
        raise argparse.ArgumentTypeError(f"not an exit code 0..255: {text!r}")
    return int(text)


# long: an argparse table, one option after another; split, it would only scatter them
def build_parser() -> argparse.ArgumentParser:
    """Describe the command line, including the options for misbehaving in tests."""
    parser = argparse.ArgumentParser(
        prog="fake-agent",
        description="A stand-in interactive agent CLI for team-agent demos and tests.",
    )
    parser.add_argument("prompt", nargs="?", help="initial prompt, handled as the first input")
    sessions = parser.add_mutually_exclusive_group()
    sessions.add_argument(
        "--session-id", type=parse_session_id, metavar="ID", help="start a new session with this id"
    )
    sessions.add_argument(
        "--resume",
        type=parse_session_id,
        metavar="ID",
        help="continue the session ID (appends to its transcript)",
    )
    parser.add_argument(
        "--print-session-file",
        action="store_true",
        help="print the transcript path this run would use, then exit 0",
    )
    parser.add_argument(
        "--exit-after",
        type=parse_seconds,
        metavar="SECONDS",
        help="exit with --exit-code once SECONDS have passed since start",
    )
    parser.add_argument(
        "--exit-code",
        type=_exit_status,
        default=1,
        metavar="N",
        help="exit code for --exit-after and --crash-on-start (default 1)",
    )
    parser.add_argument(
        "--crash-on-start",
        action="store_true",
        help="print an error to stderr and exit with --exit-code at once",
    )
    parser.add_argument(
        "--ready-delay",
        type=parse_seconds,
        default=0.0,
        metavar="SECONDS",
        help="wait this long before the first prompt (a slow start)",
    )
    parser.add_argument(
        "--ignore-sighup",
        action="store_true",
        help="ignore SIGHUP and outlive stdin (a CLI that survives its pane)",
    )
    parser.add_argument(
        "--banner",
        action="append",
        default=[],
        metavar="TEXT",
        help="extra line printed before the prompt (repeatable)",
    )
    parser.add_argument(
        "--no-report",
        action="store_true",
        help="never report a result for a task message (see reconciler.fakeagent.messages)",
    )
    parser.add_argument("--version", action="version", version=f"fake-agent {VERSION}")
    return parser


def parse_options(argv: Sequence[str]) -> Options:
    """Parse ``argv`` (no program name); raises SystemExit on bad usage, as argparse does."""
    ns = build_parser().parse_args(list(argv))
    return Options(
        prompt=ns.prompt,
        session_id=ns.session_id,
        resume=ns.resume,
        print_session_file=ns.print_session_file,
        exit_after=ns.exit_after,
        exit_code=ns.exit_code,
        crash_on_start=ns.crash_on_start,
        ready_delay=ns.ready_delay,
        ignore_sighup=ns.ignore_sighup,
        banners=tuple(ns.banner),
        no_report=ns.no_report,
    )

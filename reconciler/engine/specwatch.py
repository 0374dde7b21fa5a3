"""The spec and wake-file watch behind `team-agent run`: which changes say "reconcile now".

The spec path may be a symbolic link, or a chain of them (a spec kept in a dotfiles
repository, one of several variants linked into the workspace). Its text changes when
any link on the way is swapped as well as when the file at the end is edited, and the
link and the file usually live in different folders. So the watch covers, for every path
on the chain, the folder that holds it (not recursively: only these entries count), and
follows the chain again after every change: a swapped link moves the watch to the folders
of its new target, so the next edit of that target is seen at once.

watchfiles watches a fixed set of folders, so a chain that changed ends the watch and a
new one starts. Two things can slip past events: an edit made between those two watches,
and a change no watched folder reports (a folder on the way replaced). A signature of the
chain (each entry's inode, size, modification and change times) taken before each watch
and compared whenever the watch wakes (a change, or a one-second timeout) catches both
within a second; the periodic resync remains the safety net beyond that.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from watchfiles import watch

from reconciler.api.retrying import poll

SPEC_DEBOUNCE_MS = 50
CHECK_MS = 1000  # the watch wakes at least this often to compare the chain's signature
MAX_LINKS = 40  # as Linux's limit on links followed in one lookup (ELOOP)

SPEC_CHANGED = "spec changed"
MESSAGE_QUEUED = "message queued"

Signature = tuple[tuple[int, int, int, int] | None, ...]


@dataclass(frozen=True)
class SpecChain:
    """The spec path, each link it goes through and the file it ends at, in order.

    Each entry is named through its folder's real path, which is what the watch reports.
    """

    entries: tuple[Path, ...]

    @property
    def folders(self) -> tuple[Path, ...]:
        """The folders to watch: each entry's, once, those that exist."""
        seen = dict.fromkeys(entry.parent for entry in self.entries)
        return tuple(folder for folder in seen if folder.is_dir())

    def signature(self) -> Signature:
        """What a change of any entry moves (None for a missing one); links not followed."""
        out: list[tuple[int, int, int, int] | None] = []
        for entry in self.entries:
            try:
                st = entry.lstat()
            except OSError:
                out.append(None)
                continue
            out.append((st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
        return tuple(out)


def spec_chain(path: Path) -> SpecChain:
    """Follow `path` link by link (not `resolve()`, which keeps only the end).

    A relative link target is relative to the link's folder. A missing entry, a loop or
    an unreadable link ends the chain where it is: the watch then covers what exists, and
    the signature notices when the rest appears.
    """
    entries: list[Path] = []
    current = Path(os.path.abspath(path))
    for _ in range(MAX_LINKS):
        entry = current.parent.resolve() / current.name
        if entry in entries:
            break  # a loop of links
        entries.append(entry)
        try:
            target = os.readlink(entry)
        except OSError:  # not a link (the file at the end), or missing
            break
        current = entry.parent / target
    return SpecChain(tuple(entries))


def watch_spec(
    spec_path: Path,
    wake: Path,
    *,
    stop: threading.Event,
    request: Callable[[str], None],
) -> None:
    """Call `request(SPEC_CHANGED)` on every change of the spec's text and
    `request(MESSAGE_QUEUED)` when `wake` is touched, until `stop` is set.

    A request only says "reconcile now" (a pass reads everything afresh), so one too
    many costs a pass and never a wrong action; one too few would wait for the resync.
    """
    wake.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    watcher = _Watcher(spec_path, wake, stop, request, spec_chain(spec_path))
    poll(
        watcher.watch_once,
        until=lambda _lost: stop.is_set(),
        deadline=math.inf,
        interval=lambda _attempt, lost_one: CHECK_MS / 1000 if lost_one else 0.0,
        sleep=stop.wait,
    )


@dataclass
class _Watcher:
    """The watch's state between two `watch_once` calls: the chain and its signature."""

    spec_path: Path
    wake: Path
    stop: threading.Event
    request: Callable[[str], None]
    chain: SpecChain
    lost: bool = False
    signature: Signature | None = None

    def __post_init__(self) -> None:
        self.signature = self.chain.signature()

    def watch_once(self) -> bool:
        """Watch the chain's folders until the chain changes or `stop`; True when a folder
        went away between finding it and watching it (then look again a second later)."""
        if self.stop.is_set():
            return False
        if self.lost:
            self.chain, self.lost = spec_chain(self.spec_path), False
        wanted = set(self.chain.entries)
        folders = self.chain.folders
        wake = self.wake

        def relevant(change: object, path: str) -> bool:
            return Path(path) in wanted or Path(path) == wake

        changes_seen = watch(
            *dict.fromkeys((*folders, wake.parent)),
            watch_filter=relevant,
            debounce=SPEC_DEBOUNCE_MS,
            step=20,
            stop_event=self.stop,
            rust_timeout=CHECK_MS,
            yield_on_timeout=True,
            raise_interrupt=False,
            recursive=False,
        )
        try:
            for changes in changes_seen:
                if self._seen({Path(path) for _, path in changes}, wanted, folders):
                    break  # watch the new chain's folders
        except OSError:
            self.lost = True
            return True
        finally:
            changes_seen.close()
        return False

    def _seen(self, touched: set[Path], wanted: set[Path], folders: object) -> bool:
        """Request what `touched` calls for; True when the chain itself changed."""
        if self.wake in touched:
            self.request(MESSAGE_QUEUED)
        now = spec_chain(self.spec_path)
        moved = now.signature()
        if touched & wanted or moved != self.signature:
            # Taken before the request, so a pass reads at least what it describes.
            self.request(SPEC_CHANGED)
        self.signature = moved
        if now != self.chain or now.folders != folders:
            self.chain = now
            return True
        return False

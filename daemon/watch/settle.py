"""The completeness tracker: a file is complete once its size AND mtime held still for the
settle window and it opens for reading (Windows Explorer pre-sizes files, so size alone lies)."""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping
from pathlib import Path

from daemon.watch.plan import Key, Seen


def openable(path: Path) -> OSError | None:
    """None when the file can be opened for reading now, else why not."""
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except OSError as exc:
        return exc
    return None


class SettleTracker:
    """Observations of not-yet-settled files, per source; shared by every pass in a process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, dict[Key, Seen]] = {}

    def snapshot(self, source: str) -> dict[Key, Seen]:
        with self._lock:
            return dict(self._seen.get(source, {}))

    def update(
        self, source: str, scope: Collection[str] | None, observations: Mapping[Key, Seen]
    ) -> None:
        """Replace the observations of the scanned projects (``scope=None``: all of them)."""
        with self._lock:
            current = self._seen.setdefault(source, {})
            if scope is None:
                current.clear()
            else:
                for key in [k for k in current if k[0] in scope]:
                    del current[key]
            current.update(observations)

    def forget(self, source: str, key: Key) -> None:
        with self._lock:
            self._seen.get(source, {}).pop(key, None)

    def pending(self, source: str) -> set[str]:
        """Projects (``""`` for the root) holding files that are still settling."""
        with self._lock:
            return {key[0] for key in self._seen.get(source, {})}

    def next_due(self, window: float) -> float | None:
        """The earliest monotonic time at which a settling file could be complete."""
        with self._lock:
            times = [s.since + window for seen in self._seen.values() for s in seen.values()]
        return min(times) if times else None

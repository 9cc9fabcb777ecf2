"""What reconcile passes tell the operator (``daemon.observe``): a line per drop catalogued and
per loose file relocated (one summary line for a pass past MAX_LINES), the bytes ingested by
drop, a reindex's summary, pass durations, and the watcher lag: from the last file-system event
the watcher saw for a file to the pass that put it in the catalog (``EventClock``)."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from daemon.library import Library
from daemon.observe import REINDEX_LOG, WATCH_LOG, Metrics, event
from daemon.storage.conventions import MANIFEST_DIR, PREVIEWS, PROXIES, THUMBNAILS
from daemon.watch.execute import SourceResult
from daemon.watch.listing import is_media_name, skip_name

MAX_LINES = 20  # per pass: past this many drops and relocations, one summary line instead
MAX_EVENT_PATHS = 100_000  # paths remembered at once (a storm of events is forgotten whole)
EVENT_HORIZON = 3600.0  # seconds an event waits for a pass that lists its file
DERIVED = re.compile(  # what media-sync writes itself: never a drop
    "|".join(re.escape(f"/{d}/") for d in (THUMBNAILS, PREVIEWS, PROXIES, MANIFEST_DIR))
)


def drops(result: SourceResult) -> Iterator[tuple[str, dict[str, Any]]]:
    """(project, file entry) of every dropped file a pass catalogued."""
    for project, summary in sorted(result.per_project.items()):
        for entry in summary["files"]:
            yield project, entry


def report_pass(lib: Library, result: SourceResult) -> None:
    """After a pass that ran (not a dry run): count the dropped bytes, log drops and moves."""
    files = list(drops(result))
    size = sum(int(entry["size"]) for _, entry in files)
    if size:
        lib.metrics.ingested_bytes.labels("drop").inc(size)
    if len(files) + len(result.moves) > MAX_LINES:
        event(
            WATCH_LOG,
            "%s: %d dropped file(s) catalogued (%d bytes), %d loose file(s) relocated",
            result.source, len(files), size, len(result.moves),
            source=result.source, files=len(files), size=size, relocated=len(result.moves),
        )  # fmt: skip
        return
    for move in result.moves:
        event(
            WATCH_LOG,
            "relocated %s -> %s in %s",
            move["from"], move["to"], result.source,
            outcome="relocated", source=result.source, path=move["to"], moved_from=move["from"],
        )  # fmt: skip
    for project, entry in files:
        event(
            WATCH_LOG,
            "drop catalogued: %s/%s (%d bytes) in %s",
            project, entry["relative_path"], entry["size"], result.source,
            outcome="catalogued", source=result.source, project=project,
            path=entry["relative_path"], size=entry["size"], sha256=entry["sha256"],
        )  # fmt: skip


def report_reindex(lib: Library, result: SourceResult, scope: str, seconds: float) -> None:
    """A reindex (a reconcile run on request) of one source: counts and duration."""
    lib.metrics.reconcile_duration.labels("reindex").observe(seconds)
    took = round(seconds * 1000, 1)
    counts = {
        key: getattr(result, key)
        for key in ("indexed", "removed", "renamed", "relocated", "unchanged", "settling")
    }
    event(
        REINDEX_LOG,
        "reindex of %s (%s): indexed %d, removed %d, renamed %d, relocated %d, unchanged %d, "
        "settling %d, errors %d in %.1f ms",
        result.source, scope, *counts.values(), len(result.errors), took,
        source=result.source, scope=scope, status=result.status, errors=len(result.errors),
        duration_ms=took, **counts,
    )  # fmt: skip


class EventClock:
    """When the watcher last saw an event for each path (fed from the observer threads), until
    a pass catalogues the file there: that wait is the watcher lag."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, float] = {}

    def saw(self, path: bytes | str) -> None:
        """An event for the file now at ``path`` (only media files outside the folders media-sync
        writes itself are remembered)."""
        now, text = time.monotonic(), os.fsdecode(path)
        name = os.path.basename(text)
        if not is_media_name(name) or skip_name(name) or DERIVED.search(text):
            return
        with self._lock:
            if len(self._seen) >= MAX_EVENT_PATHS:
                self._seen.clear()
            self._seen[text] = now

    def listed(
        self, metrics: Metrics, root: Path, result: SourceResult, kind: str, took: float
    ) -> None:
        """After a watcher pass of ``kind`` over ``root``: its duration, and the lag of every
        file it catalogued (relocated ones from where they were dropped)."""
        metrics.reconcile_duration.labels(kind).observe(took)
        base, now = str(root), time.monotonic()
        places = [os.path.join(base, p, e["relative_path"]) for p, e in drops(result)]
        moved = {os.path.join(base, m["to"]): os.path.join(base, m["from"]) for m in result.moves}
        lags = []
        with self._lock:
            for place in places:
                seen = self._seen.pop(place, None)
                first = moved.get(place)
                if first is not None:
                    seen = self._seen.pop(first, None) or seen
                if seen is not None:
                    lags.append(now - seen)
            stale = [p for p, at in self._seen.items() if now - at > EVENT_HORIZON]
            for path in stale:
                del self._seen[path]
        for lag in lags:
            metrics.watcher_lag.observe(lag)

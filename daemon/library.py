"""The Library: settings + catalog + sources, the context every use-case runs in."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from daemon.catalog import Catalog, events
from daemon.catalog.values import ChangeType
from daemon.observe import Metrics
from daemon.settings import Settings
from daemon.storage.projects import ProjectRef, resolve_project
from daemon.storage.sources import Registry, Source, load_registry

log = logging.getLogger("media_sync.library")


@dataclass(frozen=True)
class Change:
    """Something that happened to a file, told to listeners (thumbnails, metadata, the page)."""

    type: ChangeType
    project: ProjectRef
    rel_path: str
    blake3: str | None = None
    sha256: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


Listener = Callable[[Change], None]


class Library:
    """Everything a use-case needs; one per process, shared by threads."""

    def __init__(self, settings: Settings, catalog: Catalog) -> None:
        self.settings = settings
        self.catalog = catalog
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        self.metrics = Metrics()  # this process's counters (``daemon.observe``)

    @classmethod
    def open(cls, settings: Settings) -> Library:
        settings.projects_root.mkdir(parents=True, exist_ok=True)
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        return cls(settings, Catalog.from_settings(settings))

    def close(self) -> None:
        self.catalog.close()

    def registry(self) -> Registry:
        return load_registry(self.settings)

    def source(self, name: str | None) -> Source:
        return self.registry().get(name)

    def project(self, source_name: str | None, project_name: str) -> ProjectRef:
        return resolve_project(self.source(source_name), project_name)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` after every committed change; returns an unsubscribe function."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def add_event(self, change: Change) -> None:
        """Store a change for the live feed inside the caller's write transaction."""
        data = dict(change.data)
        if change.sha256:
            data.setdefault("sha256", change.sha256)
        ref = change.project
        events.add(self.catalog, change.type, ref.source.name, ref.name, change.rel_path, data)

    def record_event(self, change: Change) -> None:
        """Store a change for the live feed (its own short transaction)."""
        with self.catalog.write():
            self.add_event(change)

    def notify(self, change: Change) -> None:
        """Tell listeners; a failing listener is logged and never breaks ingest."""
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(change)
            except Exception:
                log.exception("listener failed for %s %s", change.type, change.rel_path)

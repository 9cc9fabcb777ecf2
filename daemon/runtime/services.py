"""The services a process starts beside its preview workers (today: the watcher)."""

from __future__ import annotations

from collections.abc import Callable

from daemon.library import Library
from daemon.settings import Settings
from daemon.watch.service import start_watching

# A service is started with the process's Library and returns its stop function.
Service = Callable[[Library], Callable[[], None]]


def default_services(settings: Settings, *, watcher: bool = True) -> list[Service]:
    """What `serve` (unless ``--no-watch``) and `daemon` start after the preview workers."""
    del settings  # every service reads its settings from the Library
    return [start_watching] if watcher else []

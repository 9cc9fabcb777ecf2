"""Background services the `serve` process runs beside HTTP (the watcher, media workers)."""

from __future__ import annotations

from collections.abc import Callable

from daemon.library import Library
from daemon.settings import Settings
from daemon.watch.service import start_watching

Service = Callable[[Library], Callable[[], None]]


def default_services(settings: Settings, *, watcher: bool = True) -> list[Service]:
    """What `media-sync serve` starts; filled in as the daemon and media workers land."""
    services: list[Service] = []
    del settings
    if watcher:
        services.append(start_watching)
    return services

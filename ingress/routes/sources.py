"""Sources: list, register, enable/disable."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post

from daemon.errors import CorruptFile, InvalidInput
from daemon.sources import register_source, toggle_source
from ingress.deps import Lib


def _with_watch(lib: Lib, status: dict[str, Any]) -> dict[str, Any]:
    if lib.watch_status is not None:
        status["watch"] = lib.watch_status(status["name"])
    else:
        status["watch"] = {"mode": "off", "reason": "the watcher does not run in this process"}
    return status


@get("/api/sources", sync_to_thread=True)
def list_sources(lib: Lib) -> dict[str, Any]:
    """Every source with its accessibility and watch mode."""
    registry = lib.registry()
    return {
        "sources": [_with_watch(lib, s.status()) for s in registry.sources],
        "registry_error": registry.error,
    }


@post("/api/sources", sync_to_thread=True)
def add_source(lib: Lib, data: dict[str, Any]) -> Response[dict[str, Any]]:
    """Register another root: `{"name": "archive", "root": "/mnt/archive", "enabled": true}`."""
    registry = lib.registry()
    if registry.error:
        raise CorruptFile(registry.error)
    name, root, enabled = (
        data.get("name"),
        data.get("root") or data.get("path"),
        data.get("enabled", True),
    )
    if not isinstance(name, str) or not isinstance(root, str) or not isinstance(enabled, bool):
        raise InvalidInput('body must be {"name": str, "root": str, "enabled": bool}')
    source = register_source(lib.settings, name, root, enabled)
    return Response(_with_watch(lib, source.status()), status_code=201)


@post("/api/sources/{name:str}/toggle", sync_to_thread=True)
def toggle(lib: Lib, name: str, enabled: bool | None = None) -> dict[str, Any]:
    """Set `?enabled=true|false`, or flip when absent."""
    registry = lib.registry()
    if registry.error:
        raise CorruptFile(registry.error)
    source = toggle_source(lib.settings, name, enabled)
    return _with_watch(lib, source.status())


ROUTES = [list_sources, add_source, toggle]

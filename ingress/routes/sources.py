"""Sources: list, register, enable/disable (the original's shapes: a list, and items)."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Response, get, post

from daemon.errors import CorruptFile, InvalidInput
from daemon.sources import Source, register_source, toggle_source
from ingress.deps import Lib

SOURCE_TYPES = ("local",)
REGISTRY_ERROR_HEADER = "X-Media-Sync-Registry-Error"


def _with_watch(lib: Lib, status: dict[str, Any]) -> dict[str, Any]:
    if lib.watch_status is not None:
        status["watch"] = lib.watch_status(status["name"])
    else:
        status["watch"] = {"mode": "off", "reason": "the watcher does not run in this process"}
    return status


def source_item(lib: Lib, source: Source) -> dict[str, Any]:
    """One source as the original listed it, plus its error and watch mode."""
    item = _with_watch(lib, source.status())
    item["type"] = "local"
    if not item["enabled"]:
        hint = f"Disabled; POST /api/sources/{source.name}/toggle?enabled=true to use it again."
    elif item["accessible"]:
        hint = f"Use ?source={source.name} on any project endpoint to work in this root."
    else:
        hint = f"{source.root} is not reachable: check the mount, then reindex."
    item["instructions"] = hint
    return item


@get("/api/sources")
async def list_sources(lib: Lib) -> Response[Any]:
    """Every source with its accessibility and watch mode (a JSON list; a corrupt registry is
    named in a header and in /health)."""
    # async + a worker thread: Litestar 2 wraps a sync handler returning Response twice when a
    # sync POST shares its path, answering 500.
    return await anyio.to_thread.run_sync(_listing, lib)


def _listing(lib: Lib) -> Response[Any]:
    registry = lib.registry()
    headers = {}
    if registry.error:
        headers[REGISTRY_ERROR_HEADER] = registry.error.encode("ascii", "replace").decode()
    return Response([source_item(lib, s) for s in registry.sources], headers=headers)


@post("/api/sources", sync_to_thread=True, status_code=201)
def add_source(lib: Lib, data: dict[str, Any]) -> dict[str, Any]:
    """Register another root: `{"name": "archive", "root": "/mnt/archive", "type": "local",
    "enabled": true}`."""
    registry = lib.registry()
    if registry.error:
        raise CorruptFile(registry.error)
    name, root, enabled = (
        data.get("name"),
        data.get("root") or data.get("path"),
        data.get("enabled", True),
    )
    if not isinstance(name, str) or not isinstance(root, str) or not isinstance(enabled, bool):
        raise InvalidInput(
            'body must be {"name": str, "root": str, "type": "local", "enabled": bool}'
        )
    kind = data.get("type", "local")
    if kind not in SOURCE_TYPES:
        raise InvalidInput(f"source type {kind!r} is not supported; use 'local' (a mounted path)")
    return source_item(lib, register_source(lib.settings, name, root, enabled))


@post("/api/sources/{name:str}/toggle", sync_to_thread=True, status_code=200)
def toggle(lib: Lib, name: str, enabled: bool | None = None) -> dict[str, Any]:
    """Set `?enabled=true|false`, or flip when absent; `primary` cannot be disabled."""
    registry = lib.registry()
    if registry.error:
        raise CorruptFile(registry.error)
    return source_item(lib, toggle_source(lib.settings, name, enabled))


ROUTES = [list_sources, add_source, toggle]

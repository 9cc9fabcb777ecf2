"""Sources: list, register, enable/disable, relocation switch and preview, removal (the
original's shapes: a list, and items)."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Response, delete, get, post

from daemon.catalog import status as published
from daemon.errors import CorruptFile, InvalidInput
from daemon.storage.sources import (
    Source,
    register_source,
    remove_source,
    set_relocate,
    toggle_source,
)
from daemon.watch.reconcile import Scope, reconciler_for
from daemon.watch.watchstate import unwatched
from ingress.deps import Lib

SOURCE_TYPES = ("local",)
REGISTRY_ERROR_HEADER = "X-Media-Sync-Registry-Error"
MAX_LISTED_MOVES = 200


Held = dict[str, dict[str, str | None]]  # source -> offline_reason, offline_since


def watcher(lib: Lib) -> published.WatcherView:
    """What the catalog says about the watcher, whichever process runs it."""
    return published.read(lib.catalog)


def held_offline(lib: Lib, view: published.WatcherView) -> Held:
    """Sources held offline: by the running watcher (as it published) and by this process's
    own passes (a reindex; in `serve` with the watcher, the watcher's own, always current)."""
    held: Held = {
        name: {"offline_reason": watch["offline_reason"], "offline_since": watch["offline_since"]}
        for name, watch in view.sources.items()
        if watch.get("offline_reason")
    }
    held.update(reconciler_for(lib).offline_details())
    return held


def _not_running(view: published.WatcherView) -> dict[str, Any]:
    daemon = view.daemon
    if daemon.get("stale"):
        why = f"the watcher's last heartbeat was at {daemon['heartbeat_at']}; it stopped unseen"
    else:
        why = "no watcher is running (`media-sync daemon`, or `serve` without --no-watch)"
    return {**unwatched(), "reason": why}


def _watch(source: Source, view: published.WatcherView, held: Held) -> dict[str, Any]:
    if source.refused is not None:
        return {"mode": "off", "reason": "outside MEDIA_SYNC_SOURCE_PARENTS"}
    if not view.running:
        return _not_running(view)
    watch = dict(view.sources.get(source.name) or {**unwatched(), "last_reconcile": None})
    facts = held.get(source.name) or {"offline_reason": None, "offline_since": None}
    return {**watch, **facts, "offline": source.name in held}


def _hint(source: Source, accessible: bool) -> str:
    name = source.name
    if source.refused is not None:
        return (
            f"Neither watched nor served: {source.refused}. DELETE /api/sources/{name} "
            "unregisters it (its files stay)."
        )
    if not source.enabled:
        return f"Disabled; POST /api/sources/{name}/toggle?enabled=true to use it again."
    if not accessible:
        return f"{source.root} is not reachable: check the mount, then reindex."
    hint = f"Use ?source={name} on any project endpoint to work in this root."
    if not source.relocate:
        hint += (
            f" Loose media stays where it is; see GET /api/sources/{name}/relocation, then "
            f"POST /api/sources/{name}/relocate?enabled=true to file it into Unsorted-Loose."
        )
    return hint


def source_item(
    lib: Lib, source: Source, view: published.WatcherView | None = None, held: Held | None = None
) -> dict[str, Any]:
    """One source as the original listed it, plus its error, relocation switch and watch mode
    (``view`` and ``held``: the watcher's status, read once for a whole listing)."""
    view = view if view is not None else watcher(lib)
    held = held if held is not None else held_offline(lib, view)
    item = source.status()
    item["watch"] = _watch(source, view, held)
    item["type"] = "local"
    item["instructions"] = _hint(source, item["accessible"])
    return item


def relocation_preview(lib: Lib, source: Source) -> dict[str, Any]:
    """A dry run of a full pass over ``source``: the loose files in its root and the media
    outside `ingest/originals/` in its projects that relocation would move. Changes nothing."""
    if source.refused is not None:
        return {"would_move": 0, "moves": [], "error": source.refused}
    result = reconciler_for(lib).reconcile(source, Scope(), dry=True)
    if result.status != "ok":
        return {"would_move": 0, "moves": [], "error": result.offline_reason}
    moves = result.moves
    state = "on: the watcher moves them" if source.relocate else "off: nothing moves"
    return {
        "would_move": len(moves),
        "moves": moves[:MAX_LISTED_MOVES],
        "moves_truncated": len(moves) > MAX_LISTED_MOVES,
        "would_index": result.indexed,
        "error": None,
        "instructions": f"{len(moves)} file(s) would move into place; relocation is {state}.",
    }


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
    view = watcher(lib)
    held = held_offline(lib, view)
    listed = [source_item(lib, s, view, held) for s in registry.listed]
    return Response(listed, headers=headers)


def _checked_registry(lib: Lib) -> None:
    registry = lib.registry()
    if registry.error:
        raise CorruptFile(registry.error)


@post("/api/sources", sync_to_thread=True, status_code=201)
def add_source(lib: Lib, data: dict[str, Any]) -> dict[str, Any]:
    """Register another root under MEDIA_SYNC_SOURCE_PARENTS: `{"name": "archive", "root":
    "/mnt/archive", "type": "local", "enabled": true}`; relocation starts off and `dry_run`
    says what switching it on would move."""
    _checked_registry(lib)
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
    source = register_source(lib.settings, name, root, enabled)
    return {**source_item(lib, source), "dry_run": relocation_preview(lib, source)}


@post("/api/sources/{name:str}/toggle", sync_to_thread=True, status_code=200)
def toggle(lib: Lib, name: str, enabled: bool | None = None) -> dict[str, Any]:
    """Set `?enabled=true|false`, or flip when absent; `primary` cannot be disabled."""
    _checked_registry(lib)
    return source_item(lib, toggle_source(lib.settings, name, enabled))


@post("/api/sources/{name:str}/relocate", sync_to_thread=True, status_code=200)
def relocate(lib: Lib, name: str, enabled: bool) -> dict[str, Any]:
    """`?enabled=true|false`: let the watcher move this source's loose media into place, or not."""
    _checked_registry(lib)
    source = set_relocate(lib.settings, name, enabled)
    return {**source_item(lib, source), "dry_run": relocation_preview(lib, source)}


@get("/api/sources/{name:str}/relocation", sync_to_thread=True)
def relocation(lib: Lib, name: str) -> dict[str, Any]:
    """What relocation would move in this source now (a dry run; nothing changes)."""
    source = lib.registry().find(name)
    return {"name": name, "relocate": source.relocate, "dry_run": relocation_preview(lib, source)}


@delete("/api/sources/{name:str}", sync_to_thread=True, status_code=200)
def remove(lib: Lib, name: str) -> dict[str, Any]:
    """Unregister a source (never `primary`); its files stay on disk, its catalog rows go."""
    _checked_registry(lib)
    return remove_source(lib.settings, lib.catalog, name)


ROUTES = [list_sources, add_source, toggle, relocate, relocation, remove]

"""Health: `/health` with details, `/healthz` for container probes."""

from __future__ import annotations

from typing import Any

from litestar import get

from daemon import __version__
from daemon.catalog import leases
from daemon.ingest.foreign import unadopted_folders
from ingress.deps import Lib
from ingress.routes.sources import held_offline, source_item, watcher
from ingress.urls import lan_address, lan_url_note

# /health is polled (the page every 20 s, monitors): its list of folders that are not projects
# may be this many seconds old; GET /api/folders/unadopted and /reindex always walk afresh.
HEALTH_FOLDERS_AGE = 30.0


@get("/health", sync_to_thread=True)
def health(lib: Lib) -> dict[str, Any]:
    registry = lib.registry()
    view = watcher(lib)  # the daemon's status, from the catalog (whichever process runs it)
    offline = held_offline(lib, view)
    sources = [source_item(lib, s, view, offline) for s in registry.sources]
    holders = leases.holders(lib.catalog)  # which process watches which root, since when
    for item in sources:
        item.update(offline.get(item["name"], {"offline_reason": None, "offline_since": None}))
        holder = holders.get(item["name"])
        item["watch"]["holder"] = holder.process if holder is not None else None
        item["watch"]["held_since"] = holder.since if holder is not None else None
    catalog = lib.catalog.status()
    ok = (
        catalog["ok"]
        and not registry.error
        and not offline
        and all(s["accessible"] for s in sources if s["enabled"])
    )
    return {
        "ok": True,  # the contract's "the service answers"; `status` tells whether all is well
        "status": "ok" if ok else "degraded",
        "service": "media-sync",
        "version": __version__,
        "projects_root": str(lib.settings.projects_root),
        "state_dir": str(lib.settings.state_dir),
        "lan_url": lan_address(lib.settings),
        "lan_url_note": lan_url_note(lib.settings),  # None, or what to set (containers)
        "catalog": catalog,
        "sources": sources,
        "registry_error": registry.error,
        "offline_sources": [{"source": name, **why} for name, why in sorted(offline.items())],
        "daemon": view.daemon,
        "watch_holders": [
            {"source": name, **holder.as_dict()} for name, holder in sorted(holders.items())
        ],
        "max_upload_mb": lib.settings.max_upload_mb,
        "unadopted_folders": unadopted_folders(lib, max_age=HEALTH_FOLDERS_AGE),  # adopt them
        "instructions": _instructions(ok, offline),
    }


def _instructions(ok: bool, offline: dict[str, dict[str, str | None]]) -> str:
    if ok:
        return "Service is up; open /public/index.html, or GET /api/projects to pick a project."
    held = "".join(
        f" Source {name} is held offline since {why['offline_since']} "
        f"({why['offline_reason']}): nothing there is pruned until its root is back."
        for name, why in sorted(offline.items())
    )
    return "Service is up but degraded: see 'sources', 'catalog' and 'registry_error'." + held


@get("/healthz", sync_to_thread=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


ROUTES = [health, healthz]

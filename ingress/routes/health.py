"""Health: `/health` with details, `/healthz` for container probes."""

from __future__ import annotations

from typing import Any

from litestar import get

from daemon import __version__
from ingress.deps import Lib
from ingress.routes.sources import source_item
from ingress.urls import lan_address


@get("/health", sync_to_thread=True)
def health(lib: Lib) -> dict[str, Any]:
    registry = lib.registry()
    sources = [source_item(lib, s) for s in registry.sources]
    catalog = lib.catalog.status()
    ok = (
        catalog["ok"]
        and not registry.error
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
        "catalog": catalog,
        "sources": sources,
        "registry_error": registry.error,
        "daemon": lib.daemon_status() if lib.daemon_status else {"running": False},
        "max_upload_mb": lib.settings.max_upload_mb,
        "instructions": (
            "Service is up; open /public/index.html, or GET /api/projects to pick a project."
            if ok
            else "Service is up but degraded: see 'sources', 'catalog' and 'registry_error'."
        ),
    }


@get("/healthz", sync_to_thread=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


ROUTES = [health, healthz]

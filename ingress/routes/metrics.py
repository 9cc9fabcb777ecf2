"""`GET /metrics`: the Prometheus text exposition of this process's metrics (``daemon.observe``).

The counters and histograms are kept as things happen; the gauges are read here, at scrape
time: the queue depths (thumbnail and metadata work in this process, browser previews and
scrub strips asked for, Resolve jobs pending in the catalog), the sources online (enabled,
reachable, not held offline by a watcher) and the open resumable uploads with the bytes their
spools hold. The route is behind the guard like every read route: with MEDIA_SYNC_API_TOKEN set,
Prometheus sends the token (or the read-only one) as a bearer token.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Request, Response, get
from prometheus_client import generate_latest

from daemon.catalog import jobs
from daemon.ingest.resumable_sweep import open_uploads
from daemon.library import Library
from daemon.observe import Metrics
from ingress.deps import Lib
from ingress.routes.sources import held_offline, watcher

MEDIA_TYPE = (
    "text/plain; version=0.0.4"  # the text format Prometheus scrapes (Litestar adds the charset)
)


def _sources(lib: Library, metrics: Metrics) -> None:
    held = held_offline(lib, watcher(lib))
    online = 0
    for source in lib.registry().enabled:
        up = source.status()["accessible"] and source.name not in held
        metrics.source_online.labels(source.name).set(1 if up else 0)
        online += up
    metrics.sources_online.set(online)


def read_gauges(lib: Library, previews: Any, browser_media: Any) -> bytes:
    """Set the scrape-time gauges, then render every metric of ``lib``'s registry."""
    metrics = lib.metrics
    depth = metrics.queue_depth
    depth.labels("thumbnails").set(previews.pending() if previews is not None else 0)
    depth.labels("previews").set(browser_media.unfinished() if browser_media is not None else 0)
    depth.labels("resolve_jobs").set(jobs.count_pending(lib.catalog))
    _sources(lib, metrics)
    count, held = open_uploads(lib)
    metrics.resumable_open.set(count)
    metrics.resumable_bytes.set(held)
    return generate_latest(metrics.registry)


@get("/metrics", summary="Prometheus metrics (text exposition format 0.0.4)")
async def metrics_route(request: Request[Any, Any, Any], lib: Lib) -> Response[bytes]:
    """Counters (`_total`), histograms and gauges named `mediasync_*`, in seconds and bytes."""
    state = request.app.state
    body = await anyio.to_thread.run_sync(
        read_gauges, lib, getattr(state, "previews", None), getattr(state, "browser_media", None)
    )
    return Response(body, media_type=MEDIA_TYPE, headers={"Cache-Control": "no-store"})


ROUTES = [metrics_route]

"""What media-sync tells its operators: event lines under ``media_sync_api.*`` and the metrics.

Event lines are INFO records whose message reads well as text and whose structured fields
(``project``, ``path``, ``size``, ``outcome``, ``client``, ``sha256``, ``duration_ms`` ...) ride
in ``extra=`` for the JSON log format (``daemon.runtime.logsetup``). ``CLIENT`` holds the
address of whoever asked for the work at hand: the ingress sets it per request, and code
running for that request (in its worker threads too: anyio copies the context) names it.

The metrics live on ``Metrics``, one per Library (``Library.metrics``), each with its own
``CollectorRegistry``: nothing is registered in prometheus_client's process-wide default
registry, so two apps in one process (as the tests run them) count apart, and a process
counts what it did itself (every `serve` or `daemon` process its own counters; Prometheus
scrapes each `serve`). Gauges read at scrape time (queue depths, sources online, resumable
spools) are set by whoever answers ``GET /metrics`` just before it renders.

This module imports only the standard library and prometheus_client (the kernel's rules).
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

UPLOAD_LOG = logging.getLogger("media_sync_api.upload")
PROJECTS_LOG = logging.getLogger("media_sync_api.projects")
WATCH_LOG = logging.getLogger("media_sync_api.watch")
REINDEX_LOG = logging.getLogger("media_sync_api.reindex")

CLIENT: ContextVar[str | None] = ContextVar("media_sync_client", default=None)

OUTCOMES = ("stored", "duplicate", "refused")
VIAS = ("upload", "drop")
QUEUES = ("thumbnails", "previews", "resolve_jobs")
FAILURE_KINDS = (
    "thumbnail",  # a thumbnail that could not be decoded
    "metadata",  # metadata that could not be read
    "reconcile",  # a watcher pass that failed as a whole
    "watch_file",  # one file a pass could not hash, move or catalog
    "resolve_job",  # a Resolve job the workstation agent reported failed
    "server_error",  # an HTTP answer of 500 or more
)
LAG_BUCKETS = (0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 900.0)
PASS_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)


class Metrics:
    """Every metric media-sync exposes, in a registry of its own (``registry``)."""

    def __init__(self) -> None:
        reg = self.registry = CollectorRegistry()
        self.uploads = Counter(
            "mediasync_uploads",
            "Uploads by outcome: stored, duplicate (the project held the bytes) or refused.",
            ["outcome"],
            registry=reg,
        )
        self.ingested_bytes = Counter(
            "mediasync_ingested_bytes",
            "Bytes of new files catalogued, by how they came: upload or drop (on the share).",
            ["via"],
            registry=reg,
        )
        self.dedup_saved_bytes = Counter(
            "mediasync_dedup_saved_bytes",
            "Bytes of uploads not stored again because the project held them already.",
            registry=reg,
        )
        self.precheck_saved_bytes = Counter(
            "mediasync_precheck_saved_bytes",
            "Sizes of the items the upload-check answered 'skip' (in the project already).",
            registry=reg,
        )
        self.failures = Counter(
            "mediasync_failures",
            "Failures by kind: " + ", ".join(FAILURE_KINDS) + ".",
            ["kind"],
            registry=reg,
        )
        self.watcher_lag = Histogram(
            "mediasync_watcher_lag_seconds",
            "From the last file-system event of a dropped file to the catalog listing it.",
            buckets=LAG_BUCKETS,
            registry=reg,
        )
        self.reconcile_duration = Histogram(
            "mediasync_reconcile_duration_seconds",
            "How long a reconcile pass took, by what started it (full, events, reindex, ...).",
            ["kind"],
            buckets=PASS_BUCKETS,
            registry=reg,
        )
        self.queue_depth = Gauge(
            "mediasync_queue_depth",
            "Work waiting: thumbnails (and metadata), browser previews, pending Resolve jobs.",
            ["queue"],
            registry=reg,
        )
        self.sources_online = Gauge(
            "mediasync_sources_online",
            "Enabled sources whose root is reachable and not held offline.",
            registry=reg,
        )
        self.source_online = Gauge(
            "mediasync_source_online",
            "1 when this enabled source's root is reachable and not held offline, else 0.",
            ["source"],
            registry=reg,
        )
        self.resumable_open = Gauge(
            "mediasync_resumable_uploads_open",
            "Resumable uploads (tus, IETF) begun and neither finished nor expired.",
            registry=reg,
        )
        self.resumable_bytes = Gauge(
            "mediasync_resumable_upload_bytes",
            "Bytes held by the spools of the open resumable uploads.",
            registry=reg,
        )
        for outcome in OUTCOMES:  # every series shows from the start, at 0
            self.uploads.labels(outcome)
        for via in VIAS:
            self.ingested_bytes.labels(via)
        for kind in FAILURE_KINDS:
            self.failures.labels(kind)
        for name in QUEUES:
            self.queue_depth.labels(name)

    def fail(self, kind: str) -> None:
        """Count one failure of ``kind`` (one of FAILURE_KINDS)."""
        self.failures.labels(kind).inc()


def event(logger: logging.Logger, message: str, *args: object, **fields: Any) -> None:
    """One INFO line: ``message % args`` for people, ``fields`` (and the client, when a
    request is being served) as the JSON format's keys."""
    if not logger.isEnabledFor(logging.INFO):
        return
    client = CLIENT.get()
    if client is not None:
        fields.setdefault("client", client)
    logger.info(message, *args, extra=fields)


def _from(fields: dict[str, Any]) -> str:
    client = fields.get("client") or CLIENT.get()
    return f" from {client}" if client else ""


def upload_outcome(
    metrics: Metrics,
    outcome: str,
    *,
    project: str | None,
    path: str | None,
    size: int | None,
    **fields: Any,
) -> None:
    """Count an upload's outcome (and its bytes) and log it: stored, duplicate or refused."""
    metrics.uploads.labels(outcome).inc()
    if outcome == "stored" and size:
        metrics.ingested_bytes.labels("upload").inc(size)
    elif outcome == "duplicate" and size:
        metrics.dedup_saved_bytes.inc(size)
    where = f"{project}/{path}" if project and path else (path or project or "?")
    sized = f" ({size} bytes)" if size is not None else ""
    reason = f": {fields['reason']}" if fields.get("reason") else ""
    event(
        UPLOAD_LOG,
        "upload %s: %s%s%s%s",
        outcome,
        where,
        sized,
        _from(fields),
        reason,
        outcome=outcome,
        project=project,
        path=path,
        size=size,
        **fields,
    )


def project_created(project: str, source: str, how: str) -> None:
    """The line for a new project folder; ``how``: "request" (POST /api/projects),
    "relocation" (loose files filed into Unsorted-Loose), "adoption" (a folder adopted)."""
    event(
        PROJECTS_LOG,
        "project created: %s in %s (%s)%s",
        project, source, how, _from({}),
        outcome="created", project=project, source=source, how=how,
    )  # fmt: skip

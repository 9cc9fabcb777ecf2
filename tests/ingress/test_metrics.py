"""`GET /metrics`: the counters after real uploads (multipart, tus, IETF, refused), a pre-check
and a drop picked up by the watcher of a real `media-sync serve`; the registry of each app its
own; the guard's token rules; the Grafana dashboard names only metrics the server exposes."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from daemon.observe import Metrics
from tests.factories import jpeg_bytes
from tests.support.api import create_project, listing, upload_bytes
from tests.support.files import write
from tests.support.server import REPO, serving
from tests.support.waiting import wait_until

DASHBOARD = REPO / "deploy" / "grafana" / "media-sync-dashboard.json"
TUS = {"Tus-Resumable": "1.0.0"}

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(http: httpx.Client, **headers: str) -> Samples:
    """Every sample of ``GET /metrics``, keyed by (name, sorted labels)."""
    response = http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def tus_create(http: httpx.Client, project: str, name: str, length: int) -> str:
    encoded = base64.b64encode(name.encode()).decode()
    response = http.post(
        f"/api/projects/{project}/uploads",
        headers={**TUS, "Upload-Length": str(length), "Upload-Metadata": f"filename {encoded}"},
    )
    assert response.status_code == 201, response.text
    location: str = response.headers["location"]
    return location


def tus_patch(http: httpx.Client, url: str, offset: int, data: bytes) -> httpx.Response:
    headers = {
        **TUS,
        "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream",
    }
    response = http.patch(url, headers=headers, content=data)
    assert response.status_code == 204, response.text
    return response


@pytest.mark.e2e
def test_counters_after_uploads_a_precheck_and_a_drop(roots: tuple[Path, Path]) -> None:
    photo, again, resumed, dropped, mixed, phone = (jpeg_bytes(variant=n) for n in range(6))
    assert len({photo, again, resumed, dropped, mixed, phone}) == 6
    with serving(*roots) as server, server.client() as http:
        project = create_project(http, "Metrics")
        assert upload_bytes(http, project, "beach.jpg", photo)["status"] == "stored"
        assert upload_bytes(http, project, "copy.jpg", photo)["status"] == "duplicate"
        refused = http.put(f"/api/projects/{project}/files/notes.txt", content=b"not media")
        assert refused.status_code == 415, refused.text
        parts = [("files", ("good.jpg", mixed)), ("files", ("bad.txt", b"text"))]
        both = http.post(f"/api/projects/{project}/upload", files=parts)
        assert (both.json()["stored"], both.json()["refused"]) == (1, 1), both.text
        url = tus_create(http, project, "tus.jpg", len(resumed))
        last = tus_patch(http, url, 0, resumed)
        assert last.headers["x-media-sync-status"] == "stored"
        ietf = http.post(  # the IETF draft in one request: created and complete
            f"/api/projects/{project}/uploads",
            content=phone,
            headers={
                "Upload-Draft-Interop-Version": "6",
                "Upload-Complete": "?1",
                "Content-Disposition": 'attachment; filename="phone.jpg"',
            },
        )
        assert (ietf.status_code, ietf.json()["status"]) == (200, "stored"), ietf.text
        half = tus_create(http, project, "half.jpg", len(again))  # left open: 100 bytes in
        tus_patch(http, half, 0, again[:100])
        check = http.post(
            f"/api/projects/{project}/upload-check",
            json={
                "items": [{"name": "beach.jpg", "size": len(photo)}, {"name": "new.jpg", "size": 9}]
            },
        )
        assert [i["decision"] for i in check.json()["items"]] == ["skip", "upload"]
        write(server.root / project / "ingest" / "originals" / "drop.jpg", dropped)
        wait_until(
            lambda: any(m["relative_path"].endswith("drop.jpg") for m in listing(http, project)),
            what="the dropped file in the listing",
        )

        def counted() -> Samples | None:  # the pass that listed it reports once it returns
            now = scrape(http)
            lag = value(now, "mediasync_watcher_lag_seconds_count")
            return now if lag and value(now, "mediasync_ingested_bytes_total", via="drop") else None

        samples = wait_until(counted, what="the drop counted", detail=lambda: server.log()[-6000:])

    assert value(samples, "mediasync_uploads_total", outcome="stored") == 4
    assert value(samples, "mediasync_uploads_total", outcome="duplicate") == 1
    assert value(samples, "mediasync_uploads_total", outcome="refused") == 2
    uploaded = len(photo) + len(mixed) + len(resumed) + len(phone)
    assert value(samples, "mediasync_ingested_bytes_total", via="upload") == uploaded
    assert value(samples, "mediasync_ingested_bytes_total", via="drop") == len(dropped)
    assert value(samples, "mediasync_dedup_saved_bytes_total") == len(photo)
    assert value(samples, "mediasync_precheck_saved_bytes_total") == len(photo)
    assert value(samples, "mediasync_watcher_lag_seconds_count") == 1
    assert 0 < value(samples, "mediasync_watcher_lag_seconds_sum") < 30
    assert value(samples, "mediasync_reconcile_duration_seconds_count", kind="full") >= 1
    assert value(samples, "mediasync_resumable_uploads_open") == 1
    assert value(samples, "mediasync_resumable_upload_bytes") == 100
    assert value(samples, "mediasync_sources_online") == 1
    assert value(samples, "mediasync_source_online", source="primary") == 1
    assert value(samples, "mediasync_queue_depth", queue="resolve_jobs") == 0
    for kind in ("thumbnail", "metadata", "reconcile", "watch_file", "server_error"):
        assert value(samples, "mediasync_failures_total", kind=kind) == 0, kind


def test_each_app_counts_in_a_registry_of_its_own(
    client_with: Callable[..., TestClient[Any]],
) -> None:
    """Two apps in one process (as here): an upload through one is not counted by the other,
    and nothing is registered in prometheus_client's process-wide registry."""
    first, second = client_with(), client_with()
    project = create_project(first, "One")
    upload_bytes(first, project, "a.jpg", jpeg_bytes())
    assert value(scrape(first), "mediasync_uploads_total", outcome="stored") == 1
    assert value(scrape(second), "mediasync_uploads_total", outcome="stored") == 0


def test_metrics_follow_the_token_rules_of_read_routes(
    client_with: Callable[..., TestClient[Any]],
) -> None:
    http = client_with(
        MEDIA_SYNC_API_TOKEN="write-secret-0123456789",
        MEDIA_SYNC_READ_TOKEN="read-secret-0123456789",
    )
    assert http.get("/metrics").status_code == 401
    assert http.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    samples = scrape(http, Authorization="Bearer read-secret-0123456789")
    assert value(samples, "mediasync_uploads_total", outcome="refused") == 0


def _exposed() -> set[str]:
    """The names a query may use: every family and every sample name (``_bucket``...)."""
    names: set[str] = set()
    for family in Metrics().registry.collect():
        names.add(family.name + ("_total" if family.type == "counter" else ""))
        names.update(sample.name for sample in family.samples)
    for family in Metrics().registry.collect():  # labelled histograms show samples once used
        if family.type == "histogram":
            names.update(family.name + s for s in ("_bucket", "_sum", "_count"))
    return names


def test_the_dashboard_queries_only_metrics_the_server_exposes() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["schemaVersion"] >= 39
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert all(
        t["datasource"]["uid"] == "${datasource}" for p in dashboard["panels"] for t in p["targets"]
    )
    used = {name for expr in exprs for name in re.findall(r"\bmediasync_[a-z0-9_]+", expr)}
    exposed = _exposed()
    assert used - exposed == set()
    families = {f.name for f in Metrics().registry.collect()}
    shown = {re.sub(r"_(total|bucket|sum|count)$", "", n) for n in used}
    assert families - shown == set(), "a metric has no panel"
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))

"""Sync-album, sources, health, CORS, the one JSON error shape, and the OpenAPI schema."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from daemon.catalog import SCHEMA_VERSION
from daemon.settings import Settings
from tests.support.api import assert_error
from tests.support.files import tree

Client = TestClient[Any]
ORIGIN = "http://editor.example"


def make_project(client: Client, name: str = "Album") -> str:
    response = client.post("/api/projects", json={"name": name})
    assert response.status_code == 201, response.text
    project: str = response.json()["name"]
    return project


def registry_doc(settings: Settings) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        (settings.projects_root / "_sources/sources.json").read_text()
    )
    return document


def test_sync_album_appends_one_json_line(client: Client, settings: Settings) -> None:
    project = make_project(client)
    events = settings.projects_root / project / "_manifest/events.jsonl"
    for album in ("Trip", "Trip 2"):
        response = client.post(
            f"/api/projects/{project}/sync-album", json={"album_name": album, "device": "iPhone"}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "recorded" and body["instructions"]
        assert body["event"]["event"] == "sync-album"
        assert body["event"]["payload"]["album_name"] == album
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    assert [set(line) for line in lines] == [{"timestamp", "event", "payload"}] * 2
    assert [line["payload"]["album_name"] for line in lines] == ["Trip", "Trip 2"]
    assert all(line["payload"]["project"] == project and line["timestamp"] for line in lines)
    assert lines[-1] == body["event"]


def test_sync_album_missing_project_creates_nothing(client: Client, settings: Settings) -> None:
    before = tree(settings.projects_root)
    response = client.post("/api/projects/P4-Nope/sync-album", json={"album_name": "x"})
    assert response.status_code == 404
    assert tree(settings.projects_root) == before


def test_sources_register_list_and_toggle(
    client: Client, settings: Settings, tmp_path: Path
) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    created = client.post("/api/sources", json={"name": "archive", "root": str(archive)})
    assert created.status_code == 201, created.text
    assert created.json()["accessible"] is True
    assert [s["name"] for s in registry_doc(settings)["sources"]] == ["archive"]
    assert created.json()["type"] == "local" and created.json()["instructions"]
    response = client.get("/api/sources")
    listed = response.json()
    assert [s["name"] for s in listed] == ["primary", "archive"]
    assert all(s["type"] == "local" and s["instructions"] for s in listed)
    assert "x-media-sync-registry-error" not in response.headers

    off = client.post("/api/sources/archive/toggle?enabled=false")
    assert off.status_code == 200 and off.json()["enabled"] is False
    assert registry_doc(settings)["sources"][0]["enabled"] is False
    off_again = client.post("/api/sources/archive/toggle?enabled=false")
    assert off_again.json()["enabled"] is False
    flipped = client.post("/api/sources/archive/toggle")
    assert flipped.json()["enabled"] is True
    assert registry_doc(settings)["sources"][0]["enabled"] is True
    flipped_back = client.post("/api/sources/archive/toggle")
    assert flipped_back.json()["enabled"] is False
    listed = {s["name"]: s for s in client.get("/api/sources").json()}
    assert listed["archive"]["enabled"] is False
    assert client.post("/api/sources/nosuch/toggle").status_code == 404


@pytest.mark.parametrize("query", ["?enabled=false", ""])
def test_primary_cannot_be_disabled(client: Client, settings: Settings, query: str) -> None:
    response = client.post(f"/api/sources/primary/toggle{query}")
    assert response.status_code == 400, response.text
    assert "primary" in response.json()["detail"]
    assert not (settings.projects_root / "_sources/sources.json").exists()
    assert client.get("/api/sources").json()[0]["enabled"] is True
    enabled = client.post("/api/sources/primary/toggle?enabled=true")
    assert enabled.status_code == 200 and enabled.json()["enabled"] is True


def test_an_old_registry_that_disabled_primary_is_ignored(
    client: Client, settings: Settings
) -> None:
    path = settings.projects_root / "_sources/sources.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"sources": [{"name": "primary", "root": "/x", "enabled": False}]}))
    assert client.get("/api/sources").json()[0]["enabled"] is True


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Bad Name", "root": "ROOT"},
        {"name": "../up", "root": "ROOT"},
        {"name": "", "root": "ROOT"},
        {"name": "ok", "root": "MISSING"},
        {"name": "ok", "root": "relative/dir"},
        {"name": "ok", "root": "PROJECTS"},
        {"name": "ok", "root": "INSIDE"},
        {"name": "ok", "root": "PARENT"},
        {"name": 5, "root": "ROOT"},
    ],
)
def test_bad_sources_are_400(
    client: Client, settings: Settings, tmp_path: Path, body: dict[str, Any]
) -> None:
    (tmp_path / "other").mkdir()
    (settings.projects_root / "P1-x").mkdir()
    places = {
        "ROOT": str(tmp_path / "other"),
        "MISSING": str(tmp_path / "missing"),
        "PROJECTS": str(settings.projects_root),
        "INSIDE": str(settings.projects_root / "P1-x"),
        "PARENT": str(tmp_path),
    }
    body = {k: places.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    before = tree(settings.projects_root)
    response = client.post("/api/sources", json=body)
    assert response.status_code == 400, response.text
    assert tree(settings.projects_root) == before


def test_corrupt_registry_is_reported_and_kept(client: Client, settings: Settings) -> None:
    path = settings.projects_root / "_sources/sources.json"
    path.parent.mkdir()
    corrupt = b'{"sources": [{"name": "archive", "root": "/x"'
    path.write_bytes(corrupt)
    response = client.get("/api/sources")
    assert [s["name"] for s in response.json()] == ["primary"]
    assert "is corrupt" in response.headers["x-media-sync-registry-error"]
    added = client.post("/api/sources", json={"name": "more", "root": str(settings.state_dir)})
    assert added.status_code == 503
    assert client.post("/api/sources/primary/toggle?enabled=true").status_code == 503
    health = client.get("/health").json()
    assert health["status"] == "degraded" and health["ok"] is True
    assert "is corrupt" in health["registry_error"]
    assert path.read_bytes() == corrupt


def test_vanished_root_is_not_accessible(
    client: Client, settings: Settings, tmp_path: Path
) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    assert client.post("/api/sources", json={"name": "gone", "root": str(gone)}).status_code == 201
    shutil.rmtree(gone)
    listed = {s["name"]: s for s in client.get("/api/sources").json()}
    assert listed["gone"]["accessible"] is False
    assert listed["primary"]["accessible"] is True
    health = client.get("/health").json()
    assert {s["name"]: s["accessible"] for s in health["sources"]}["gone"] is False
    assert client.get("/api/projects?source=gone").status_code == 503


def test_health_and_healthz(client: Client, settings: Settings) -> None:
    health = client.get("/health")
    assert health.status_code == 200
    body = health.json()
    assert body["ok"] is True and body["status"] == "ok" and body["instructions"]
    assert body["service"] == "media-sync"
    assert body["projects_root"] == str(settings.projects_root)
    assert body["catalog"]["ok"] is True and body["catalog"]["schema_version"] == SCHEMA_VERSION
    assert [s["name"] for s in body["sources"]] == ["primary"]
    assert body["sources"][0]["accessible"] is True
    assert body["max_upload_mb"] == settings.max_upload_mb
    # no watcher has ever run on this catalog: the daemon reads as never started
    assert body["daemon"] == {"running": False, "stale": False}
    watch = body["sources"][0]["watch"]
    assert watch["mode"] == "off" and watch["reason"].startswith("no watcher is running")
    assert client.get("/healthz").json() == {"status": "ok"}


def test_cors_applied_when_configured(client_with: Any) -> None:
    client = client_with(MEDIA_SYNC_CORS_ORIGINS=ORIGIN)
    preflight = client.options(
        "/api/projects",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers.get("access-control-allow-origin") == ORIGIN
    simple = client.get("/api/projects", headers={"Origin": ORIGIN})
    assert simple.headers.get("access-control-allow-origin") == ORIGIN
    other = client.get("/api/projects", headers={"Origin": "http://evil.example"})
    assert other.headers.get("access-control-allow-origin") is None


def test_no_cors_headers_when_not_configured(client: Client) -> None:
    simple = client.get("/api/projects", headers={"Origin": ORIGIN})
    assert "access-control-allow-origin" not in simple.headers
    preflight = client.options(
        "/api/projects", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_one_error_shape(client_with: Any, tmp_path: Path) -> None:
    client = client_with(MEDIA_SYNC_MAX_UPLOAD_MB="1")
    project = make_project(client)
    extra = tmp_path / "extra"
    extra.mkdir()
    assert client.post("/api/sources", json={"name": "x", "root": str(extra)}).status_code == 201
    responses = {
        (400, "InvalidName"): client.post("/api/projects", json={"name": "a/b"}),
        (404, "ProjectNotFound"): client.get("/api/projects/P9-None"),
        (405, "MethodNotAllowedException"): client.delete("/api/projects"),
        (409, "AlreadyExists"): client.post("/api/sources", json={"name": "x", "root": str(extra)}),
        (413, "PayloadTooLarge"): client.put(
            f"/api/projects/{project}/files/a.mov", content=b"0" * (2 << 20)
        ),
    }
    for (status, error), response in responses.items():
        assert_error(response, status, error)
    unsupported = client.put(f"/api/projects/{project}/files/a.txt", content=b"0")
    assert_error(unsupported, 415, "UnsupportedMediaType", extra={"accepted"})
    bad_json = client.post(
        "/api/projects", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_error(bad_json, 400, "ClientException")


def test_openapi_schema(client: Client) -> None:
    response = client.get("/schema/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "media-sync"
    assert "/api/projects/{project}/upload" in schema["paths"]
    assert "/api/sources" in schema["paths"]

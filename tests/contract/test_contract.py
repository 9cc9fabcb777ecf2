"""Each row of the original's wire contract (seed-api-contract.md), against a real server.

Status codes exactly, every listed field present with its JSON type (a list is not an object),
`instructions` on every success answer the contract names, `{"detail": str}` on errors; then
the defects the contract says never to copy. Real media from ``tests.factories``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.contract.shapes import (
    INDEX_DOC,
    JOB,
    MEDIA_LIST,
    NULL,
    ORGANIZE_SOURCE,
    PROJECT_ITEM,
    PROJECT_REINDEX,
    REINDEX_PROJECT,
    REINDEX_SOURCE,
    ROOT_REINDEX,
    SERVED,
    SOURCE_ITEM,
    UPLOAD,
    answer,
    error,
    fields,
    instructions,
)
from tests.factories import make_audio, make_jpeg, make_video
from tests.support.files import events, temp_files
from tests.support.server import LiveServer

pytestmark = pytest.mark.e2e

ORIG = "ingest/originals"


def create(http: httpx.Client, label: str) -> str:
    body = answer(http.post("/api/projects", json={"name": label}), 201)
    return str(fields(body, PROJECT_ITEM, "created project")["name"])


def upload(http: httpx.Client, project: str, path: Path) -> dict[str, Any]:
    files = {"file": (path.name, path.read_bytes())}
    body: dict[str, Any] = answer(http.post(f"/api/projects/{project}/upload", files=files), 200)
    return body


def media(tmp_path: Path) -> dict[str, Path]:
    return {
        "photo.jpg": make_jpeg(
            tmp_path / "media" / "photo.jpg", exif_datetime="2024:05:01 10:00:00"
        ),
        "clip.mp4": make_video(tmp_path / "media" / "clip.mp4"),
        "sound.m4a": make_audio(tmp_path / "media" / "sound.m4a"),
    }


def test_health_and_healthz(server: LiveServer) -> None:
    with server.client() as http:
        health = answer(http.get("/health"), 200)
        healthz = answer(http.get("/healthz"), 200)
    fields(health, {"ok": bool, "service": str, "projects_root": str}, "/health")
    assert health["ok"] is True and health["projects_root"] == str(server.root)
    instructions(health, "/health")
    assert healthz == {"status": "ok"}


def test_projects_list_and_create(server: LiveServer) -> None:
    with server.client() as http:
        name = create(http, "Contract List")
        again = answer(http.post("/api/projects", json={"name": name}), 201)
        listed = answer(http.get("/api/projects"), 200)
    assert again["name"] == name
    instructions(again, "POST /api/projects")
    assert [p.name for p in server.root.iterdir() if p.name.endswith("Contract-List")] == [name]
    assert isinstance(listed, list), f"/api/projects must be a JSON list: {listed!r:.200}"
    for item in listed:
        fields(item, PROJECT_ITEM, f"/api/projects[{item.get('name')}]")
        instructions(item, f"/api/projects[{item['name']}]")
    assert name in [item["name"] for item in listed]


def test_project_is_its_index_document(server: LiveServer, tmp_path: Path) -> None:
    with server.client() as http:
        name = create(http, "Contract Doc")
        upload(http, name, make_jpeg(tmp_path / "doc.jpg"))
        body = answer(http.get(f"/api/projects/{name}"), 200)
    fields(body, INDEX_DOC, "GET /api/projects/{p}")
    instructions(body)
    document = json.loads((server.root / name / "index.json").read_text())
    for key in ("project", "notes", "created_at", "files", "counts"):
        assert body[key] == document[key], f"{key}: {body[key]!r} != index.json {document[key]!r}"
    assert [entry["relative_path"] for entry in body["files"]] == [f"{ORIG}/doc.jpg"]


def test_upload_stored_then_duplicate(server: LiveServer, tmp_path: Path) -> None:
    photo = make_jpeg(tmp_path / "up.jpg", variant=3)
    with server.client() as http:
        name = create(http, "Contract Upload")
        stored = upload(http, name, photo)
        duplicate = upload(http, name, photo)
        streamed = http.get(stored["served"]["stream_url"])
        downloaded = http.get(stored["served"]["download_url"])
    for body, status in ((stored, "stored"), (duplicate, "duplicate")):
        fields(body, UPLOAD, f"upload ({status})")
        fields(body["served"], SERVED, f"upload ({status}).served")
        instructions(body, f"upload ({status})")
        assert body["status"] == status and body["filename"] == "up.jpg"
        assert body["sha256"] == hashlib.sha256(photo.read_bytes()).hexdigest()
        assert body["size"] == photo.stat().st_size
    assert duplicate["path"] == stored["path"]
    assert (streamed.status_code, downloaded.status_code) == (200, 200)
    assert streamed.content == downloaded.content == photo.read_bytes()
    assert [e["event"] for e in events(server.root / name)][-2:] == [
        "upload_ingested",
        "upload_duplicate_skipped",
    ]


def test_sync_album_records_the_event_it_answers(server: LiveServer) -> None:
    payload = {"album_name": "Holiday", "device": "iPhone 15", "note": "day one"}
    with server.client() as http:
        name = create(http, "Contract Album")
        body = answer(http.post(f"/api/projects/{name}/sync-album", json=payload), 200)
    fields(body, {"status": str, "event": dict}, "sync-album")
    instructions(body, "sync-album")
    event = fields(body["event"], {"timestamp": str, "event": str, "payload": dict}, "event")
    assert body["status"] == "recorded" and event["event"] == "sync-album"
    assert {k: event["payload"][k] for k in payload} == payload
    assert events(server.root / name)[-1] == event


def test_media_listing_items_are_index_entries_plus_urls(
    server: LiveServer, tmp_path: Path
) -> None:
    files = media(tmp_path)
    with server.client() as http:
        name = create(http, "Contract Media")
        for path in files.values():
            upload(http, name, path)
        body = answer(http.get(f"/api/projects/{name}/media"), 200)
        index = answer(http.get(f"/api/projects/{name}"), 200)
        first = http.get(body["media"][0]["stream_url"])
    fields(body, MEDIA_LIST, "media listing")
    instructions(body, "media listing")
    assert (body["project"], body["source"]) == (name, "primary")
    entries = {entry["relative_path"]: entry for entry in index["files"]}
    assert sorted(item["relative_path"] for item in body["media"]) == sorted(entries)
    for item in body["media"]:
        where = f"media[{item['relative_path']}]"
        entry = entries[item["relative_path"]]
        gone = {k: v for k, v in entry.items() if item.get(k, object()) != v}
        assert not gone, f"{where} lacks or changes index entry fields {gone}"
        fields(item, {"stream_url": str, "download_url": str}, where)
        # thumb_url for images and video; sound has none (null)
        fields(item, {"thumb_url": NULL if item["kind"] == "audio" else str}, where)
    assert [item["kind"] for item in body["media"]].count("audio") == 1
    assert first.status_code == 200
    assert first.content == files[Path(body["media"][0]["relative_path"]).name].read_bytes()


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_project_reindex_lists_new_entries(server: LiveServer, tmp_path: Path, method: str) -> None:
    with server.client() as http:
        name = create(http, f"Contract Reindex {method}")
        make_jpeg(server.root / name / ORIG / "dropped.jpg", variant=7)
        body = answer(http.request(method, f"/api/projects/{name}/reindex"), 200)
    fields(body, PROJECT_REINDEX, "project reindex")
    instructions(body, "project reindex")
    assert body["indexed"] == 1
    for entry in body["files"]:
        fields(entry, {"relative_path": str, "sha256": str, "size": int}, "reindex.files[]")
    assert [e["relative_path"] for e in body["files"]] == [f"{ORIG}/dropped.jpg"]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_root_reindex_summary(quiet_server: LiveServer, method: str) -> None:
    server = quiet_server  # a root of its own: the totals are this test's alone
    with server.client() as http:
        name = create(http, f"Contract Sweep {method}")
        make_jpeg(server.root / name / ORIG / "swept.jpg", variant=11)
        body = answer(http.request(method, "/reindex"), 200)
    fields(body, ROOT_REINDEX, "/reindex")
    instructions(body, "/reindex")
    assert (body["indexed_files"], body["indexed_projects"], body["removed_missing"]) == (1, 1, 0)
    projects: dict[str, dict[str, Any]] = {}
    for source in body["sources"]:
        fields(source, REINDEX_SOURCE, f"/reindex.sources[{source.get('source')}]")
        for project in source["projects"]:
            fields(project, REINDEX_PROJECT, f"/reindex.sources[].projects[{project.get('name')}]")
            projects[project["name"]] = project
    assert body["sources"][0]["root"] == str(server.root)
    assert projects[name]["indexed"] == 1


def test_auto_organize_moves_loose_media(server: LiveServer, tmp_path: Path) -> None:
    loose = make_jpeg(server.root / "loose-contract.jpg", variant=13)
    content = loose.read_bytes()
    with server.client() as http:
        body = answer(http.post("/api/projects/auto-organize"), 200)
    fields(body, {"status": str, "moved": int, "sources": list}, "auto-organize")
    instructions(body, "auto-organize")
    assert body["status"] == "ok" and body["moved"] == 1
    per_source = {}
    for source in body["sources"]:
        fields(source, ORGANIZE_SOURCE, f"auto-organize.sources[{source.get('source')}]")
        assert all(isinstance(name, str) for name in source["files"]), source
        per_source[source["source"]] = source
    primary = per_source["primary"]
    assert primary["destination_project"] == "Unsorted-Loose" and primary["moved"] == 1
    assert primary["files"] == ["loose-contract.jpg"]
    assert not loose.exists()
    moved = list((server.root / "Unsorted-Loose").rglob("loose-contract.jpg"))
    assert [p.read_bytes() for p in moved] == [content]


def test_sources_list_add_and_toggle(server: LiveServer, tmp_path: Path) -> None:
    extra = tmp_path / "extra-root"
    extra.mkdir()
    spec = {"name": "extra", "root": str(extra), "type": "local", "enabled": True}
    with server.client() as http:
        added = answer(http.post("/api/sources", json=spec), 201)
        listed = answer(http.get("/api/sources"), 200)
        off = answer(http.post("/api/sources/extra/toggle", params={"enabled": "false"}), 200)
        on = answer(http.post("/api/sources/extra/toggle", params={"enabled": "true"}), 200)
        primary = error(http.post("/api/sources/primary/toggle", params={"enabled": "false"}), 400)
        after = answer(http.get("/api/sources"), 200)
    assert isinstance(listed, list), f"/api/sources must be a JSON list: {listed!r:.200}"
    for item in [*listed, added, off, on]:
        fields(item, SOURCE_ITEM, f"source {item.get('name')}")
        instructions(item, f"source {item['name']}")
    assert {k: added[k] for k in spec} == spec and added["accessible"] is True
    assert [s["name"] for s in listed] == ["primary", "extra"]
    assert (off["name"], off["enabled"], on["enabled"]) == ("extra", False, True)
    assert "primary" in primary["detail"]
    assert {s["name"]: s["enabled"] for s in after} == {"primary": True, "extra": True}


def open_and_claim(http: httpx.Client, project: str, rel: str) -> dict[str, Any]:
    opened = answer(
        http.post("/api/resolve/open", json={"project": project, "media_rel_paths": [rel]}), 200
    )
    fields(opened, {"ok": bool, "job_id": int}, "resolve open")
    instructions(opened, "resolve open")
    assert opened["ok"] is True
    params = {"limit": "10", "claimed_by": "contract-agent"}
    claimed = answer(http.post("/api/resolve/jobs/next", params=params), 200)
    fields(claimed, {"jobs": list}, "jobs/next")
    mine = [job for job in claimed["jobs"] if job.get("id") == opened["job_id"]]
    assert len(mine) == 1, claimed
    job = fields(mine[0], JOB, "jobs/next job")
    assert job["status"] == "claimed" and job["claimed_by"] == "contract-agent"
    assert (job["project"], job["media_rel_paths"], job["source"]) == (project, [rel], "primary")
    assert job["done_at"] is None and job["failed_at"] is None and job["error"] is None
    return job


def job_now(http: httpx.Client, job_id: int) -> dict[str, Any]:
    return fields(answer(http.get(f"/api/resolve/jobs/{job_id}"), 200), JOB, "job")


def test_resolve_open_claim_complete_and_fail(server: LiveServer, tmp_path: Path) -> None:
    with server.client() as http:
        name = create(http, "Contract Resolve")
        rel = upload(http, name, make_jpeg(tmp_path / "r.jpg", variant=17))["path"]
        agent = {"claimed_by": "contract-agent"}
        job = open_and_claim(http, name, rel)
        done = answer(http.post(f"/api/resolve/jobs/{job['id']}/complete", params=agent), 200)
        assert done["ok"] is True
        finished = job_now(http, job["id"])
        assert finished["status"] == "done" and isinstance(finished["done_at"], str)

        job = open_and_claim(http, name, rel)
        query = {**agent, "error": "Resolve crashed"}
        failed = answer(http.post(f"/api/resolve/jobs/{job['id']}/fail", params=query), 200)
        assert failed["ok"] is True
        by_query = job_now(http, job["id"])

        job = open_and_claim(http, name, rel)
        body = {"error": "no disk space"}
        url = f"/api/resolve/jobs/{job['id']}/fail"
        assert answer(http.post(url, params=agent, json=body), 200)["ok"] is True
        by_body = job_now(http, job["id"])
    for found, message in ((by_query, "Resolve crashed"), (by_body, "no disk space")):
        assert (found["status"], found["error"]) == ("failed", message)
        assert isinstance(found["failed_at"], str) and found["done_at"] is None


def test_errors_have_the_one_shape(server: LiveServer) -> None:
    with server.client() as http:
        name = create(http, "Contract Errors")
        error(http.post("/api/projects", json={"name": "../escape"}), 400)
        error(http.post("/api/projects", json={"name": ""}), 400)
        error(http.get("/api/projects/P999-Nope"), 404)
        error(http.get("/api/projects/P999-Nope/media"), 404)
        error(http.post("/api/projects/P999-Nope/upload", files={"file": ("a.jpg", b"x")}), 404)
        error(http.get("/api/projects", params={"source": "nowhere"}), 404)
        error(http.get(f"/api/projects/{name}", params={"source": "nowhere"}), 404)


def test_too_large_is_413_and_leaves_nothing(server: LiveServer) -> None:
    big = os.urandom(2 << 20)
    with server.client() as http:
        name = create(http, "Contract Large")
        files = {"file": ("big.mov", big)}
        error(http.post(f"/api/projects/{name}/upload", files=files), 413)
        index = answer(http.get(f"/api/projects/{name}"), 200)
    assert index["files"] == []
    assert list((server.root / name / ORIG).iterdir()) == []


def test_unreachable_root_is_503(quiet_server: LiveServer, tmp_path: Path) -> None:
    gone = tmp_path / "unplugged"
    gone.mkdir()
    with quiet_server.client() as http:
        answer(http.post("/api/sources", json={"name": "usb", "root": str(gone)}), 201)
        shutil.rmtree(gone)
        error(http.get("/api/projects", params={"source": "usb"}), 503)
        error(http.post("/api/projects", params={"source": "usb"}, json={"name": "Lost"}), 503)


# Defects of the original (and of ours) that must not come back.


@pytest.mark.parametrize(
    "rel", ["..%2f" * 200 + "etc/passwd", "../" * 200 + "etc/passwd"], ids=["encoded", "raw"]
)
def test_resolve_open_refuses_a_long_escaping_path(server: LiveServer, rel: str) -> None:
    with server.client() as http:
        name = create(http, "Contract Escape")
        before = answer(http.get("/api/resolve/jobs", params={"limit": "1"}), 200)["total"]
        body = {"project": name, "media_rel_paths": [rel]}
        error(http.post("/api/resolve/open", json=body), 400)
        after = answer(http.get("/api/resolve/jobs", params={"limit": "1"}), 200)["total"]
    assert after == before


def test_an_empty_upload_is_400_and_leaves_nothing(server: LiveServer) -> None:
    with server.client() as http:
        name = create(http, "Contract Empty")
        before = events(server.root / name)
        error(http.post(f"/api/projects/{name}/upload", files={"file": ("e.jpg", b"")}), 400)
        index = answer(http.get(f"/api/projects/{name}"), 200)
        listing = answer(http.get(f"/api/projects/{name}/media"), 200)
    assert index["files"] == [] and listing["media"] == []
    assert list((server.root / name / ORIG).iterdir()) == []
    assert temp_files(server.root) == []
    assert events(server.root / name) == before


def test_a_corrupt_index_is_one_error_in_the_root_reindex(quiet_server: LiveServer) -> None:
    with quiet_server.client() as http:
        name = create(http, "Broken")
        (quiet_server.root / name / "index.json").write_text('{"project": "P1-Broken", "files": [')
        body = answer(http.get("/reindex"), 200)
    fields(body, {**ROOT_REINDEX, "errors": list}, "/reindex")
    instructions(body, "/reindex")
    assert len(body["errors"]) == 1, body["errors"]
    assert name in str(body["errors"][0])

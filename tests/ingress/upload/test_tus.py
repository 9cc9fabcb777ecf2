"""tus 1.0.0 at /api/projects/{p}/uploads, rule by rule, through the in-process client."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from daemon.catalog import intake
from daemon.ingest import batches, resumable
from daemon.ingest.liveness import stamp_of
from daemon.ingest.resumable_spool import HASHES, parse_time, part_path, state_path
from daemon.library import Library
from ingress.app import create_app
from tests.factories import make_video
from tests.support.api import ERROR_FIELDS, assert_error, create_project, upload_bytes
from tests.support.env import settings_for
from tests.support.waiting import wait_until

TUS = {"Tus-Resumable": "1.0.0"}
STREAM = {**TUS, "Content-Type": "application/offset+octet-stream"}


def metadata(**pairs: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


@pytest.fixture
def clip(tmp_path: Path) -> bytes:
    return make_video(tmp_path / "made" / "clip.mp4", seconds=2.0, moving=True).read_bytes()


@pytest.fixture
def project(client: TestClient[Any]) -> str:
    return create_project(client, "Trip")


def create(http: httpx.Client, project: str, length: int, name: str = "clip.mp4") -> str:
    response = http.post(
        f"/api/projects/{project}/uploads",
        headers={**TUS, "Upload-Length": str(length), "Upload-Metadata": metadata(filename=name)},
    )
    assert response.status_code == 201, response.text
    location: str = response.headers["location"]
    return location


def send(http: httpx.Client, url: str, offset: int, data: bytes, **extra: str) -> httpx.Response:
    return http.patch(url, content=data, headers={**STREAM, "Upload-Offset": str(offset), **extra})


def offset_of(http: httpx.Client, url: str) -> int:
    response = http.head(url, headers=TUS)
    assert response.status_code == 200
    return int(response.headers["upload-offset"])


def originals(root: Path, project: str) -> list[Path]:
    return sorted((root / project / "ingest" / "originals").iterdir())


def spool(root: Path, project: str) -> list[str]:
    folder = root / project / "_manifest" / "uploads"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def library(http: TestClient[Any]) -> Library:
    lib: Library = http.app.state.library
    return lib


def test_options_advertises_version_extensions_size_and_checksums(
    client: TestClient[Any], project: str
) -> None:
    response = client.options(f"/api/projects/{project}/uploads")
    assert response.status_code == 204
    assert response.headers["tus-resumable"] == "1.0.0"
    assert response.headers["tus-version"] == "1.0.0"
    assert response.headers["tus-extension"] == (
        "creation,creation-with-upload,termination,checksum,expiration"
    )
    assert response.headers["tus-max-size"] == str(20480 * 1024 * 1024)
    assert response.headers["tus-checksum-algorithm"] == "sha1,sha256"
    assert response.headers["upload-limit"] == f"min-size=0,max-size={20480 * 1024 * 1024}"


def test_upload_in_two_patches_is_stored_once_with_its_sha256(
    client: TestClient[Any], project: str, clip: bytes, roots: tuple[Path, Path]
) -> None:
    url = create(client, project, len(clip))
    assert url.startswith("http://testserver.local/api/projects/P1-Trip/uploads/")
    head = client.head(url, headers=TUS)
    assert head.status_code == 200
    assert head.headers["upload-offset"] == "0"
    assert head.headers["upload-length"] == str(len(clip))
    assert head.headers["cache-control"] == "no-store"
    assert head.headers["upload-expires"].endswith(" GMT")
    half = len(clip) // 2
    first = send(client, url, 0, clip[:half])
    assert first.status_code == 204
    assert first.headers["upload-offset"] == str(half)
    assert "x-media-sync-status" not in first.headers
    assert originals(roots[0], project) == []  # nothing partial where finished files live
    last = send(client, url, half, clip[half:])
    assert last.status_code == 204
    assert last.headers["upload-offset"] == str(len(clip))
    assert last.headers["x-media-sync-status"] == "stored"
    assert last.headers["x-media-sync-path"] == "ingest/originals/clip.mp4"
    assert last.headers["x-media-sync-sha256"] == hashlib.sha256(clip).hexdigest()
    [stored] = originals(roots[0], project)
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == hashlib.sha256(clip).hexdigest()
    upload_id = url.rsplit("/", 1)[1]
    assert spool(roots[0], project) == [f"{upload_id}.json"]  # the state stays, the bytes left
    state = client.get(url)
    assert state.status_code == 200
    body = state.json()
    assert (body["offset"], body["length"], body["complete"]) == (len(clip), len(clip), True)
    assert body["result"]["status"] == "stored"
    assert body["result"]["sha256"] == hashlib.sha256(clip).hexdigest()
    listed = client.get(f"/api/projects/{project}/media").json()["media"]
    assert [item["relative_path"] for item in listed] == ["ingest/originals/clip.mp4"]


def test_the_stored_file_keeps_the_liveness_stamp_the_catalog_recorded(
    client: TestClient[Any], project: str, clip: bytes, roots: tuple[Path, Path]
) -> None:
    """Removing the spool's link moves the file's ctime: the catalog's stamp follows, so the
    file is proven live without being hashed again (pre-check by sha256: skip)."""
    url = create(client, project, len(clip))
    assert send(client, url, 0, clip).headers["x-media-sync-status"] == "stored"
    [stored] = originals(roots[0], project)
    lib = library(client)
    [row] = intake.rows_at(lib.catalog, "primary", [(project, "ingest/originals/clip.mp4")])
    assert (row.size, row.inode, row.mtime_ns, row.ctime_ns) == stamp_of(os.lstat(stored))
    assert os.lstat(stored).st_nlink == 1
    answer = client.post(
        f"/api/projects/{project}/upload-check",
        json={
            "items": [
                {"name": "x.mp4", "size": len(clip), "sha256": hashlib.sha256(clip).hexdigest()}
            ]
        },
    )
    assert answer.json()["items"][0]["decision"] == "skip"


def test_a_request_without_tus_resumable_gets_412_naming_the_version(
    client: TestClient[Any], project: str
) -> None:
    response = client.post(f"/api/projects/{project}/uploads", headers={"Upload-Length": "10"})
    assert_error(response, 412, "PreconditionFailed")
    assert response.headers["tus-version"] == "1.0.0"
    assert spool(client.app.state.library.settings.projects_root, project) == []


@pytest.mark.parametrize(
    ("headers", "status", "error"),
    [
        ({"Upload-Metadata": metadata(filename="clip.mp4")}, 400, "InvalidInput"),
        ({"Upload-Length": "10", "Upload-Metadata": "filename !!!"}, 400, "InvalidInput"),
        ({"Upload-Length": "10"}, 400, "InvalidInput"),
        (
            {"Upload-Length": "-1", "Upload-Metadata": metadata(filename="a.mp4")},
            400,
            "InvalidInput",
        ),
        ({"Upload-Length": "0", "Upload-Metadata": metadata(filename="a.mp4")}, 400, "EmptyUpload"),
        ({"Upload-Length": "10", "Upload-Metadata": metadata(filename="notes.txt")}, 415, ""),
        ({"Upload-Length": str(1 << 41), "Upload-Metadata": metadata(filename="a.mp4")}, 413, ""),
    ],
)
def test_creation_refusals_leave_no_spool(
    client: TestClient[Any], project: str, headers: dict[str, str], status: int, error: str
) -> None:
    response = client.post(f"/api/projects/{project}/uploads", headers={**TUS, **headers})
    expected = error or {415: "UnsupportedMediaType", 413: "PayloadTooLarge"}[status]
    extra = ["accepted"] if status == 415 else []
    assert_error(response, status, expected, extra)
    assert spool(library(client).settings.projects_root, project) == []


def test_the_name_key_is_accepted_for_the_file_name(
    client: TestClient[Any], project: str, clip: bytes, roots: tuple[Path, Path]
) -> None:
    response = client.post(
        f"/api/projects/{project}/uploads",
        headers={**TUS, "Upload-Length": str(len(clip)), "Upload-Metadata": metadata(name="b.mp4")},
    )
    assert response.status_code == 201
    assert send(client, response.headers["location"], 0, clip).headers["x-media-sync-path"] == (
        "ingest/originals/b.mp4"
    )


def test_metadata_naming_another_project_is_refused(client: TestClient[Any], project: str) -> None:
    other = create_project(client, "Other")
    response = client.post(
        f"/api/projects/{project}/uploads",
        headers={
            **TUS,
            "Upload-Length": "10",
            "Upload-Metadata": metadata(filename="a.mp4", project=other),
        },
    )
    assert_error(response, 400, "InvalidInput")


def test_creation_with_upload_takes_the_first_bytes_and_can_finish(
    client: TestClient[Any], project: str, clip: bytes, roots: tuple[Path, Path]
) -> None:
    head = {
        **STREAM,
        "Upload-Length": str(len(clip)),
        "Upload-Metadata": metadata(filename="c.mp4"),
    }
    partial = client.post(f"/api/projects/{project}/uploads", headers=head, content=clip[:1000])
    assert partial.status_code == 201
    assert partial.headers["upload-offset"] == "1000"
    assert offset_of(client, partial.headers["location"]) == 1000
    whole = client.post(
        f"/api/projects/{project}/uploads",
        headers={**head, "Upload-Metadata": metadata(filename="d.mp4")},
        content=clip,
    )
    assert whole.status_code == 201
    assert whole.headers["x-media-sync-status"] == "stored"
    assert [p.name for p in originals(roots[0], project)] == ["d.mp4"]


def test_patch_needs_the_offset_stream_content_type(
    client: TestClient[Any], project: str, clip: bytes
) -> None:
    url = create(client, project, len(clip))
    response = client.patch(
        url,
        content=clip[:10],
        headers={**TUS, "Upload-Offset": "0", "Content-Type": "application/octet-stream"},
    )
    assert_error(response, 415, "UnsupportedMediaType")
    assert offset_of(client, url) == 0


def test_a_wrong_offset_is_409_and_names_the_stored_one(
    client: TestClient[Any], project: str, clip: bytes
) -> None:
    url = create(client, project, len(clip))
    assert send(client, url, 0, clip[:100]).status_code == 204
    response = send(client, url, 50, clip[50:200])
    assert response.status_code == 409
    assert response.headers["upload-offset"] == "100"
    assert set(response.json()) == ERROR_FIELDS | {"offset"}
    assert offset_of(client, url) == 100


def test_checksums_sha1_and_sha256_and_a_mismatch_drops_the_chunk(
    client: TestClient[Any], project: str, clip: bytes, roots: tuple[Path, Path]
) -> None:
    url = create(client, project, len(clip))
    one, two, rest = clip[:300], clip[300:700], clip[700:]
    ok = send(client, url, 0, one, **{"Upload-Checksum": f"sha1 {b64(hashlib.sha1(one).digest())}"})
    assert ok.status_code == 204
    wrong = b64(hashlib.sha256(b"something else").digest())
    refused = send(client, url, 300, two, **{"Upload-Checksum": f"sha256 {wrong}"})
    assert_error(refused, 460, "ChecksumMismatch")
    assert offset_of(client, url) == 300
    upload_id = url.rsplit("/", 1)[1]
    assert part_path(library(client).project(None, project), upload_id).stat().st_size == 300
    right = f"sha256 {b64(hashlib.sha256(two).digest())}"
    assert send(client, url, 300, two, **{"Upload-Checksum": right}).status_code == 204
    done = send(client, url, 700, rest)
    assert done.headers["x-media-sync-status"] == "stored"
    [stored] = originals(roots[0], project)
    assert stored.read_bytes() == clip


def test_an_unsupported_checksum_algorithm_is_400(
    client: TestClient[Any], project: str, clip: bytes
) -> None:
    url = create(client, project, len(clip))
    response = send(client, url, 0, clip[:10], **{"Upload-Checksum": "md5 AAAA"})
    assert_error(response, 400, "InvalidInput")
    assert offset_of(client, url) == 0


def test_bytes_past_the_length_are_413_and_nothing_is_kept(
    client: TestClient[Any], project: str, clip: bytes
) -> None:
    url = create(client, project, 100)
    assert_error(send(client, url, 0, clip[:101]), 413, "PayloadTooLarge")
    assert offset_of(client, url) == 0


def test_termination_removes_the_spool_and_the_url_is_gone(
    client: TestClient[Any], project: str, clip: bytes, roots: tuple[Path, Path]
) -> None:
    url = create(client, project, len(clip))
    assert send(client, url, 0, clip[:100]).status_code == 204
    response = client.delete(url, headers=TUS)
    assert response.status_code == 204
    assert spool(roots[0], project) == []
    assert client.head(url, headers=TUS).status_code == 404
    assert_error(client.delete(url, headers=TUS), 404, "UploadNotFound")


def test_unknown_and_malformed_ids_are_404(client: TestClient[Any], project: str) -> None:
    base = f"/api/projects/{project}/uploads"
    assert_error(client.get(f"{base}/{'A' * 24}"), 404, "UploadNotFound")
    assert_error(client.get(f"{base}/..index.json"), 404, "UploadNotFound")
    assert_error(send(client, f"{base}/short", 0, b"x"), 404, "UploadNotFound")


def test_a_duplicate_through_tus_answers_duplicate_and_stores_nothing_new(
    client: TestClient[Any], project: str, clip: bytes, roots: tuple[Path, Path]
) -> None:
    assert upload_bytes(client, project, "first.mp4", clip)["status"] == "stored"
    url = create(client, project, len(clip), "again.mp4")
    done = send(client, url, 0, clip)
    assert done.headers["x-media-sync-status"] == "duplicate"
    assert done.headers["x-media-sync-path"] == "ingest/originals/first.mp4"
    assert [p.name for p in originals(roots[0], project)] == ["first.mp4"]


def test_bytes_written_but_never_acknowledged_are_cut_off(
    client: TestClient[Any], project: str, clip: bytes, roots: tuple[Path, Path]
) -> None:
    """A crash after the data write and before the state write leaves extra bytes: forgotten,
    and the running hash (here: lost, as after a restart) is rebuilt from the stored prefix."""
    url = create(client, project, len(clip))
    assert send(client, url, 0, clip[:500]).status_code == 204
    upload_id = url.rsplit("/", 1)[1]
    with part_path(library(client).project(None, project), upload_id).open("ab") as part:
        part.write(b"garbage that was never acknowledged")
    HASHES.drop(upload_id)
    assert offset_of(client, url) == 500
    assert send(client, url, 500, clip[500:]).headers["x-media-sync-status"] == "stored"
    [stored] = originals(roots[0], project)
    assert stored.read_bytes() == clip


def test_a_second_request_appending_at_once_is_told_busy(
    client: TestClient[Any], project: str, clip: bytes
) -> None:
    url = create(client, project, len(clip))
    lib = library(client)
    ref = lib.project(None, project)
    with resumable.append(lib, ref, url.rsplit("/", 1)[1], 0) as appender:
        assert_error(send(client, url, 0, clip[:10]), 409, "UploadBusy")
        appender.write(clip[:10])
        appender.durable()
    assert offset_of(client, url) == 10


def test_an_upload_in_a_sync_session_is_counted_there(
    client: TestClient[Any], project: str, clip: bytes
) -> None:
    lib = library(client)
    ref = lib.project(None, project)
    batch_id = batches.start(lib, ref, album="Trip", device="test", note="")["batch_id"]
    response = client.post(
        f"/api/projects/{project}/uploads",
        headers={
            **TUS,
            "Upload-Length": str(len(clip)),
            "Upload-Metadata": metadata(filename="e.mp4", batch_id=batch_id),
        },
    )
    assert response.status_code == 201
    assert send(client, response.headers["location"], 0, clip).status_code == 204
    counts = batches.finalize(lib, ref, batch_id)["counts"]
    assert (counts["total"], counts["stored"]) == (1, 1)


def test_expire_removes_stale_spools_and_keeps_fresh_ones(
    client: TestClient[Any], project: str, clip: bytes, roots: tuple[Path, Path]
) -> None:
    stale = create(client, project, len(clip))
    assert send(client, stale, 0, clip[:100]).status_code == 204
    lib = library(client)
    assert resumable.expire(lib, now=time.time()) == 0
    assert resumable.expire(lib, now=time.time() + 25 * 3600) == 1
    assert spool(roots[0], project) == []
    assert client.head(stale, headers=TUS).status_code == 404


def test_an_expired_upload_answers_410_and_its_bytes_go(
    client_with: Callable[..., TestClient[Any]], clip: bytes, roots: tuple[Path, Path]
) -> None:
    http = client_with(MEDIA_SYNC_UPLOAD_EXPIRY_HOURS="0.0003")  # about one second
    project = create_project(http, "Short")
    url = create(http, project, len(clip))
    assert http.head(url, headers=TUS).headers["upload-expires"].endswith(" GMT")
    wait_until(lambda: http.head(url, headers=TUS).status_code == 410, what="expiry")
    assert_error(send(http, url, 0, clip), 410, "UploadExpired")
    upload_id = url.rsplit("/", 1)[1]
    ref = library(http).project(None, project)
    assert state_path(ref, upload_id).exists()  # until the sweep comes by
    assert resumable.expire(library(http)) == 1
    assert spool(roots[0], project) == []


def test_start_up_removes_spools_that_expired_while_the_server_was_down(
    roots: tuple[Path, Path], clip: bytes
) -> None:
    settings = settings_for(*roots, MEDIA_SYNC_UPLOAD_EXPIRY_HOURS="0.0003")  # about one second
    with TestClient(create_app(settings)) as http:
        project = create_project(http, "Down")
        url = create(http, project, len(clip))
        assert send(http, url, 0, clip[:100]).status_code == 204
    assert spool(roots[0], project) == [
        f"{url.rsplit('/', 1)[1]}.{ext}" for ext in ("json", "part")
    ]
    wait_until(
        lambda: time.time() > expiry_of(roots[0], project, url),
        what="the expiry time",
    )
    with TestClient(create_app(settings)):
        assert spool(roots[0], project) == []


def expiry_of(root: Path, project: str, url: str) -> float:
    state = json.loads(
        (root / project / "_manifest" / "uploads" / f"{url.rsplit('/', 1)[1]}.json").read_text()
    )
    return parse_time(state["expires_at"])


def test_cors_exposes_the_tus_headers(
    client_with: Callable[..., TestClient[Any]], clip: bytes
) -> None:
    http = client_with(MEDIA_SYNC_CORS_ORIGINS="http://page.example")
    project = create_project(http, "Cors")
    response = http.post(
        f"/api/projects/{project}/uploads",
        headers={
            **TUS,
            "Origin": "http://page.example",
            "Upload-Length": "10",
            "Upload-Metadata": metadata(filename="a.mp4"),
        },
    )
    assert response.status_code == 201
    exposed = {
        h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")
    }
    assert {
        "location",
        "upload-offset",
        "upload-length",
        "upload-expires",
        "tus-resumable",
    } <= exposed


def test_the_schema_describes_the_routes(client: TestClient[Any]) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]
    one = paths["/api/projects/{project}/uploads/{upload_id}"]
    assert set(one) >= {"head", "patch", "delete", "get"}
    assert "Upload-Offset" in one["patch"]["description"]
    assert "Upload-Length" in paths["/api/projects/{project}/uploads"]["post"]["description"]

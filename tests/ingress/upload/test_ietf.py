"""IETF resumable uploads (interop versions 3 to 8) through the in-process app: creation, offset
retrieval, append, cancellation, the commit through the one pipeline, and the refusals."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.api import assert_error, create_project, upload_bytes

PROBLEM = "https://iana.org/assignments/http-problem-types#"
VERSIONS = [3, 4, 5, 6, 7, 8]


def flag(version: int, last: bool) -> dict[str, str]:
    """The request header saying whether this body ends the file, as this version spells it."""
    if version == 3:
        return {"Upload-Incomplete": "?0" if last else "?1"}
    return {"Upload-Complete": "?1" if last else "?0"}


def said_complete(response: httpx.Response, version: int) -> bool:
    if version == 3:
        return {"?0": True, "?1": False}[response.headers["upload-incomplete"]]
    return {"?1": True, "?0": False}[response.headers["upload-complete"]]


def ietf(version: int, last: bool, **extra: str) -> dict[str, str]:
    return {"Upload-Draft-Interop-Version": str(version), **flag(version, last), **extra}


def patch_headers(version: int, offset: int, last: bool) -> dict[str, str]:
    return ietf(
        version,
        last,
        **{"Upload-Offset": str(offset), "Content-Type": "application/partial-upload"},
    )


def create(
    http: httpx.Client,
    project: str,
    version: int,
    body: bytes = b"",
    *,
    last: bool = False,
    name: str = "clip.mov",
    extra: dict[str, str] | None = None,
) -> httpx.Response:
    headers = ietf(version, last, **{"Content-Disposition": f'attachment; filename="{name}"'})
    headers.update(extra or {})
    return http.post(f"/api/projects/{project}/uploads", content=body, headers=headers)


def upload_path(response: httpx.Response) -> str:
    return httpx.URL(response.headers["location"]).path


def originals(root: Path, project: str) -> list[Path]:
    folder = root / project / "ingest" / "originals"
    return sorted(folder.iterdir()) if folder.is_dir() else []


@pytest.fixture
def project(client: Any) -> str:
    return create_project(client, "Phone")


@pytest.mark.parametrize("version", VERSIONS)
def test_each_version_creates_appends_in_two_parts_and_commits_once(
    client: Any, project: str, roots: tuple[Path, Path], version: int
) -> None:
    data = os.urandom(700_000)
    created = create(client, project, version)
    assert created.status_code == 201, created.text
    assert created.headers["upload-draft-interop-version"] == str(version)
    assert created.headers["upload-offset"] == "0"
    assert not said_complete(created, version)
    url = upload_path(created)
    assert url.startswith(f"/api/projects/{project}/uploads/")

    first = client.patch(url, content=data[:300_000], headers=patch_headers(version, 0, False))
    assert first.status_code == (201 if version <= 6 else 204), first.text
    assert first.headers["upload-offset"] == "300000"
    assert not said_complete(first, version)
    assert originals(roots[0], project) == []  # nothing partial where complete files live

    probe = client.head(url, headers={"Upload-Draft-Interop-Version": str(version)})
    assert probe.status_code == 204
    assert probe.headers["upload-offset"] == "300000"
    assert probe.headers["cache-control"] == "no-store"
    assert not said_complete(probe, version)

    last = client.patch(url, content=data[300_000:], headers=patch_headers(version, 300_000, True))
    assert last.status_code == 200, last.text
    assert said_complete(last, version)
    assert last.headers["upload-offset"] == str(len(data))
    body = last.json()
    assert (body["status"], body["filename"], body["size"]) == ("stored", "clip.mov", len(data))
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    [stored] = originals(roots[0], project)
    assert stored.read_bytes() == data

    after = client.head(url, headers={"Upload-Draft-Interop-Version": str(version)})
    assert after.status_code == 204
    assert said_complete(after, version) and after.headers["upload-offset"] == str(len(data))


@pytest.mark.parametrize("version", [3, 6, 8])
def test_a_whole_body_with_the_last_flag_is_stored_by_the_creation_request(
    client: Any, project: str, roots: tuple[Path, Path], version: int
) -> None:
    data = os.urandom(200_000)
    response = create(client, project, version, data, last=True)
    assert response.status_code == 200, response.text
    assert said_complete(response, version)
    assert response.headers["location"].startswith("http")
    assert response.json()["status"] == "stored"
    assert response.json()["sha256"] == hashlib.sha256(data).hexdigest()
    assert [p.read_bytes() for p in originals(roots[0], project)] == [data]


def test_a_chunked_body_of_unknown_length_commits_with_the_length_it_had(
    client: Any, project: str
) -> None:
    data = os.urandom(300_000)
    headers = ietf(8, True, **{"X-Filename": "stream.mp4"})
    response = client.post(
        f"/api/projects/{project}/uploads",
        content=iter([data[:1000], data[1000:]]),
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert response.headers["upload-length"] == str(len(data))
    assert response.json()["sha256"] == hashlib.sha256(data).hexdigest()


def test_limits_are_announced_from_interop_6(client: Any, project: str) -> None:
    old, six, seven = (create(client, project, v) for v in (5, 6, 7))
    assert "upload-limit" not in old.headers
    assert six.headers["upload-limit"].startswith("max-size=")
    assert ",expires=" in six.headers["upload-limit"]
    assert ",max-age=" in seven.headers["upload-limit"]


@pytest.mark.parametrize("version", [3, 6, 7])
def test_a_wrong_offset_is_409_with_the_right_one(client: Any, project: str, version: int) -> None:
    url = upload_path(create(client, project, version, b"x" * 1000))
    response = client.patch(url, content=b"y" * 10, headers=patch_headers(version, 500, False))
    body = assert_error(
        response, 409, "OffsetMismatch", extra={"type", "expected-offset", "provided-offset"}
    )
    assert response.headers["upload-offset"] == "1000"
    assert not said_complete(response, version)
    assert body["type"] == PROBLEM + "mismatching-upload-offset"
    assert (body["expected-offset"], body["provided-offset"]) == (1000, 500)
    head = client.head(url, headers={"Upload-Draft-Interop-Version": str(version)})
    assert head.headers["upload-offset"] == "1000"  # the refused bytes were not kept


def test_the_same_content_twice_answers_duplicate(
    client: Any, project: str, roots: tuple[Path, Path]
) -> None:
    data = os.urandom(150_000)
    first = upload_bytes(client, project, "a.mov", data)
    again = create(client, project, 6, data, last=True, name="b.mov")
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "duplicate"
    assert again.json()["path"] == first["path"]
    assert [p.name for p in originals(roots[0], project)] == ["a.mov"]


def test_415_and_413_are_answered_from_the_headers(client: Any, project: str) -> None:
    text = create(client, project, 6, b"hello", last=True, name="notes.txt")
    assert_error(text, 415, "UnsupportedMediaType", extra={"accepted"})
    assert text.headers["upload-draft-interop-version"] == "6"
    huge = str(10**14)
    too_big = create(client, project, 6, b"", extra={"Upload-Length": huge})
    assert_error(too_big, 413, "PayloadTooLarge")
    assert not said_complete(too_big, 6)


def test_lengths_that_disagree_are_400(client: Any, project: str) -> None:
    response = create(client, project, 7, b"z" * 100, last=True, extra={"Upload-Length": "99"})
    body = assert_error(response, 400, "InvalidInput", extra={"type"})
    assert body["type"] == PROBLEM + "inconsistent-upload-length"


def test_an_append_must_be_partial_upload_from_interop_6(client: Any, project: str) -> None:
    url = upload_path(create(client, project, 6))
    headers = {**patch_headers(6, 0, True), "Content-Type": "application/octet-stream"}
    response = client.patch(url, content=b"abc", headers=headers)
    assert_error(response, 415, "UnsupportedMediaType", extra={"accepted"})
    old = upload_path(create(client, project, 5))
    five = client.patch(old, content=b"abc", headers={**patch_headers(5, 0, False)})
    assert five.status_code == 201 and five.headers["upload-offset"] == "3"


def test_an_unknown_interop_version_is_400(client: Any, project: str) -> None:
    response = client.post(
        f"/api/projects/{project}/uploads",
        content=b"",
        headers={"Upload-Draft-Interop-Version": "2", "Upload-Complete": "?0"},
    )
    body = assert_error(response, 400, "InvalidInput", extra={"supported"})
    assert body["supported"] == ["3", "4", "5", "6", "7", "8"]


def test_the_completeness_header_is_required(client: Any, project: str) -> None:
    response = client.post(
        f"/api/projects/{project}/uploads",
        content=b"",
        headers={"Upload-Draft-Interop-Version": "6", "X-Filename": "a.mov"},
    )
    assert_error(response, 400, "InvalidInput")


@pytest.mark.parametrize(
    ("headers", "query", "expected"),
    [
        (
            {"Content-Disposition": "attachment; filename*=UTF-8''Caf%C3%A9 take.mov"},
            "",
            "Café take.mov",
        ),
        ({"X-Filename": "Beach%20day.MP4"}, "", "Beach day.MP4"),
        ({}, "?filename=DCIM/100APPLE/IMG_0001.HEIC", "IMG_0001.HEIC"),
    ],
)
def test_the_file_name_comes_from_the_disposition_a_header_or_the_query(
    client: Any, project: str, headers: dict[str, str], query: str, expected: str
) -> None:
    response = client.post(
        f"/api/projects/{project}/uploads{query}",
        content=b"",
        headers={"Upload-Draft-Interop-Version": "6", "Upload-Complete": "?0", **headers},
    )
    assert response.status_code == 201, response.text
    assert response.json()["filename"] == expected


def test_no_file_name_is_400(client: Any, project: str) -> None:
    response = client.post(
        f"/api/projects/{project}/uploads",
        content=b"",
        headers={"Upload-Draft-Interop-Version": "6", "Upload-Complete": "?0"},
    )
    assert_error(response, 400, "InvalidInput")


def test_delete_cancels_and_the_upload_is_gone(
    client: Any, project: str, roots: tuple[Path, Path]
) -> None:
    url = upload_path(create(client, project, 6, b"q" * 5000))
    version = {"Upload-Draft-Interop-Version": "6"}
    assert client.delete(url, headers=version).status_code == 204
    gone = client.head(url, headers=version)
    assert (gone.status_code, gone.content) == (404, b"")  # a HEAD answer has no body
    assert list((roots[0] / project / "_manifest" / "uploads").iterdir()) == []


def test_the_lost_final_answer_is_replayed(client: Any, project: str) -> None:
    data = os.urandom(50_000)
    url = upload_path(create(client, project, 6))
    done = client.patch(url, content=data, headers=patch_headers(6, 0, True))
    assert done.status_code == 200
    again = client.patch(url, content=b"", headers=patch_headers(6, len(data), True))
    assert again.status_code == 200, again.text
    assert again.json()["sha256"] == done.json()["sha256"]
    assert again.json()["status"] == "stored"
    more = client.patch(url, content=b"x", headers=patch_headers(6, len(data), True))
    body = assert_error(more, 409, "UploadFinished", extra={"type"})
    assert body["type"] == PROBLEM + "completed-upload"


def test_an_empty_last_append_commits_what_was_sent(client: Any, project: str) -> None:
    data = os.urandom(40_000)
    url = upload_path(create(client, project, 4, data))
    done = client.patch(url, content=b"", headers=patch_headers(4, len(data), True))
    assert done.status_code == 200, done.text
    assert done.json()["sha256"] == hashlib.sha256(data).hexdigest()


def test_an_upload_in_a_sync_session_is_counted_when_it_is_finalized(
    client: Any, project: str
) -> None:
    started = client.post(f"/api/projects/{project}/upload?op=start", json={"album_name": "Trip"})
    batch = started.json()["batch_id"]
    url = upload_path(create(client, project, 6, b"a" * 3000, extra={"X-Batch-Id": batch}))
    done = client.patch(url, content=b"b" * 3000, headers=patch_headers(6, 3000, True))
    assert done.status_code == 200, done.text
    final = client.post(f"/api/projects/{project}/upload?op=finalize&batch_id={batch}")
    counts = final.json()["counts"]
    assert counts == {"total": 1, "stored": 1, "duplicate": 0, "skipped": 0, "error": 0}
    assert [item["filename"] for item in final.json()["items"]] == ["clip.mov"]

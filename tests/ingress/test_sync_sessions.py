"""Album sync sessions (upload batches): `?op=start`, uploads carrying the id (query, header,
multipart field), `?op=finalize` with the counts and one `sync-album` event; refusals."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests.support.api import assert_error, create_project, upload_bytes
from tests.support.catalogfile import query
from tests.support.files import events, sha256_of

CLIPS = [b"\x00\x00\x00\x18ftypqt  " + os.urandom(20_000 + i) for i in range(4)]


def start(client: Any, project: str, **kwargs: Any) -> dict[str, Any]:
    response = client.post(f"/api/projects/{project}/upload", params={"op": "start"}, **kwargs)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def finalize(client: Any, project: str, batch_id: str) -> Any:
    return client.post(
        f"/api/projects/{project}/upload", params={"op": "finalize", "batch_id": batch_id}
    )


def test_a_whole_session(client: Any, roots: tuple[Path, Path]) -> None:
    project = create_project(client, "Album")
    upload_bytes(client, project, "IMG_0000.MOV", CLIPS[0])  # there before the session
    session = start(client, project, json={"album_name": "Trip", "device": "iphone", "note": "n"})
    batch_id = session["batch_id"]
    assert session["ok"] is True and len(batch_id) == 32
    assert (session["album_name"], session["device"], session["note"]) == ("Trip", "iphone", "n")
    base = f"http://testserver.local/api/projects/{project}"
    assert session["upload_url"] == f"{base}/upload?batch_id={batch_id}"
    assert session["finalize_url"] == f"{base}/upload?op=finalize&batch_id={batch_id}"
    assert session["precheck_url"] == f"{base}/upload-check?batch_id={batch_id}"
    # pre-check: one skipped; then four uploads, each naming the session its own way
    items = [{"name": "IMG_0000.MOV", "size": len(CLIPS[0])}]
    check = client.post(f"/api/projects/{project}/upload-check?batch_id={batch_id}", json=items)
    assert check.json()["items"][0]["decision"] == "skip"
    url = f"/api/projects/{project}/upload"
    by_query = client.post(url, params={"batch_id": batch_id}, files={"file": ("a.MOV", CLIPS[1])})
    by_header = client.post(
        url, headers={"X-Batch-Id": batch_id}, files={"file": ("b.MOV", CLIPS[2])}
    )
    by_field = client.post(
        url, data={"batch_id": batch_id}, files={"file": ("c.MOV", CLIPS[3])}
    )  # httpx sends the form field before the file part
    again = client.put(
        f"/api/projects/{project}/files/a-again.MOV",
        params={"batch_id": batch_id},
        content=CLIPS[1],
    )
    refused = client.post(url, params={"batch_id": batch_id}, files={"file": ("notes.txt", b"x")})
    assert [r.status_code for r in (by_query, by_header, by_field, again, refused)] == [
        200,
        200,
        200,
        200,
        415,
    ]
    done = finalize(client, project, batch_id)
    assert done.status_code == 200, done.text
    body = done.json()
    counts = {"total": 6, "stored": 3, "duplicate": 1, "skipped": 1, "error": 1}
    assert body["ok"] is True and body["batch_id"] == batch_id and body["counts"] == counts
    assert [(i["filename"], i["status"], i["path"]) for i in body["items"]] == [
        ("IMG_0000.MOV", "skipped", None),
        ("a.MOV", "stored", "ingest/originals/a.MOV"),
        ("b.MOV", "stored", "ingest/originals/b.MOV"),
        ("c.MOV", "stored", "ingest/originals/c.MOV"),
        ("a-again.MOV", "duplicate", "ingest/originals/a.MOV"),
        ("notes.txt", "error", None),
    ]
    assert body["items"][1]["sha256"] == sha256_of(CLIPS[1])
    assert body["items"][5]["error"].startswith("'notes.txt' is not a supported media file")
    media = f"http://testserver.local/media/{project}/ingest/originals"
    assert body["served_urls"] == [f"{media}/{n}" for n in ("a.MOV", "b.MOV", "c.MOV", "a.MOV")]
    # one sync-album event, in the project's journal and the live feed's table
    root = roots[0] / project
    lines = [e for e in events(root) if e["event"] == "sync-album"]
    payload = {
        "album_name": "Trip",
        "device": "iphone",
        "note": "n",
        "batch_id": batch_id,
        "counts": counts,
        "project": project,
        "source": "primary",
    }
    assert [line["payload"] for line in lines] == [payload]
    assert body["event"] == lines[0]
    rows = query(roots[1], "SELECT project, data FROM event WHERE type = 'sync-album'")
    assert [(p, json.loads(d)) for p, d in rows] == [(project, payload)]


def test_start_takes_a_form_or_the_query(client: Any) -> None:
    project = create_project(client, "Forms")
    by_form = start(client, project, data={"album": "Beach", "device": "ipad"})
    assert (by_form["album_name"], by_form["device"]) == ("Beach", "ipad")
    by_query = client.post(
        f"/api/projects/{project}/upload",
        params={"op": "start", "album_name": "Snow", "note": "from a script"},
    ).json()
    assert (by_query["album_name"], by_query["device"], by_query["note"]) == (
        "Snow",
        "",
        "from a script",
    )


def test_a_retried_upload_counts_once(client: Any) -> None:
    project = create_project(client, "Retry")
    batch_id = start(client, project)["batch_id"]
    url = f"/api/projects/{project}/upload?batch_id={batch_id}"
    empty = client.post(url, files={"file": ("IMG_1.MOV", b"")})
    assert_error(empty, 400, "EmptyUpload")
    assert client.post(url, files={"file": ("IMG_1.MOV", CLIPS[0])}).status_code == 200
    counts = finalize(client, project, batch_id).json()["counts"]
    assert counts == {"total": 1, "stored": 1, "duplicate": 0, "skipped": 0, "error": 0}


def test_unknown_foreign_and_finalized_sessions_are_refused(client: Any) -> None:
    project = create_project(client, "Mine")
    other = create_project(client, "Theirs")
    batch_id = start(client, other)["batch_id"]
    url = f"/api/projects/{project}/upload"
    foreign = client.post(url, params={"batch_id": batch_id}, files={"file": ("a.MOV", CLIPS[0])})
    detail = assert_error(foreign, 404, "BatchNotFound")["detail"]
    assert detail == (
        f"project {project} has no sync session {batch_id!r}; start one with POST "
        ".../upload?op=start"
    )
    assert_error(finalize(client, project, batch_id), 404, "BatchNotFound")
    assert_error(finalize(client, project, "0" * 32), 404, "BatchNotFound")
    assert finalize(client, other, batch_id).status_code == 200
    late = client.post(
        f"/api/projects/{other}/upload",
        data={"batch_id": batch_id},
        files={"file": ("a.MOV", CLIPS[0])},
    )
    assert "was finalized at" in assert_error(late, 409, "BatchFinalized")["detail"]
    assert_error(finalize(client, other, batch_id), 409, "BatchFinalized")
    put = client.put(
        f"/api/projects/{other}/files/a.MOV", headers={"X-Batch-Id": batch_id}, content=CLIPS[0]
    )
    assert_error(put, 409, "BatchFinalized")
    assert client.get(f"/api/projects/{other}").json()["counts"]["files"] == 0


def test_bad_session_requests_are_400(client: Any) -> None:
    project = create_project(client, "Bad")
    url = f"/api/projects/{project}/upload"
    no_id = client.post(url, params={"op": "finalize"})
    assert assert_error(no_id, 400, "InvalidInput")["detail"] == (
        "op=finalize needs the session's batch_id (query or X-Batch-Id)"
    )
    unknown = client.post(url, params={"op": "restart"})
    assert assert_error(unknown, 400, "InvalidInput")["detail"] == (
        "unknown op 'restart': use op=start, op=finalize, or none to upload"
    )
    two = client.post(url, params={"batch_id": "a"}, headers={"X-Batch-Id": "b"})
    assert_error(two, 400, "InvalidInput")
    not_json = client.post(
        url, params={"op": "start"}, content=b"[1]", headers={"content-type": "application/json"}
    )
    assert_error(not_json, 400, "InvalidInput")


def test_the_audit_route_keeps_its_answer(client: Any, roots: tuple[Path, Path]) -> None:
    project = create_project(client, "Audit")
    response = client.post(
        f"/api/projects/{project}/sync-album",
        json={"album_name": "Trip", "device": "iphone", "note": "Shortcut ingest"},
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "event", "instructions"} and body["status"] == "recorded"
    assert body["event"]["event"] == "sync-album"
    assert body["event"]["payload"] == {
        "album_name": "Trip",
        "device": "iphone",
        "note": "Shortcut ingest",
        "project": project,
        "source": "primary",
    }
    assert events(roots[0] / project)[-1] == body["event"]

"""`POST /api/projects/{p}/upload-check` over HTTP: decisions for live, missing, changed and
renamed files, the request's limits, and skipped items recorded in a sync session."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.factories import make_video
from tests.support.api import assert_error, create_project, listing, upload_bytes
from tests.support.server import LiveServer
from tests.support.waiting import wait_until

CAPTURED = "2024-05-01T10:30:00Z"  # what make_video writes as QuickTime's creation_time


def clip(tmp_path: Path, name: str, variant: int) -> bytes:
    path = make_video(tmp_path / "made" / name, creation_time=CAPTURED, variant=variant)
    return path.read_bytes()


def check(http: httpx.Client, project: str, items: Any, **params: str) -> dict[str, Any]:
    response = http.post(f"/api/projects/{project}/upload-check", json=items, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def decisions(body: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(i["decision"], i["reason"], i.get("path")) for i in body["items"]]


def read_metadata(http: httpx.Client, project: str, count: int) -> None:
    """Wait until the metadata worker read every clip's capture time."""
    wait_until(
        lambda: sum(i["captured_from"] == "quicktime" for i in listing(http, project)) == count,
        what="capture times read",
    )


def test_live_missing_changed_and_unknown_files(client: Any, tmp_path: Path) -> None:
    project = create_project(client, "Check")
    data = [clip(tmp_path, f"IMG_000{i}.MOV", i) for i in range(3)]
    for i, body in enumerate(data):
        assert upload_bytes(client, project, f"IMG_000{i}.MOV", body)["status"] == "stored"
    read_metadata(client, project, 3)
    originals = Path(client.app.state.library.settings.projects_root) / project / "ingest/originals"
    (originals / "IMG_0001.MOV").unlink()  # gone from disk, still catalogued
    changed = originals / "IMG_0002.MOV"
    changed.write_bytes(changed.read_bytes()[::-1])  # other bytes, the same size
    os.utime(originals / "IMG_0000.MOV", ns=(1, 1))  # touched: re-hashed, still the same bytes
    items = [
        {"name": f"IMG_000{i}.MOV", "size": len(body), "captured_at": "2024-05-01T12:30:00+02:00"}
        for i, body in enumerate(data)
    ]
    items.append({"name": "IMG_0009.MOV", "size": 12345})
    answer = check(client, project, {"items": items})
    assert decisions(answer) == [
        ("skip", "same_name_size_time", "ingest/originals/IMG_0000.MOV"),
        ("upload", "missing_on_disk", "ingest/originals/IMG_0001.MOV"),
        ("upload", "changed_on_disk", "ingest/originals/IMG_0002.MOV"),
        ("upload", "new", None),
    ]
    assert decisions(check(client, project, items[:1])) == [
        ("skip", "same_name_size_time", "ingest/originals/IMG_0000.MOV")
    ]
    assert answer["counts"] == {"upload": 3, "skip": 1}
    assert [i["name"] for i in answer["items"]] == [i["name"] for i in items]
    by_content = [
        {"name": "x.MOV", "size": len(body), "sha256": hashlib.sha256(body).hexdigest()}
        for body in data
    ]
    assert decisions(check(client, project, by_content)) == [
        ("skip", "same_content", "ingest/originals/IMG_0000.MOV"),
        ("upload", "missing_on_disk", "ingest/originals/IMG_0001.MOV"),
        ("upload", "changed_on_disk", "ingest/originals/IMG_0002.MOV"),
    ]


def test_an_upload_after_missing_on_disk_restores_and_is_then_skipped(
    client: Any, tmp_path: Path
) -> None:
    project = create_project(client, "Restore")
    body = clip(tmp_path, "IMG_0001.MOV", 1)
    upload_bytes(client, project, "IMG_0001.MOV", body)
    root = Path(client.app.state.library.settings.projects_root)
    (root / project / "ingest/originals/IMG_0001.MOV").unlink()
    item = [{"name": "IMG_0001.MOV", "size": len(body)}]
    assert decisions(check(client, project, item))[0][:2] == ("upload", "missing_on_disk")
    assert upload_bytes(client, project, "IMG_0001.MOV", body)["status"] == "stored"
    assert decisions(check(client, project, item)) == [
        ("skip", "same_name_size", "ingest/originals/IMG_0001.MOV")
    ]


@pytest.mark.e2e
def test_a_file_renamed_on_the_server_is_still_skipped(live_server: LiveServer) -> None:
    """The watcher records the rename; the clip is found by its content, or by its size and
    capture time when the phone sends no hash."""
    made = live_server.state / "made"
    body = clip(made, "IMG_0100.MOV", 5)
    with live_server.client() as http:
        project = create_project(http, "Renamed")
        upload_bytes(http, project, "IMG_0100.MOV", body)
        read_metadata(http, project, 1)
        originals = live_server.root / project / "ingest/originals"
        (originals / "IMG_0100.MOV").rename(originals / "interview.MOV")
        wait_until(
            lambda: (
                [i["relative_path"] for i in listing(http, project)]
                == ["ingest/originals/interview.MOV"]
            ),
            what="the rename recorded",
        )
        items = [
            {"name": "IMG_0100.MOV", "size": len(body), "captured_at": "2024-05-01T10:30:00Z"},
            {"name": "IMG_0100.MOV", "size": len(body), "sha256": hashlib.sha256(body).hexdigest()},
            {"name": "IMG_0100.MOV", "size": len(body)},
        ]
        assert decisions(check(http, project, items)) == [
            ("skip", "same_size_time", "ingest/originals/interview.MOV"),
            ("skip", "same_content", "ingest/originals/interview.MOV"),
            ("upload", "new", None),  # name and size alone name no file there now
        ]


def test_a_thousand_items_in_one_call(client: Any) -> None:
    project = create_project(client, "Thousand")
    names = [f"IMG_{i:04d}.JPG" for i in range(3)]
    for i, name in enumerate(names):
        upload_bytes(client, project, name, bytes([i]) * (1000 + i))
    items = [{"name": f"IMG_{i:04d}.JPG", "size": 1000 + i} for i in range(1000)]
    answer = check(client, project, items)
    assert [i["decision"] for i in answer["items"]] == ["skip"] * 3 + ["upload"] * 997
    assert answer["counts"] == {"upload": 997, "skip": 3}


@pytest.mark.parametrize(
    ("content", "status", "error", "detail"),
    [
        (b"{", 400, "InvalidInput", "the body must be JSON"),
        (b'{"items": 3}', 400, "InvalidInput", 'send {"items": [{"name": "IMG_0001.MOV"'),
        (b'[{"name": "a.mov", "size": "1"}]', 400, "InvalidInput", "items[0].size must be"),
        (b'[{"name": "a.mov", "size": 1, "sha256": 1}]', 400, "InvalidInput", "items[0].sha256"),
        (b'{"items": [], "batch_id": 7}', 400, "InvalidInput", "'batch_id' must be a string"),
    ],
)
def test_bad_requests_are_refused_clearly(
    client: Any, content: bytes, status: int, error: str, detail: str
) -> None:
    project = create_project(client, "Refusals")
    response = client.post(
        f"/api/projects/{project}/upload-check",
        content=content,
        headers={"content-type": "application/json"},
    )
    assert assert_error(response, status, error)["detail"].startswith(detail)


def test_more_than_ten_thousand_items_is_413(client: Any) -> None:
    project = create_project(client, "TooMany")
    items = [{"name": "a.mov", "size": 1}] * 10_001
    response = client.post(f"/api/projects/{project}/upload-check", json=items)
    body = assert_error(response, 413, "PayloadTooLarge")
    assert body["detail"] == "10001 items in one check; at most 10000: send the rest in another"


def test_an_unknown_project_is_404(client: Any) -> None:
    response = client.post("/api/projects/P9-Nope/upload-check", json=[])
    assert_error(response, 404, "ProjectNotFound")


def test_skipped_items_are_recorded_in_the_session(client: Any, tmp_path: Path) -> None:
    project = create_project(client, "Recorded")
    body = clip(tmp_path, "IMG_0001.MOV", 1)
    upload_bytes(client, project, "IMG_0001.MOV", body)
    started = client.post(f"/api/projects/{project}/upload?op=start", json={"album_name": "A"})
    batch_id = started.json()["batch_id"]
    items = {
        "items": [
            {"name": "IMG_0001.MOV", "size": len(body)},
            {"name": "IMG_0002.MOV", "size": 5},
            {"name": "empty.MOV", "size": 0},
        ],
        "batch_id": batch_id,
    }
    assert check(client, project, items)["batch_id"] == batch_id
    done = client.post(
        f"/api/projects/{project}/upload", params={"op": "finalize", "batch_id": batch_id}
    )
    assert done.status_code == 200, done.text
    assert done.json()["counts"] == {
        "total": 2,
        "stored": 0,
        "duplicate": 0,
        "skipped": 2,
        "error": 0,
    }
    assert [(i["filename"], i["status"], i["size"]) for i in done.json()["items"]] == [
        ("IMG_0001.MOV", "skipped", len(body)),
        ("empty.MOV", "skipped", 0),
    ]
    again = client.post(f"/api/projects/{project}/upload-check", json=items)
    assert "was finalized at" in assert_error(again, 409, "BatchFinalized")["detail"]
    unknown = client.post(
        f"/api/projects/{project}/upload-check", json=[], params={"batch_id": "nope"}
    )
    assert assert_error(unknown, 404, "BatchNotFound")["detail"] == (
        f"project {project} has no sync session 'nope'; start one with POST .../upload?op=start"
    )


def test_a_body_over_eight_mebibytes_is_413(client: Any) -> None:
    project = create_project(client, "Huge")
    response = client.post(
        f"/api/projects/{project}/upload-check",
        content=b"[" + b" " * (8 << 20) + b"]",
        headers={"content-type": "application/json"},
    )
    body = assert_error(response, 413, "PayloadTooLarge")
    assert body["detail"] == "a pre-check body larger than 8388608 bytes; send less"

"""The digest short-cut: an upload announcing its sha256 (`X-Content-SHA256`, `Repr-Digest`,
`Content-Digest` on PUT) whose bytes the project holds live is answered `duplicate` before its
body is read, recorded like any duplicate; otherwise the body is read and must match."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from tests.support.api import assert_error, create_project, upload_bytes
from tests.support.files import events, index_doc, journal, sha256_of, temp_files, tree
from tests.support.rawhttp import connect, head, read_answer, send_all
from tests.support.server import LiveServer

CLIP = b"\x00\x00\x00\x18ftypqt  " + os.urandom(200_000)


def repr_digest(data: bytes) -> str:
    return "sha-256=:" + base64.b64encode(hashlib.sha256(data).digest()).decode() + ":"


def project_root(client: Any, project: str) -> Path:
    return Path(client.app.state.library.settings.projects_root) / project


def stored(client: Any, name: str) -> str:
    project = create_project(client, name)
    assert upload_bytes(client, project, "IMG_0001.MOV", CLIP)["status"] == "stored"
    return project


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Content-SHA256": sha256_of(CLIP).upper()},
        {"Repr-Digest": "sha-512=:" + "A" * 88 + ":, " + repr_digest(CLIP)},
    ],
)
def test_a_live_copy_answers_duplicate_without_the_body(
    client: Any, headers: dict[str, str]
) -> None:
    project = stored(client, "Shortcut")
    response = client.post(
        f"/api/projects/{project}/upload",
        headers=headers,
        files={"file": ("ignored.mov", b"not these bytes: the body is never read")},
    )
    assert response.status_code == 200, response.text
    assert response.headers["connection"] == "close"
    body = response.json()
    assert (body["status"], body["filename"], body["path"]) == (
        "duplicate",
        "IMG_0001.MOV",  # the body is unread: the stored copy names it
        "ingest/originals/IMG_0001.MOV",
    )
    assert body["sha256"] == sha256_of(CLIP) and body["size"] == len(CLIP)
    assert body["served"]["stream_url"].endswith(f"/media/{project}/ingest/originals/IMG_0001.MOV")
    root = project_root(client, project)
    assert sorted(p.name for p in (root / "ingest/originals").iterdir()) == ["IMG_0001.MOV"]
    assert index_doc(root)["counts"]["duplicates_skipped"] == 1
    assert [e["event"] for e in events(root)] == ["upload_ingested", "upload_duplicate_skipped"]
    assert [line["action"] for line in journal(root)] == ["stored", "duplicate"]


def test_x_filename_names_the_duplicate(client: Any) -> None:
    project = stored(client, "Named")
    response = client.post(
        f"/api/projects/{project}/upload",
        headers={"X-Content-SHA256": sha256_of(CLIP), "X-Filename": "IMG_0001 copy.MOV"},
        files={"file": ("x.mov", b"")},
    )
    assert response.json()["filename"] == "IMG_0001 copy.MOV"
    last = events(project_root(client, project))[-1]
    assert last["payload"]["filename"] == "IMG_0001 copy.MOV"


def test_put_takes_content_digest_and_names_the_file_from_its_path(client: Any) -> None:
    project = stored(client, "Put")
    response = client.put(
        f"/api/projects/{project}/files/again.MOV",
        headers={"Content-Digest": repr_digest(CLIP)},
        content=b"unread",
    )
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["filename"]) == ("duplicate", "again.MOV")
    assert index_doc(project_root(client, project))["counts"]["duplicates_skipped"] == 1


def test_unknown_bytes_are_read_and_must_match(client: Any) -> None:
    project = create_project(client, "Unknown")
    other = os.urandom(50_000)
    ok = client.put(
        f"/api/projects/{project}/files/new.MOV",
        headers={"X-Content-SHA256": sha256_of(other)},
        content=other,
    )
    assert (ok.status_code, ok.json()["status"]) == (200, "stored")
    before = tree(project_root(client, project))
    wrong = client.post(
        f"/api/projects/{project}/upload",
        headers={"Repr-Digest": repr_digest(b"something else")},
        files={"file": ("liar.MOV", CLIP)},
    )
    detail = assert_error(wrong, 400, "DigestMismatch")["detail"]
    assert detail == (
        f"'liar.MOV' has sha256 {sha256_of(CLIP)}, not the {sha256_of(b'something else')} its "
        "headers announced; nothing was stored"
    )
    put = client.put(
        f"/api/projects/{project}/files/liar.MOV",
        headers={"Content-Digest": repr_digest(b"x")},
        content=CLIP,
    )
    assert_error(put, 400, "DigestMismatch")
    assert tree(project_root(client, project)) == before
    assert temp_files(project_root(client, project)) == []


def test_a_copy_gone_from_disk_is_no_duplicate(client: Any) -> None:
    project = stored(client, "Gone")
    root = project_root(client, project)
    (root / "ingest/originals/IMG_0001.MOV").unlink()
    response = client.post(
        f"/api/projects/{project}/upload",
        headers={"X-Content-SHA256": sha256_of(CLIP)},
        files={"file": ("IMG_0001.MOV", CLIP)},
    )
    assert response.json()["status"] == "stored"
    assert (root / "ingest/originals/IMG_0001.MOV").read_bytes() == CLIP


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({"X-Content-SHA256": "abc"}, "X-Content-SHA256 must be 64 hexadecimal digits"),
        ({"Repr-Digest": "sha-256=:abc:"}, "Repr-Digest: sha-256 must be the 32-byte digest"),
        ({"Repr-Digest": "sha-256=abc"}, "Repr-Digest: write sha-256 as sha-256=:<base64>:"),
        (
            {"X-Content-SHA256": "0" * 64, "Repr-Digest": repr_digest(b"x")},
            "X-Content-SHA256 and Repr-Digest announce different sha256 digests",
        ),
    ],
)
def test_malformed_digests_are_refused(client: Any, headers: dict[str, str], detail: str) -> None:
    project = create_project(client, "Malformed")
    response = client.post(
        f"/api/projects/{project}/upload", headers=headers, files={"file": ("a.MOV", CLIP)}
    )
    assert assert_error(response, 400, "InvalidInput")["detail"].startswith(detail)


@pytest.mark.e2e
@pytest.mark.parametrize(("method", "path"), [("POST", "upload"), ("PUT", "files/IMG_0001.MOV")])
def test_the_answer_comes_before_the_body(quiet_server: LiveServer, method: str, path: str) -> None:
    """A client sends the head only and waits: the duplicate answer arrives, the server closes
    the connection, and nothing more is stored."""
    with quiet_server.client() as http:
        project = create_project(http, "Early")
        upload_bytes(http, project, "IMG_0001.MOV", CLIP)
    request = head(
        method,
        f"/api/projects/{project}/{path}",
        {
            "Content-Type": "multipart/form-data; boundary=b0undary",
            "Content-Length": str(20 << 20),
            "X-Content-SHA256": sha256_of(CLIP),
            "Expect": "100-continue",  # no "100 Continue" comes: the final answer does
        },
    )
    with connect(quiet_server.port) as sock:
        assert send_all(sock, request)  # not one body byte follows
        answer = read_answer(sock, timeout=10)
    assert answer.status == 200, answer
    assert answer.json()["status"] == "duplicate"
    assert answer.headers["connection"] == "close"
    assert answer.closed
    with quiet_server.client() as http:
        counts = http.get(f"/api/projects/{project}").json()["counts"]
    assert (counts["files"], counts["duplicates_skipped"]) == (1, 1)
    assert temp_files(quiet_server.root) == []

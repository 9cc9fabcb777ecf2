"""`POST /api/resolve/open`: what a job carries, up-front validation, idempotency."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.jobs.conftest import open_body, opened, project_with_clips


def total_jobs(client: TestClient[Any]) -> int:
    response = client.get("/api/resolve/jobs")
    assert response.status_code == 200
    total: int = response.json()["total"]
    return total


def test_open_queues_a_job_with_what_the_agent_needs(client: TestClient[Any], project: str) -> None:
    body = open_body(project, "clip-a.mp4", "clip-b.mov", mode="reveal")
    job = opened(client.post("/api/resolve/open", json=body))
    assert job["status"] == "pending"
    assert job["mode"] == "reveal_in_explorer"
    assert job["project"] == job["project_folder"] == job["resolve_project"] == project
    assert job["source"] == "primary"
    assert job["media_rel_paths"] == ["ingest/originals/clip-a.mp4", "ingest/originals/clip-b.mov"]
    assert job["source_rel_paths"] == [f"{project}/{p}" for p in job["media_rel_paths"]]
    assert job["attempts"] == 0 and job["claimed_by"] is None and job["result"] is None
    assert job["claimed_at"] is None and job["error"] is None
    assert job["done_at"] is None and job["failed_at"] is None
    assert job["created_at"].endswith("Z")
    assert client.get(f"/api/resolve/jobs/{job['id']}").json() == job


def test_new_and_select_name_the_media_project_separately(
    client: TestClient[Any], project: str
) -> None:
    new = opened(
        client.post(
            "/api/resolve/open",
            json=open_body("__new__", new_project_name="Edit 2", media_project=project),
        )
    )
    assert new["resolve_project"] == new["new_project_name"] == "Edit 2"
    assert new["project"] == project
    body = open_body("__select__", media_project=project, new_project_name="ignored")
    select = opened(client.post("/api/resolve/open", json=body))
    assert select["resolve_project"] is None
    assert select["new_project_name"] is None
    assert select["source_rel_paths"] == [f"{project}/ingest/originals/clip-a.mp4"]


@pytest.fixture
def outside_link(roots: tuple[Path, Path], project: str, tmp_path: Path) -> str:
    secret = tmp_path / "secret.mp4"
    secret.write_bytes(b"not yours")
    os.symlink(secret, roots[0] / project / "ingest" / "originals" / "link.mp4")
    return "ingest/originals/link.mp4"


BAD_PATHS = [
    ("../P1-Foo/ingest/originals/clip-a.mp4", 400),
    ("ingest/../../etc/passwd", 400),
    ("/etc/passwd", 400),
    ("C:/Windows/win.ini", 400),
    ("ingest\\originals\\clip-a.mp4", 400),
    ("ingest/originals/nope.mp4", 404),
    ("ingest/originals", 404),
    ("", 400),
]


@pytest.mark.parametrize(("path", "status"), BAD_PATHS)
def test_bad_paths_are_refused_and_queue_nothing(
    client: TestClient[Any], project: str, path: str, status: int
) -> None:
    body = open_body(project)
    body["media_rel_paths"] = ["ingest/originals/clip-a.mp4", path]
    response = client.post("/api/resolve/open", json=body)
    assert response.status_code == status, response.text
    assert response.json()["detail"]
    assert total_jobs(client) == 0


def test_a_symlink_out_of_the_project_is_refused(
    client: TestClient[Any], project: str, outside_link: str
) -> None:
    body = open_body(project)
    body["media_rel_paths"] = [outside_link]
    response = client.post("/api/resolve/open", json=body)
    assert response.status_code == 400
    assert "outside" in response.json()["detail"]
    assert total_jobs(client) == 0


BAD_BODIES: list[tuple[dict[str, Any], int, str]] = [
    ({"mode": "delete"}, 400, "mode"),
    ({"mode": None}, 400, "mode"),
    ({"project": "__new__", "media_project": "P1-Foo"}, 400, "new_project_name"),
    ({"project": "__new__", "new_project_name": "X"}, 400, "media_project"),
    ({"project": "__select__"}, 400, "media_project"),
    ({"project": ""}, 400, "project"),
    ({"project": 7}, 400, "project"),
    ({"media_rel_paths": []}, 400, "at least one"),
    ({"media_rel_paths": "ingest/originals/clip-a.mp4"}, 400, "list"),
    ({"media_rel_paths": [3]}, 400, "string"),
    ({"project": "P9-Missing"}, 404, "does not exist"),
    ({"project": "Not-A-Project"}, 404, "not a project"),
    ({"project": "__select__", "media_project": "P9-Missing"}, 404, "does not exist"),
    ({"source": "nas"}, 404, "not registered"),
    ({"idempotency_key": "k" * 201}, 400, "longer"),
]


@pytest.mark.parametrize(("change", "status", "words"), BAD_BODIES)
def test_bad_requests_get_a_clear_4xx(
    client: TestClient[Any], project: str, change: dict[str, Any], status: int, words: str
) -> None:
    body = {**open_body(project), **change}
    response = client.post("/api/resolve/open", json=body)
    assert response.status_code == status, response.text
    assert words in response.json()["detail"]
    assert total_jobs(client) == 0


def test_a_body_that_is_not_an_object_is_400(client: TestClient[Any], project: str) -> None:
    response = client.post("/api/resolve/open", json=[open_body(project)])
    assert response.status_code == 400


def test_a_double_click_makes_one_job(client: TestClient[Any], project: str) -> None:
    body = open_body(project, "clip-a.mp4", "still.jpg")
    click = {"Idempotency-Key": "click-1"}
    first = opened(client.post("/api/resolve/open", json=body, headers=click))
    second = opened(client.post("/api/resolve/open", json=body, headers=click), created=False)
    assert second == first  # the first job, unchanged
    assert first["idempotency_key"] == "click-1"
    in_body = client.post("/api/resolve/open", json={**body, "idempotency_key": "click-1"})
    assert opened(in_body, created=False)["id"] == first["id"]
    assert total_jobs(client) == 1
    other = client.post("/api/resolve/open", json=body, headers={"Idempotency-Key": "click-2"})
    assert opened(other)["id"] != first["id"]
    opened(client.post("/api/resolve/open", json=body))
    assert total_jobs(client) == 3


def test_a_reused_key_for_another_request_is_a_conflict(
    client: TestClient[Any], project: str
) -> None:
    headers = {"Idempotency-Key": "k"}
    opened(client.post("/api/resolve/open", json=open_body(project), headers=headers))
    changed = open_body(project, "still.jpg")
    response = client.post("/api/resolve/open", json=changed, headers=headers)
    assert response.status_code == 409
    assert "another request" in response.json()["detail"]
    assert total_jobs(client) == 1


def test_media_from_another_project_into_a_named_resolve_project(
    client: TestClient[Any], roots: tuple[Path, Path], project: str
) -> None:
    other = project_with_clips(client, roots[0], "Bar")
    body = open_body("Wedding Edit", media_project=other)
    job = opened(client.post("/api/resolve/open", json=body))
    assert (job["resolve_project"], job["project"]) == ("Wedding Edit", other)
    assert job["source_rel_paths"] == [f"{other}/ingest/originals/clip-a.mp4"]

"""The queue over HTTP (in-process client): claims, leases, outcomes, cancel, listing."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.jobs.conftest import acted, open_body, opened, project_with_clips


def open_jobs(client: TestClient[Any], project: str, count: int) -> list[int]:
    ids = []
    for _ in range(count):
        ids.append(opened(client.post("/api/resolve/open", json=open_body(project)))["id"])
    return ids


def claim(client: TestClient[Any], agent: str = "a", limit: int | None = 1) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"claimed_by": agent}
    if limit is not None:
        params["limit"] = limit
    response = client.post("/api/resolve/jobs/next", params=params)
    assert response.status_code == 200, response.text
    claimed: list[dict[str, Any]] = response.json()["jobs"]
    return claimed


def job(client: TestClient[Any], job_id: int) -> dict[str, Any]:
    response = client.get(f"/api/resolve/jobs/{job_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_claims_are_fifo_and_honour_the_limit(client: TestClient[Any], project: str) -> None:
    ids = open_jobs(client, project, 5)
    assert claim(client, limit=0) == [] and claim(client, limit=-3) == []
    assert [j["id"] for j in claim(client, limit=None)] == ids[:1]  # default limit is 1
    first = claim(client, "a", limit=2)
    assert [j["id"] for j in first] == ids[1:3]
    assert {j["status"] for j in first} == {"claimed"}
    assert all(j["claimed_by"] == "a" and j["attempts"] == 1 for j in first)
    assert all(j["lease_expires_at"] > j["claimed_at"] for j in first)
    assert [j["id"] for j in claim(client, "b", limit=50)] == ids[3:]
    assert claim(client, "b", limit=50) == []


def test_complete_stores_per_clip_results(client: TestClient[Any], project: str) -> None:
    (job_id,) = open_jobs(client, project, 1)
    claim(client, "edit-bay")
    results = [
        {"path": "ingest/originals/clip-a.mp4", "local_path": "B:\\x", "status": "imported"},
        {"path": "ingest/originals/clip-b.mov", "status": "skipped", "detail": "already in bin"},
    ]
    response = client.post(
        f"/api/resolve/jobs/{job_id}/complete",
        json={"claimed_by": "edit-bay", "results": results, "bin": project},
    )
    done = acted(response)
    assert done["status"] == "done" and done["finished_at"] and done["lease_expires_at"] is None
    assert done["done_at"] == done["finished_at"] and done["done_at"].endswith("Z")
    assert done["failed_at"] is None and done["error"] is None
    assert done["result"]["results"] == results
    assert done["result"]["summary"] == {"imported": 1, "skipped": 1, "missing": 0, "failed": 0}
    assert done["result"]["bin"] == project
    assert job(client, job_id) == done
    again = client.post(f"/api/resolve/jobs/{job_id}/complete")
    assert again.status_code == 409 and again.json()["job_status"] == "done"


def test_complete_without_a_body_and_bad_results(client: TestClient[Any], project: str) -> None:
    first, second = open_jobs(client, project, 2)
    claim(client, limit=2)
    bad = client.post(
        f"/api/resolve/jobs/{first}/complete", json={"results": [{"path": "x", "status": "ok"}]}
    )
    assert bad.status_code == 400
    assert job(client, first)["status"] == "claimed"
    plain = acted(client.post(f"/api/resolve/jobs/{second}/complete"))
    assert plain["status"] == "done" and plain["done_at"]
    assert plain["result"] is None


@pytest.mark.parametrize("how", ["query", "body"])
def test_fail_takes_the_error_from_query_or_body(
    client: TestClient[Any], project: str, how: str
) -> None:
    (job_id,) = open_jobs(client, project, 1)
    claim(client, "a")
    message = "Resolve is not running: start DaVinci Resolve"
    if how == "query":
        response = client.post(f"/api/resolve/jobs/{job_id}/fail", params={"error": message})
    else:
        response = client.post(
            f"/api/resolve/jobs/{job_id}/fail", json={"claimed_by": "a", "error": message}
        )
    failed = acted(response)
    assert failed["status"] == "failed" and failed["error"] == message
    assert failed["failed_at"] == failed["finished_at"] and failed["failed_at"].endswith("Z")
    assert failed["done_at"] is None
    assert job(client, job_id) == failed
    assert claim(client, "a") == []


def test_only_the_holder_may_act(client: TestClient[Any], project: str) -> None:
    (job_id,) = open_jobs(client, project, 1)
    claim(client, "a")
    for action in ("heartbeat", "complete", "fail", "release"):
        response = client.post(f"/api/resolve/jobs/{job_id}/{action}", params={"claimed_by": "b"})
        assert response.status_code == 409, action
        assert "claimed by 'a', not 'b'" in response.json()["detail"]
    beat = client.post(f"/api/resolve/jobs/{job_id}/heartbeat", params={"claimed_by": "a"})
    assert acted(beat)["status"] == "claimed"


def test_release_returns_the_job_first_in_line(client: TestClient[Any], project: str) -> None:
    first, second = open_jobs(client, project, 2)
    claim(client, "a")
    released = acted(client.post(f"/api/resolve/jobs/{first}/release", params={"claimed_by": "a"}))
    assert released["status"] == "pending"
    assert released["attempts"] == 0 and released["claimed_by"] is None
    assert released["claimed_at"] is None
    assert [j["id"] for j in claim(client, "b")] == [first]
    assert job(client, second)["status"] == "pending"


def test_cancel_while_claimed_stops_the_agent(client: TestClient[Any], project: str) -> None:
    pending, held = open_jobs(client, project, 2)
    assert acted(client.post(f"/api/resolve/jobs/{pending}/cancel"))["status"] == "canceled"
    assert [j["id"] for j in claim(client, "a")] == [held]
    canceled = acted(client.post(f"/api/resolve/jobs/{held}/cancel"))
    assert canceled["status"] == "canceled"
    assert canceled["done_at"] is None and canceled["failed_at"] is None
    beat = client.post(f"/api/resolve/jobs/{held}/heartbeat", params={"claimed_by": "a"})
    assert beat.status_code == 409 and "canceled" in beat.json()["detail"]
    done = client.post(f"/api/resolve/jobs/{held}/complete", json={"claimed_by": "a"})
    assert done.status_code == 409
    assert client.post(f"/api/resolve/jobs/{held}/cancel").status_code == 409
    assert job(client, pending)["status"] == "canceled"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/resolve/jobs/99"),
        ("POST", "/api/resolve/jobs/99/heartbeat"),
        ("POST", "/api/resolve/jobs/99/complete"),
        ("POST", "/api/resolve/jobs/99/fail"),
        ("POST", "/api/resolve/jobs/99/release"),
        ("POST", "/api/resolve/jobs/99/cancel"),
    ],
)
def test_unknown_jobs_are_404(client: TestClient[Any], method: str, path: str) -> None:
    response = client.request(method, path)
    assert response.status_code == 404
    assert response.json()["error"] == "JobNotFound"


def test_listing_is_newest_first_and_filters(client: TestClient[Any], project: str) -> None:
    ids = open_jobs(client, project, 4)
    claim(client, "a", limit=1)
    acted(client.post(f"/api/resolve/jobs/{ids[3]}/cancel"))
    listing = client.get("/api/resolve/jobs").json()
    assert [j["id"] for j in listing["jobs"]] == ids[::-1] and listing["total"] == 4
    pending = client.get("/api/resolve/jobs", params={"status": "pending"}).json()
    assert [j["id"] for j in pending["jobs"]] == [ids[2], ids[1]] and pending["total"] == 2
    both = client.get("/api/resolve/jobs", params={"status": "claimed,canceled"}).json()
    assert {j["id"] for j in both["jobs"]} == {ids[0], ids[3]}
    page = client.get("/api/resolve/jobs", params={"limit": 2, "offset": 1}).json()
    assert [j["id"] for j in page["jobs"]] == [ids[2], ids[1]] and page["total"] == 4
    assert client.get("/api/resolve/jobs", params={"status": "lost"}).status_code == 400
    assert client.get("/api/resolve/jobs", params={"limit": -1}).status_code == 400


def test_an_expired_lease_returns_the_job_then_fails_it(
    short_lease_client: TestClient[Any], roots: tuple[Path, Path]
) -> None:
    client = short_lease_client  # lease 0.5 s, two attempts
    project = project_with_clips(client, roots[0])
    (job_id,) = open_jobs(client, project, 1)
    assert claim(client, "a")[0]["attempts"] == 1
    time.sleep(0.7)
    back = job(client, job_id)
    assert back["status"] == "pending" and back["attempts"] == 1 and back["claimed_by"] is None
    late = client.post(f"/api/resolve/jobs/{job_id}/heartbeat", params={"claimed_by": "a"})
    assert late.status_code == 409
    assert claim(client, "b")[0]["attempts"] == 2
    time.sleep(0.7)
    assert claim(client, "c") == []
    failed = job(client, job_id)
    assert failed["status"] == "failed" and failed["attempts"] == 2
    assert failed["failed_at"] and failed["done_at"] is None
    assert "lease expired 2 times" in failed["error"] and "'b'" in failed["error"]


def test_heartbeats_keep_a_claim_past_its_lease(
    short_lease_client: TestClient[Any], roots: tuple[Path, Path]
) -> None:
    client = short_lease_client
    project = project_with_clips(client, roots[0])
    (job_id,) = open_jobs(client, project, 1)
    claim(client, "a")
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        beat = client.post(f"/api/resolve/jobs/{job_id}/heartbeat", params={"claimed_by": "a"})
        assert acted(beat)["status"] == "claimed"
        time.sleep(0.15)
    assert claim(client, "b") == []
    assert job(client, job_id)["status"] == "claimed"
    done = acted(client.post(f"/api/resolve/jobs/{job_id}/complete", params={"claimed_by": "a"}))
    assert done["status"] == "done" and done["attempts"] == 1 and done["done_at"]

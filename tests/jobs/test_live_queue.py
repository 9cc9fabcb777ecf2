"""The queue on a real `media-sync serve` process: restarts keep jobs, racing agents never share."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.jobs.conftest import CLIPS, acted, open_body, opened, project_with_clips
from tests.support.server import LiveServer, serving

pytestmark = pytest.mark.e2e


def test_jobs_survive_a_server_restart(roots: tuple[Path, Path]) -> None:
    with serving(*roots, args=["--no-watch"]) as server, server.client() as http:
        project = project_with_clips(http, server.root)
        ids = [
            opened(http.post("/api/resolve/open", json=open_body(project, clip)))["id"]
            for clip in CLIPS
        ]
        held = http.post("/api/resolve/jobs/next", params={"claimed_by": "a"}).json()["jobs"]
        assert [j["id"] for j in held] == ids[:1]
    with serving(*roots, args=["--no-watch"]) as server, server.client() as http:
        listing = http.get("/api/resolve/jobs").json()
        assert [j["id"] for j in listing["jobs"]] == ids[::-1]
        statuses = {j["id"]: j["status"] for j in listing["jobs"]}
        assert statuses == {ids[0]: "claimed", ids[1]: "pending", ids[2]: "pending"}
        survivor = http.get(f"/api/resolve/jobs/{ids[0]}").json()
        assert survivor["lease_expires_at"] == held[0]["lease_expires_at"]
        beat = http.post(f"/api/resolve/jobs/{ids[0]}/heartbeat", params={"claimed_by": "a"})
        assert acted(beat)["claimed_by"] == "a"
        nxt = http.post("/api/resolve/jobs/next", params={"claimed_by": "b", "limit": 5})
        assert [j["id"] for j in nxt.json()["jobs"]] == ids[1:]


def test_racing_agents_never_claim_the_same_job(live_server: LiveServer) -> None:
    with live_server.client() as http:
        project = project_with_clips(http, live_server.root)
        ids = {
            opened(http.post("/api/resolve/open", json=open_body(project)))["id"] for _ in range(24)
        }
    claims: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def agent(name: str) -> None:
        mine: list[int] = []
        try:
            with live_server.client() as http:
                while True:
                    response = http.post(
                        "/api/resolve/jobs/next", params={"claimed_by": name, "limit": 2}
                    )
                    response.raise_for_status()
                    jobs: list[dict[str, Any]] = response.json()["jobs"]
                    if not jobs:
                        break
                    assert all(j["claimed_by"] == name for j in jobs)
                    mine.extend(j["id"] for j in jobs)
        except (httpx.HTTPError, AssertionError) as exc:
            errors.append(exc)
        claims[name] = mine

    threads = [threading.Thread(target=agent, args=(f"agent-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    everything = [job_id for mine in claims.values() for job_id in mine]
    assert sorted(everything) == sorted(ids)  # each job exactly once
    for mine in claims.values():
        assert mine == sorted(mine)  # FIFO from each agent's point of view

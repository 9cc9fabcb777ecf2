"""End to end: the real resolve-agent process draining a real server's queue over HTTP.

Only Resolve's `scriptapp` object is replaced (by the agent tests' in-memory fake); the agent,
its HTTP polling, heartbeats, leases and the server are all real processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.jobs.conftest import CLIPS, open_body, opened
from tests.jobs.test_live_queue import live_project
from tests.support.server import REPO, LiveServer, serving

pytestmark = pytest.mark.e2e

FAKE = "tests.resolve_agent.fake_resolve:scriptapp"
SLOW = "tests.resolve_agent.fake_resolve:slow_scriptapp"
STUCK = "tests.jobs.stuck_resolve:scriptapp"
LEASE = 1.5


@pytest.fixture
def server(roots: tuple[Path, Path]) -> Iterator[LiveServer]:
    env = {"MEDIA_SYNC_RESOLVE_LEASE_SECONDS": str(LEASE), "MEDIA_SYNC_RESOLVE_MAX_ATTEMPTS": "3"}
    with serving(*roots, args=["--no-watch"], env=env) as live:
        yield live


def start_agent(
    server: LiveServer,
    name: str,
    factory: str,
    *,
    once: bool,
    log: Path,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """`media-sync resolve-agent` as a subprocess, with the test tree importable."""
    cmd = [sys.executable, "-m", "ingress.cli", "resolve-agent", "--server", server.url]
    cmd += ["--name", name, "--map", f"primary={server.root}", "--adapter-factory", factory]
    if once:
        cmd.append("--once")
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    with open(log, "wb") as handle:
        return subprocess.Popen(
            cmd, cwd=REPO, env=full_env, stdout=handle, stderr=subprocess.STDOUT
        )


def wait_for(
    predicate: Callable[[], dict[str, Any] | None], timeout: float, what: str
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value is not None:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def job_in(server: LiveServer, job_id: int, *statuses: str) -> Callable[[], dict[str, Any] | None]:
    def check() -> dict[str, Any] | None:
        with server.client() as http:
            job: dict[str, Any] = http.get(f"/api/resolve/jobs/{job_id}").json()
        return job if job["status"] in statuses else None

    return check


def run_once(server: LiveServer, name: str, log: Path) -> None:
    agent = start_agent(server, name, FAKE, once=True, log=log)
    try:
        code = agent.wait(60)
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait(5)
    assert code == 0, log.read_text(errors="replace")


def test_a_job_opened_over_http_is_imported_by_the_agent(
    server: LiveServer, tmp_path: Path
) -> None:
    project = live_project(server)
    originals = server.root / project / "ingest" / "originals"
    with server.client() as http:
        response = http.post("/api/resolve/open", json=open_body(project, CLIPS[0], CLIPS[2]))
        job_id = opened(response)["id"]
    (originals / CLIPS[0]).rename(originals / "renamed.mp4")  # gone between open and import
    run_once(server, "edit-bay", tmp_path / "agent.log")
    job = wait_for(job_in(server, job_id, "done", "failed"), 30, "the job to finish")
    assert job["status"] == "done", job
    assert job["done_at"] and job["failed_at"] is None
    assert job["claimed_by"] == "edit-bay" and job["attempts"] == 1
    results = {r["path"]: r for r in job["result"]["results"]}
    assert results[f"ingest/originals/{CLIPS[2]}"]["status"] == "imported"
    assert results[f"ingest/originals/{CLIPS[0]}"]["status"] == "missing"

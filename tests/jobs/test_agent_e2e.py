"""End to end: the real resolve-agent process draining a real server's queue over HTTP.

Only Resolve's `scriptapp` object is replaced (by the agent tests' in-memory fake); the agent,
its HTTP polling, heartbeats, leases and the server are all real processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.jobs.conftest import CLIPS, open_body, opened, project_with_clips
from tests.support.server import REPO, LiveServer, serving

pytestmark = pytest.mark.e2e

FAKE = "tests.resolve_agent.fake_resolve:scriptapp"
LEASE = 1.5


@pytest.fixture
def server(roots: tuple[Path, Path]) -> Iterator[LiveServer]:
    env = {"MEDIA_SYNC_RESOLVE_LEASE_SECONDS": str(LEASE), "MEDIA_SYNC_RESOLVE_MAX_ATTEMPTS": "3"}
    with serving(*roots, args=["--no-watch"], env=env) as live:
        yield live


def run_once(server: LiveServer, name: str, log: Path) -> None:
    """One `--once` pass of `media-sync resolve-agent` (Resolve faked), the test tree importable."""
    cmd = [sys.executable, "-m", "ingress.cli", "resolve-agent", "--server", server.url, "--once"]
    cmd += ["--name", name, "--map", f"primary={server.root}", "--adapter-factory", FAKE]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with open(log, "wb") as handle:
        done = subprocess.run(
            cmd, cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT, timeout=60
        )
    assert done.returncode == 0, log.read_text(errors="replace")


def test_a_job_opened_over_http_is_imported_by_the_agent(
    server: LiveServer, tmp_path: Path
) -> None:
    with server.client() as http:
        project = project_with_clips(http, server.root)
        response = http.post("/api/resolve/open", json=open_body(project, CLIPS[0], CLIPS[2]))
        job_id = opened(response)["id"]
    originals = server.root / project / "ingest" / "originals"
    (originals / CLIPS[0]).rename(originals / "renamed.mp4")  # gone between open and import
    run_once(server, "edit-bay", tmp_path / "agent.log")
    with server.client() as http:  # the agent reported before it exited
        job = http.get(f"/api/resolve/jobs/{job_id}").json()
    assert job["status"] == "done", job
    assert job["done_at"] and job["failed_at"] is None
    assert job["claimed_by"] == "edit-bay" and job["attempts"] == 1
    results = {r["path"]: r for r in job["result"]["results"]}
    assert results[f"ingest/originals/{CLIPS[2]}"]["status"] == "imported"
    assert results[f"ingest/originals/{CLIPS[0]}"]["status"] == "missing"

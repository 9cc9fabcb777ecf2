"""The resolve-agent drains a token-protected server with `--token` (or MEDIA_SYNC_API_TOKEN)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.security.conftest import API_TOKEN, BEARER, READ_TOKEN
from tests.support.api import create_project
from tests.support.server import REPO, LiveServer

pytestmark = pytest.mark.e2e


def open_job(server: LiveServer, project: str) -> int:
    with server.client(headers=BEARER) as client:
        answer = client.post(
            "/api/resolve/open",
            json={"project": project, "media_rel_paths": ["ingest/originals/clip.mp4"]},
        )
    assert answer.status_code == 200, answer.text
    job_id: int = answer.json()["job_id"]
    return job_id


def job(server: LiveServer, job_id: int) -> dict[str, Any]:
    with server.client(headers=BEARER) as client:
        found: dict[str, Any] = client.get(f"/api/resolve/jobs/{job_id}").json()
    return found


def run_agent(
    server: LiveServer, args: list[str], env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """One `--once` pass of the real agent process, Resolve faked by the test's factory."""
    cmd = [sys.executable, "-m", "daemon.resolve_agent.agent", "--server", server.url, "--once"]
    cmd += ["--map", f"primary={server.root}", "--name", "bay-9", "--poll-seconds", "0.1"]
    cmd += ["--adapter-factory", "tests.resolve_agent.fake_resolve:scriptapp", *args]
    clean = {k: v for k, v in os.environ.items() if k != "MEDIA_SYNC_API_TOKEN"}
    return subprocess.run(
        cmd,
        cwd=REPO,
        env={**clean, "PYTHONPATH": str(REPO), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def project(token_server: LiveServer) -> str:
    with token_server.client(headers=BEARER) as client:
        name = create_project(client, "Edit")
    clip = token_server.root / name / "ingest" / "originals" / "clip.mp4"
    clip.write_bytes(b"not really a video" * 10)
    return name


def test_the_agent_needs_the_token_and_drains_with_it(
    token_server: LiveServer, project: str, tmp_path: Path
) -> None:
    first = open_job(token_server, project)
    refused = run_agent(token_server, [], {})
    assert refused.returncode == 1, refused.stderr
    assert "--token or $MEDIA_SYNC_API_TOKEN" in refused.stderr, refused.stderr
    reader = run_agent(token_server, ["--token", READ_TOKEN], {})
    assert reader.returncode == 1 and "read-only" in reader.stderr, reader.stderr
    assert job(token_server, first)["status"] == "pending"

    done = run_agent(token_server, ["--token", API_TOKEN], {})
    assert done.returncode == 0, done.stderr
    finished = job(token_server, first)
    assert finished["status"] == "done" and finished["claimed_by"] == "bay-9", finished
    assert [r["status"] for r in finished["result"]["results"]] == ["imported"]

    second = open_job(token_server, project)  # the token from the environment, off `ps`
    from_env = run_agent(token_server, [], {"MEDIA_SYNC_API_TOKEN": API_TOKEN})
    assert from_env.returncode == 0, from_env.stderr
    assert job(token_server, second)["status"] == "done"

"""The resolve-agent against a real `media-sync serve` subprocess; only Resolve is a fake."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from daemon.resolve_agent.adapter import NOT_RUNNING
from daemon.resolve_agent.agent import Agent, AgentConfig
from tests.resolve_agent import fake_resolve
from tests.support.server import REPO, LiveServer, serving

pytestmark = pytest.mark.e2e

CLIPS = ("a.mp4", "b.mov", "c.jpg")
LEASE = 1.0


@pytest.fixture
def server(roots: tuple[Path, Path]) -> Iterator[LiveServer]:
    env = {"MEDIA_SYNC_RESOLVE_LEASE_SECONDS": str(LEASE), "MEDIA_SYNC_RESOLVE_MAX_ATTEMPTS": "3"}
    with serving(*roots, args=["--no-watch"], env=env) as live:
        yield live


@pytest.fixture
def project(server: LiveServer) -> str:
    with server.client() as http:
        response = http.post("/api/projects", json={"name": "Foo"})
        assert response.status_code == 201, response.text  # the original answers 201
        folder: str = response.json()["name"]
    for clip in CLIPS:
        (server.root / folder / "ingest" / "originals" / clip).write_bytes(clip.encode() * 100)
    return folder


def open_job(server: LiveServer, project: str, *clips: str) -> int:
    paths = [f"ingest/originals/{clip}" for clip in clips]
    with server.client() as http:
        response = http.post(
            "/api/resolve/open", json={"project": project, "media_rel_paths": paths}
        )
    assert response.status_code == 200, response.text  # the contract: {ok: true, job_id}
    body = response.json()
    assert body["ok"] is True and body["job"]["id"] == body["job_id"], body
    job_id: int = body["job_id"]
    return job_id


def job(server: LiveServer, job_id: int) -> dict[str, Any]:
    with server.client() as http:
        found: dict[str, Any] = http.get(f"/api/resolve/jobs/{job_id}").json()
    return found


def wait_status(
    server: LiveServer, job_id: int, *statuses: str, timeout: float = 20
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = job(server, job_id)
        if found["status"] in statuses:
            return found
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never became {statuses}: {job(server, job_id)}")


def agent(server: LiveServer, **kwargs: Any) -> Agent:
    config = AgentConfig(server.url, "bay-1", [("primary", str(server.root))], 0.5, once=True)
    return Agent(config, **kwargs)


def statuses(found: dict[str, Any]) -> dict[str, str]:
    return {r["path"].rsplit("/", 1)[-1]: r["status"] for r in found["result"]["results"]}


def test_import_then_skip_then_missing_then_resolve_closed(
    server: LiveServer, project: str
) -> None:
    resolve = fake_resolve.Resolve()
    first = open_job(server, project, "a.mp4", "b.mov")
    assert agent(server, scriptapp=lambda _app: resolve).run() == 0
    done = job(server, first)
    assert done["status"] == "done" and done["claimed_by"] == "bay-1", done
    assert done["done_at"] is not None and done["failed_at"] is None, done
    assert statuses(done) == {"a.mp4": "imported", "b.mov": "imported"}
    originals = server.root / project / "ingest" / "originals"
    local = {r["local_path"] for r in done["result"]["results"]}
    assert local == {str(originals / "a.mp4"), str(originals / "b.mov")}
    folder = resolve.bin(project, project)  # a Resolve project and a bin named after P1-Foo
    assert folder is not None and {c.path for c in folder.GetClipList()} == local

    second = open_job(server, project, "a.mp4", "b.mov", "c.jpg")
    (originals / "c.jpg").unlink()
    agent(server, scriptapp=lambda _app: resolve).run()
    again = job(server, second)
    assert statuses(again) == {"a.mp4": "skipped", "b.mov": "skipped", "c.jpg": "missing"}
    assert again["result"]["summary"] == {"imported": 0, "skipped": 2, "missing": 1, "failed": 0}
    assert len(folder.GetClipList()) == 2

    third = open_job(server, project, "a.mp4")  # Resolve closed: failed, saying how to fix it
    agent(server, scriptapp=fake_resolve.not_running).run()
    failed = job(server, third)
    assert failed["status"] == "failed" and failed["error"] == NOT_RUNNING
    assert failed["failed_at"] is not None and failed["done_at"] is None, failed


def test_cancel_while_claimed_drops_the_job_unreported(server: LiveServer, project: str) -> None:
    resolve = fake_resolve.Resolve()

    def slow(app: str) -> fake_resolve.Resolve:
        time.sleep(LEASE * 2)  # long enough for a heartbeat to meet the cancel
        return resolve

    job_id = open_job(server, project, "a.mp4")
    running = threading.Thread(target=agent(server, scriptapp=slow).run, name="agent-under-test")
    running.start()
    try:
        wait_status(server, job_id, "claimed")
        with server.client() as http:
            assert http.post(f"/api/resolve/jobs/{job_id}/cancel").status_code == 200
    finally:
        running.join(15)
    assert not running.is_alive()
    canceled = job(server, job_id)
    assert canceled["status"] == "canceled" and canceled["result"] is None
    assert set(resolve.project_manager.projects) == {"Untitled Project"}  # nothing imported


def start_agent(
    server: LiveServer, factory: str, log: Path, slow: float = 2
) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "daemon.resolve_agent.agent",
        "--server",
        server.url,
        "--name",
        "bay-2",
    ]
    cmd += ["--map", f"primary={server.root}", "--adapter-factory", factory]
    env = {**os.environ, "PYTHONPATH": str(REPO), "FAKE_RESOLVE_SLOW_SECONDS": str(slow)}
    with open(log, "wb") as handle:
        return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT)


def finish(process: subprocess.Popen[bytes], timeout: float = 10) -> int:
    try:
        return process.wait(timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)


def test_sigint_releases_a_job_not_started_and_exits_0(
    server: LiveServer, project: str, tmp_path: Path
) -> None:
    job_id = open_job(server, project, "a.mp4")
    log = tmp_path / "agent.log"
    process = start_agent(server, "tests.resolve_agent.fake_resolve:slow_scriptapp", log)
    wait_status(server, job_id, "claimed")
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    assert finish(process) == 0, log.read_text()
    back = job(server, job_id)
    assert back["status"] == "pending" and back["attempts"] == 0 and back["claimed_by"] is None
    assert "released" in log.read_text()


def test_an_idle_agent_exits_0_on_sigterm(server: LiveServer, tmp_path: Path) -> None:
    log = tmp_path / "agent.log"
    process = start_agent(server, "tests.resolve_agent.fake_resolve:scriptapp", log)
    deadline = time.monotonic() + 20
    while "waiting for jobs" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    assert finish(process) == 0, log.read_text()
    assert "stopped" in log.read_text()


def test_a_killed_agents_job_comes_back_and_is_finished(
    server: LiveServer, project: str, tmp_path: Path
) -> None:
    job_id = open_job(server, project, *CLIPS)
    log = tmp_path / "agent.log"
    process = start_agent(server, "tests.resolve_agent.fake_resolve:slow_scriptapp", log, slow=60)
    try:
        wait_status(server, job_id, "claimed")
        time.sleep(LEASE * 1.5)  # heartbeats hold the claim while the agent lives
        assert job(server, job_id)["status"] == "claimed", log.read_text()
    finally:
        process.send_signal(signal.SIGKILL)
        finish(process)
    back = wait_status(server, job_id, "pending", timeout=LEASE * 5)
    assert back["attempts"] == 1
    agent(server, scriptapp=lambda _a: fake_resolve.Resolve()).run()
    done = job(server, job_id)
    assert done["status"] == "done" and done["attempts"] == 2 and done["claimed_by"] == "bay-1"
    assert set(statuses(done).values()) == {"imported"}


def test_the_agent_imports_only_the_standard_library() -> None:
    """Every module the agent loads (beyond what Python itself loaded first) is the standard
    library's or the agent's own: a workstation runs it from ``pip install --no-deps``."""
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import daemon.resolve_agent.cli\n"
        "loaded = set(sys.modules) - before\n"
        "foreign = [m for m in loaded if m.partition('.')[0] not in sys.stdlib_module_names\n"
        "           and m != 'daemon' and not m.startswith('daemon.resolve_agent')]\n"
        "print(','.join(sorted(foreign)))\n"
        "print(','.join(sorted(m for m in loaded if m.startswith('daemon.resolve_agent.'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    foreign, own = out.stdout.splitlines()
    assert foreign == ""
    package = REPO / "daemon" / "resolve_agent"
    modules = {f"daemon.resolve_agent.{p.stem}" for p in package.glob("*.py")}
    assert set(own.split(",")) == modules - {
        "daemon.resolve_agent.__init__",
        "daemon.resolve_agent.__main__",
    }


@pytest.mark.parametrize(
    "command",
    [
        ["ingress.cli", "resolve-agent"],  # `media-sync resolve-agent`
        ["daemon.resolve_agent"],
        ["daemon.resolve_agent.agent"],
    ],
    ids=["media-sync", "package", "agent-module"],
)
def test_help_lists_the_options(command: list[str]) -> None:
    out = subprocess.run(
        [sys.executable, "-m", *command, "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.startswith("usage: media-sync resolve-agent"), out.stdout
    for option in ("--server", "--name", "--map", "--poll-seconds", "--once"):
        assert option in out.stdout
    assert "--adapter-factory" not in out.stdout

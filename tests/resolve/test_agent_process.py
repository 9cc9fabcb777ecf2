"""The agent as a real process: `python -m daemon.resolve.agent`, signals, a killed agent, imports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from daemon.resolve.reveal import run_detached
from tests.resolve.conftest import wait_for
from tests.resolve.fake_resolve import Resolve
from tests.resolve.jobserver import JobServer, running_server
from tests.resolve.test_agent import ORIG, make_agent

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("peewee", "litestar", "PIL", "av", "blake3", "watchdog", "httpx", "uvicorn")


@contextmanager
def agent_process(
    server: JobServer, root: Path, factory: str, slow: float = 0.0
) -> Iterator[subprocess.Popen[bytes]]:
    argv = [sys.executable, "-m", "daemon.resolve.agent", "--server", server.url]
    argv += ["--name", "ws-proc", "--map", f"primary={root}", "--poll-seconds", "0.1"]
    argv += ["--adapter-factory", f"tests.resolve.fake_resolve:{factory}"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "FAKE_RESOLVE_SLOW_SECONDS": str(slow)}
    process = subprocess.Popen(argv, cwd=REPO, env=env, stderr=subprocess.PIPE)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        assert process.stderr is not None
        process.stderr.close()


def test_sigint_with_a_job_in_hand_releases_it_and_exits_0(source_root: Path) -> None:
    with running_server(lease_seconds=5) as server:
        job_id = server.add_job("P1-Foo", [f"{ORIG}/a.mp4"])
        with agent_process(server, source_root, "slow_scriptapp", slow=1.5) as process:
            wait_for(lambda: server.job(job_id)["status"] == "claimed", 15, "the claim")
            process.send_signal(signal.SIGINT)
            assert process.wait(15) == 0
            assert process.stderr is not None
            log = process.stderr.read().decode()
        job = server.job(job_id)
        assert job["status"] == "pending" and job["claimed_by"] is None, job
        assert job["attempts"] == 0  # a release gives the attempt back
        assert server.count(f"/jobs/{job_id}/release", 200) == 1
        assert "released" in log


def test_sigterm_while_idle_exits_0_promptly(source_root: Path) -> None:
    with running_server() as server, agent_process(server, source_root, "scriptapp") as process:
        wait_for(lambda: server.count("/jobs/next") >= 2, 15, "polling")
        process.send_signal(signal.SIGTERM)
        assert process.wait(5) == 0


def test_a_killed_agents_job_comes_back_after_its_lease(source_root: Path) -> None:
    with running_server(lease_seconds=1.0) as server:
        job_id = server.add_job("P1-Foo", [f"{ORIG}/a.mp4"])
        with agent_process(server, source_root, "slow_scriptapp", slow=60) as process:
            wait_for(lambda: server.job(job_id)["status"] == "claimed", 15, "the claim")
            process.kill()
            process.wait(10)
        wait_for(lambda: server.job(job_id)["status"] == "pending", 5, "the lease to expire")
        assert server.job(job_id)["attempts"] == 1
        assert make_agent(server.url, source_root, Resolve(), once=True).run() == 0
        job = server.job(job_id)
        assert job["status"] == "done" and job["attempts"] == 2 and job["claimed_by"] == "ws1"


def test_the_agent_imports_none_of_the_servers_dependencies() -> None:
    code = "import json, sys, daemon.resolve.agent; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, check=True, timeout=30
    ).stdout
    loaded = {name.split(".")[0] for name in json.loads(out)}
    assert "daemon" in loaded
    assert not loaded & set(HEAVY), loaded & set(HEAVY)
    daemon_modules = {n for n in json.loads(out) if n.startswith("daemon.")}
    assert daemon_modules <= {
        "daemon.errors",
        "daemon.resolve",
        "daemon.resolve.adapter",
        "daemon.resolve.agent",
        "daemon.resolve.pathmap",
        "daemon.resolve.reveal",
    }, daemon_modules


def test_run_detached_really_runs_a_harmless_command(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    run_detached([sys.executable, "-c", f"open({str(marker)!r}, 'w').write('yes')"])
    assert marker.read_text() == "yes"

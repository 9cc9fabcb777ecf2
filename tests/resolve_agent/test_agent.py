"""The agent in-process against a real HTTP job server and the fake Resolve scripting object."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from daemon.resolve_agent.adapter import NOT_RUNNING
from daemon.resolve_agent.agent import Agent, AgentConfig
from daemon.resolve_agent.cli import main
from tests.resolve_agent.conftest import agent_thread, wait_for
from tests.resolve_agent.fake_resolve import Resolve, not_running
from tests.resolve_agent.jobserver import JobServer, running_server

ORIG = "ingest/originals"


def make_agent(server_url: str, root: Path, resolve: Resolve | None = None, **kw: object) -> Agent:
    config = AgentConfig(
        server=server_url,
        name=str(kw.pop("name", "ws1")),
        mappings=[("primary", str(root))],
        poll_seconds=float(kw.pop("poll_seconds", 0.1)),  # type: ignore[arg-type]
        once=bool(kw.pop("once", False)),
    )
    scriptapp = kw.pop("scriptapp", None) or (lambda app: resolve if app == "Resolve" else None)
    return Agent(config, scriptapp=scriptapp, **kw)  # type: ignore[arg-type]


def statuses(job: dict[str, object]) -> list[tuple[str, str]]:
    result = job["result"]
    assert isinstance(result, dict)
    return [(r["path"], r["status"]) for r in result["results"]]


def test_import_end_to_end_then_skip_what_is_in_the_bin(
    server: JobServer, source_root: Path
) -> None:
    resolve = Resolve()
    first = server.add_job(
        "P1-Foo",
        [f"{ORIG}/a.mp4", f"{ORIG}/b.mov", f"{ORIG}/gone.mp4"],
        resolve_project="Client Cut",
    )
    assert make_agent(server.url, source_root, resolve, once=True).run() == 0
    job = server.job(first)
    assert job["status"] == "done", job
    assert statuses(job) == [
        (f"{ORIG}/a.mp4", "imported"),
        (f"{ORIG}/b.mov", "imported"),
        (f"{ORIG}/gone.mp4", "missing"),
    ]
    local = job["result"]["results"][0]["local_path"]
    assert local == str(source_root / "P1-Foo" / "ingest" / "originals" / "a.mp4")
    clips = resolve.bin("Client Cut", "P1-Foo")
    assert clips is not None
    assert [c.GetName() for c in clips.GetClipList()] == ["a.mp4", "b.mov"]

    second = server.add_job(
        "P1-Foo", [f"{ORIG}/a.mp4", f"{ORIG}/c.jpg"], resolve_project="Client Cut"
    )
    assert make_agent(server.url, source_root, resolve, once=True).run() == 0
    assert statuses(server.job(second)) == [
        (f"{ORIG}/a.mp4", "skipped"),
        (f"{ORIG}/c.jpg", "imported"),
    ]
    assert [c.GetName() for c in clips.GetClipList()] == ["a.mp4", "b.mov", "c.jpg"]
    assert server.count("/heartbeat", 409) == 0


def test_resolve_not_running_fails_the_job_with_the_fix(
    server: JobServer, source_root: Path
) -> None:
    job_id = server.add_job("P1-Foo", [f"{ORIG}/a.mp4"])
    assert make_agent(server.url, source_root, scriptapp=not_running, once=True).run() == 0
    job = server.job(job_id)
    assert job["status"] == "failed"
    assert job["error"] == NOT_RUNNING
    assert "not running or external scripting is disabled" in job["error"]


def test_unmapped_source_fails_naming_the_mapped_ones(server: JobServer, source_root: Path) -> None:
    job_id = server.add_job("P1-Foo", [f"{ORIG}/a.mp4"], source="archive")
    assert make_agent(server.url, source_root, Resolve(), once=True).run() == 0
    job = server.job(job_id)
    assert job["status"] == "failed"
    assert "'archive' is not mapped" in job["error"] and "primary" in job["error"]


def test_refused_results_fail_the_job_instead_of_looping(
    server: JobServer, source_root: Path
) -> None:
    server.refusals["complete"] = (400, "result status must be one of imported, skipped")
    job_id = server.add_job("P1-Foo", [f"{ORIG}/a.mp4"])
    assert make_agent(server.url, source_root, Resolve(), once=True).run() == 0
    job = server.job(job_id)
    assert job["status"] == "failed"
    assert "refused the agent's results" in job["error"] and "result status" in job["error"]
    assert server.count(f"/jobs/{job_id}/complete", 400) == 1


def test_reveal_job_opens_the_file_manager_at_the_file(
    server: JobServer, source_root: Path
) -> None:
    calls: list[list[str]] = []
    job_id = server.add_job("P1-Foo", [f"{ORIG}/b.mov"], mode="reveal_in_explorer")
    agent = make_agent(server.url, source_root, Resolve(), once=True, runner=calls.append)
    assert agent.run() == 0
    assert statuses(server.job(job_id)) == [(f"{ORIG}/b.mov", "skipped")]
    assert calls == [["xdg-open", str(source_root / "P1-Foo" / "ingest" / "originals")]]


def test_unavailable_server_is_polled_with_bounded_back_off_then_work_resumes(
    server: JobServer, source_root: Path
) -> None:
    server.unavailable = True
    agent = make_agent(server.url, source_root, Resolve())
    with agent_thread(agent) as thread:
        time.sleep(3.0)
        polls = server.count("/jobs/next", 503)
        # 0.1 s doubling with 0.5..1 jitter: at most 7 tries fit in 3 s; a busy loop makes hundreds.
        assert 3 <= polls <= 8, polls
        assert thread.is_alive()
        server.unavailable = False
        job_id = server.add_job("P1-Foo", [f"{ORIG}/a.mp4"])
        wait_for(lambda: server.job(job_id)["status"] == "done", 12, "the job after recovery")


def test_idle_polling_backs_off(server: JobServer, source_root: Path) -> None:
    with agent_thread(make_agent(server.url, source_root, Resolve())):
        time.sleep(2.5)
    assert 2 <= server.count("/jobs/next", 200) <= 7


def test_unreachable_server_never_crashes_and_stops_promptly(source_root: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: connections are refused
    with agent_thread(make_agent(f"http://127.0.0.1:{port}", source_root, Resolve())) as thread:
        time.sleep(1.5)
        assert thread.is_alive()


def test_once_with_the_server_down_exits_1(source_root: Path) -> None:
    with running_server() as gone:
        url = gone.url
    assert make_agent(url, source_root, Resolve(), once=True).run() == 1


def test_heartbeats_keep_a_long_import_claimed(source_root: Path) -> None:
    resolve = Resolve(on_import=lambda _paths: time.sleep(1.5))
    with running_server(lease_seconds=0.6) as server:
        job_id = server.add_job("P1-Foo", [f"{ORIG}/a.mp4"])
        assert make_agent(server.url, source_root, resolve, once=True).run() == 0
        job = server.job(job_id)
        assert job["status"] == "done" and job["attempts"] == 1
        assert server.count(f"/jobs/{job_id}/heartbeat", 200) >= 3


def test_cancel_while_claimed_makes_the_agent_drop_the_job(source_root: Path) -> None:
    importing, finish = threading.Event(), threading.Event()

    def slow_import(_paths: list[str]) -> None:
        importing.set()
        finish.wait(10)

    with running_server(lease_seconds=0.6) as server:
        job_id = server.add_job("P1-Foo", [f"{ORIG}/a.mp4"])
        with agent_thread(make_agent(server.url, source_root, Resolve(on_import=slow_import))):
            assert importing.wait(10)
            server.cancel(job_id)
            wait_for(lambda: server.count(f"/jobs/{job_id}/heartbeat", 409) == 1, 5, "a 409")
            finish.set()
            time.sleep(0.5)  # the agent would report now if it were going to
        assert server.job(job_id)["status"] == "canceled"
        assert server.count(f"/jobs/{job_id}/heartbeat", 409) == 1  # it stopped heartbeating
        assert server.count(f"/jobs/{job_id}/complete") + server.count(f"/jobs/{job_id}/fail") == 0


def test_main_once_with_the_hidden_factory(server: JobServer, source_root: Path) -> None:
    job_id = server.add_job("P1-Foo", [f"{ORIG}/a.mp4"], resolve_project="Main Once")
    argv = ["--server", server.url, "--name", "ws-main", "--map", f"PRIMARY={source_root}"]
    argv += ["--once", "--adapter-factory", "tests.resolve_agent.fake_resolve:scriptapp"]
    assert main(argv) == 0
    job = server.job(job_id)
    assert job["status"] == "done" and job["claimed_by"] == "ws-main"


@pytest.mark.parametrize(
    "argv",
    [
        ["--map", "primary=/x"],
        ["--server", "http://x"],
        ["--server", "http://x", "--map", "primary=relative"],
        ["--server", "http://x", "--map", "primary=/a", "--map", "Primary=/b"],
    ],
)
def test_main_refuses_bad_arguments(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2


def test_the_fake_answers_the_contract_shapes(server: JobServer, source_root: Path) -> None:
    job_id = server.add_job("P1-Foo", [f"{ORIG}/a.mp4"])
    assert make_agent(server.url, source_root, Resolve(), once=True).run() == 0
    job = server.job(job_id)
    assert job["status"] == "done" and job["done_at"] and job["failed_at"] is None
    assert job["finished_at"] == job["done_at"]
    assert server.count(f"/jobs/{job_id}/complete", 200) == 1


def test_fail_sends_the_error_in_the_query_and_the_body(
    server: JobServer, source_root: Path
) -> None:
    job_id = server.add_job("P1-Foo", [f"{ORIG}/a.mp4"])
    assert make_agent(server.url, source_root, scriptapp=not_running, once=True).run() == 0
    job = server.job(job_id)
    assert job["status"] == "failed" and job["failed_at"] and job["done_at"] is None
    fails = [path for _, path, _ in server.requests if f"/jobs/{job_id}/fail" in path]
    assert len(fails) == 1 and "error=" in fails[0] and "claimed_by=ws1" in fails[0]


def test_an_original_server_without_leases_or_extras_works(source_root: Path) -> None:
    """Jobs with only the contract's fields: no heartbeat is sent, the folder is the project."""
    resolve = Resolve(on_import=lambda _paths: time.sleep(0.5))
    with running_server(legacy=True) as server:
        job_id = server.add_job("P1-Foo", [f"{ORIG}/a.mp4", f"{ORIG}/b.mov"])
        assert make_agent(server.url, source_root, resolve, once=True).run() == 0
        job = server.job(job_id)
        assert job["status"] == "done", job
        assert statuses(job) == [(f"{ORIG}/a.mp4", "imported"), (f"{ORIG}/b.mov", "imported")]
        assert server.count("/heartbeat") == 0


def test_a_claimed_job_without_an_id_is_nonsense_not_a_crash(
    server: JobServer, source_root: Path
) -> None:
    server.nonsense["next"] = {"jobs": [{"status": "claimed"}]}
    with agent_thread(make_agent(server.url, source_root, Resolve())) as thread:
        wait_for(lambda: server.count("/jobs/next") >= 2, 5, "a second claim")
        assert thread.is_alive()
        del server.nonsense["next"]
        job_id = server.add_job("P1-Foo", [f"{ORIG}/a.mp4"])
        wait_for(lambda: server.job(job_id)["status"] == "done", 12, "the job after nonsense")


def test_open_answers_ok_and_job_id_then_the_agent_runs_it(
    server: JobServer, source_root: Path
) -> None:
    body = json.dumps({"project": "P1-Foo", "media_rel_paths": [f"{ORIG}/c.jpg"]}).encode()
    request = urllib.request.Request(f"{server.url}/api/resolve/open", body, method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
        opened = json.loads(response.read())
    assert opened["ok"] is True and opened["job"]["id"] == opened["job_id"]
    assert isinstance(opened["instructions"], str) and opened["instructions"]
    assert make_agent(server.url, source_root, Resolve(), once=True).run() == 0
    assert statuses(server.job(opened["job_id"])) == [(f"{ORIG}/c.jpg", "imported")]

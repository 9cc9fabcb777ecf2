"""Resolve proxies on the agent's side: each clip a job names a proxy for is linked with
``LinkProxyMedia`` (through the fake Resolve), and the job's results say how it went."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from daemon.errors import InvalidInput
from daemon.jobs.requests import parse_result
from daemon.resolve_agent.adapter import ResolveAdapter
from daemon.resolve_agent.agent import Agent, AgentConfig
from daemon.resolve_agent.runner import JobRunner
from tests.factories import make_video
from tests.resolve_agent import fake_resolve
from tests.support.api import upload
from tests.support.server import LiveServer, serving
from tests.support.waiting import wait_until


def clips(folder: Path, *names: str) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        (folder / name).write_bytes(name.encode() * 10)
        paths.append(str(folder / name))
    return paths


def test_imported_and_skipped_clips_are_linked_to_their_proxies(tmp_path: Path) -> None:
    resolve = fake_resolve.Resolve()
    a, b, c = clips(tmp_path / "originals", "a.mov", "b.mov", "c.jpg")
    pa, pb = clips(tmp_path / "proxies", "a-proxy.mov", "b-proxy.mov")
    adapter = ResolveAdapter(lambda app: resolve)
    adapter.open_or_create_project("P1-Foo")
    first = adapter.import_media("P1-Foo", [a, b, c], [pa, None, None])
    assert [(r.status, r.proxy) for r in first] == [
        ("imported", "linked"),
        ("imported", ""),
        ("imported", ""),
    ]
    folder = resolve.bin("P1-Foo", "P1-Foo")
    assert folder is not None
    items = {item.path: item for item in folder.GetClipList()}
    assert (items[a].proxy, items[a].link_calls) == (pa, [pa])
    assert items[b].link_calls == [] and items[c].link_calls == []

    # b's proxy was made later: the next job links it to the clip already in the bin
    gone = str(tmp_path / "proxies" / "gone.mov")
    second = adapter.import_media("P1-Foo", [b, c], [pb, gone])
    assert [(r.status, r.proxy) for r in second] == [("skipped", "linked"), ("skipped", "missing")]
    assert items[b].GetClipProperty("Proxy Media Path") == pb
    assert items[c].link_calls == []  # a proxy not on this workstation is never offered


def test_a_proxy_resolve_refuses_is_reported_failed(tmp_path: Path) -> None:
    resolve = fake_resolve.Resolve()
    (a,) = clips(tmp_path, "a.mov")
    adapter = ResolveAdapter(lambda app: resolve, exists=lambda path: True)
    adapter.open_or_create_project("P1-Foo")
    (result,) = adapter.import_media("P1-Foo", [a], [str(tmp_path / "unreadable.mov")])
    assert (result.status, result.proxy) == ("imported", "failed")  # LinkProxyMedia -> False


def test_the_job_proxies_are_mapped_like_its_clips(tmp_path: Path) -> None:
    runner = JobRunner(
        [("primary", "B:\\Video")], threading.Event(), lambda: fake_resolve.scriptapp, print
    )
    job: dict[str, Any] = {
        "source": "primary",
        "proxy_rel_paths": ["P1-Foo/ingest/proxies/abc.mov", None],
    }
    assert runner.proxy_paths(job) == ["B:\\Video\\P1-Foo\\ingest\\proxies\\abc.mov", None]
    assert runner.proxy_paths({"source": "primary"}) == []  # a server without proxies


@pytest.fixture
def server(roots: tuple[Path, Path]) -> Iterator[LiveServer]:
    env = {"MEDIA_SYNC_RESOLVE_PROXIES": "prores"}
    with serving(*roots, args=["--no-watch"], env=env) as live:
        yield live


@pytest.mark.e2e
def test_a_job_round_trip_links_the_proxy_the_server_made(
    server: LiveServer, tmp_path: Path
) -> None:
    clip = make_video(tmp_path / "card" / "A001.mov", codec="hevc", size=(64, 48), audio=True)
    with server.client() as http:
        project = http.post("/api/projects", json={"name": "Foo"}).json()["name"]
        sha = upload(http, project, clip)["sha256"]
    proxy = server.root / project / "ingest" / "proxies" / f"{sha}.mov"
    wait_until(proxy.is_file, 60, what="the proxy the server makes after the upload")
    (server.root / project / "ingest" / "originals" / "still.jpg").write_bytes(b"x" * 100)
    with server.client() as http:
        rel_paths = ["ingest/originals/A001.mov", "ingest/originals/still.jpg"]
        opened = http.post(
            "/api/resolve/open", json={"project": project, "media_rel_paths": rel_paths}
        )
        assert opened.status_code == 200, opened.text
        job_id = opened.json()["job_id"]

    resolve = fake_resolve.Resolve()
    config = AgentConfig(server.url, "bay-1", [("primary", str(server.root))], 0.5, once=True)
    assert Agent(config, scriptapp=lambda _app: resolve).run() == 0
    with server.client() as http:
        done = http.get(f"/api/resolve/jobs/{job_id}").json()
    assert done["status"] == "done", done
    results = {r["path"]: r for r in done["result"]["results"]}
    assert results["ingest/originals/A001.mov"]["proxy"] == "linked"
    assert "proxy" not in results["ingest/originals/still.jpg"]  # not catalogued: no proxy
    folder = resolve.bin(project, project)
    assert folder is not None
    linked = {Path(item.path).name: item.proxy for item in folder.GetClipList()}
    assert linked == {"A001.mov": str(proxy), "still.jpg": ""}


def test_the_server_keeps_the_proxy_results_and_refuses_unknown_ones() -> None:
    results = [{"path": "a.mov", "status": "imported", "proxy": "linked"}]
    stored = parse_result({"results": results})
    assert stored is not None and stored["results"] == results
    with pytest.raises(InvalidInput, match="proxy"):
        parse_result({"results": [{"path": "a.mov", "status": "imported", "proxy": "maybe"}]})

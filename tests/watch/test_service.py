"""The watcher service on real directories: drops found without any API call, both backends."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from daemon.catalog import status
from daemon.library import Library
from daemon.storage.projects import ProjectRef, ensure_layout
from daemon.watch import backends
from daemon.watch.debounce import Debouncer
from daemon.watch.service import Tuning, WatchService, scope_key
from tests.support.files import write
from tests.support.waiting import wait_until
from tests.watch.helpers import rows

ORIG = "ingest/originals"
FAST = Tuning(canary_timeout=2.0, debounce_quiet=0.05, debounce_max=0.3, registry_every=0.5)


def _service(lib: Library, mode: str) -> WatchService:
    lib.settings = lib.settings.with_overrides(watch=mode, poll_interval_seconds=0.2)
    service = WatchService(lib, FAST).start()
    assert service.ready.wait(10)
    return service


def _scenario(lib: Library) -> dict[str, set[str]]:
    """Drop, relocate, rename and delete while the service runs; return what got catalogued."""
    root = lib.settings.projects_root
    project = ProjectRef(lib.source(None), "P1-Watched")
    ensure_layout(project)
    write(project.originals / "keep.mov", b"keep")
    write(project.originals / "gone.mov", b"gone")
    wait_until(lambda: len(rows(project)) == 2, what="the first drops to be indexed")
    write(project.originals / "day2" / "new.mp4", b"new")
    write(project.path / "stray.mov", b"stray")
    write(root / "loose.jpg", b"loose")
    os.rename(project.originals / "keep.mov", project.originals / "kept.mov")
    os.unlink(project.originals / "gone.mov")
    loose = ProjectRef(lib.source(None), "Unsorted-Loose")
    expected = {f"{ORIG}/kept.mov", f"{ORIG}/day2/new.mp4", f"{ORIG}/stray.mov"}
    wait_until(
        lambda: set(rows(project)) == expected and bool(rows(loose)), detail=lambda: rows(project)
    )
    return {"P1-Watched": set(rows(project)), "Unsorted-Loose": set(rows(loose))}


@pytest.mark.parametrize("mode", ["native", "polling"])
def test_drops_are_indexed_without_any_api_call(lib: Library, mode: str) -> None:
    service = _service(lib, mode)
    try:
        assert service.status_of("primary")["mode"] == mode
        found = _scenario(lib)
    finally:
        service.stop()
    assert found == {
        "P1-Watched": {f"{ORIG}/kept.mov", f"{ORIG}/day2/new.mp4", f"{ORIG}/stray.mov"},
        "Unsorted-Loose": {f"{ORIG}/loose.jpg"},
    }
    assert not (lib.settings.projects_root / "loose.jpg").exists()


def test_auto_mode_passes_the_canary_on_a_local_disk(lib: Library) -> None:
    service = _service(lib, "auto")
    try:
        status = service.status_of("primary")
        assert status["mode"] == "native" and status["alive"], status
        assert not list((lib.settings.projects_root / "_sources").glob(".media-sync-canary-*"))
    finally:
        service.stop()


def test_stop_joins_every_thread(lib: Library) -> None:
    before = set(threading.enumerate())
    service = _service(lib, "native")
    assert status.read(lib.catalog).running  # published in the catalog for /health
    service.stop()
    leftover = [t for t in threading.enumerate() if t not in before]
    assert leftover == []
    assert not status.read(lib.catalog).running


def test_a_dead_watcher_is_restarted_and_scanning_goes_on(lib: Library) -> None:
    service = _service(lib, "native")
    try:
        observer = service.watches["primary"].observer
        assert observer is not None
        backends.stop_observer(observer)  # the watcher dies under the service
        wait_until(
            lambda: (
                service.watches["primary"].observer not in (None, observer)
                and service.status_of("primary")["alive"]
            ),
            10,
        )
        project = ProjectRef(lib.source(None), "P2-After")
        write(project.originals / "a.mov", b"after restart")
        wait_until(lambda: bool(rows(project)))
    finally:
        service.stop()


def test_an_offline_root_is_reported_and_recovers(lib: Library) -> None:
    root = lib.settings.projects_root
    project = ProjectRef(lib.source(None), "P1-Big")
    for i in range(25):
        write(project.originals / f"{i}.mov", str(i).encode())
    service = _service(lib, "polling")
    try:
        wait_until(lambda: len(rows(project)) == 25)
        away = root.with_name("away")
        os.rename(root, away)
        wait_until(lambda: service.status_of("primary")["offline"], 10)
        assert "primary" in service.status()["offline_sources"]
        assert len(rows(project)) == 25
        os.rename(away, root)
        wait_until(lambda: not service.status_of("primary")["offline"], 10)
        assert len(rows(project)) == 25
    finally:
        service.stop()


def test_event_paths_map_to_scopes(tmp_path: Path) -> None:
    root = str(tmp_path)
    assert scope_key(root, f"{root}/P1-A/ingest/originals/x.mov") == "P1-A"
    assert scope_key(root, f"{root}/P1-A") == "P1-A"
    assert scope_key(root, f"{root}/loose.mov") == ""
    assert scope_key(root, root) == ""
    for ignored in ("_sources/x", ".git/y", "Random/z.mov", "P1-A/index.json", "P1-A/_manifest/j"):
        assert scope_key(root, f"{root}/{ignored}") is None, ignored
    assert scope_key(root, f"{root}/P1-A/ingest/originals/.media-sync-tmp-1") is None


def test_debouncer_batches_bursts() -> None:
    now = [0.0]
    debouncer: Debouncer[str] = Debouncer(quiet=0.2, max_delay=1.0, clock=lambda: now[0])
    for i in range(5):
        debouncer.add(f"d{i % 2}")
        now[0] += 0.1
    assert debouncer.take(0) == set()  # still bursting
    now[0] += 0.2
    assert debouncer.take(0) == {"d0", "d1"}
    for _ in range(20):  # a never-ending burst still flushes after max_delay
        debouncer.add("x")
        now[0] += 0.1
    assert debouncer.take(0) == {"x"}

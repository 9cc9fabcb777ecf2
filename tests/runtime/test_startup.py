"""The one start-up routine of `serve` and `daemon`: what it cleans up, the order it starts and
stops things in, and that every thread it starts is joined (the autouse fixture proves it)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from litestar.testing import TestClient

from daemon.errors import SettingsError
from daemon.library import Library
from daemon.runtime.process import run_forever
from daemon.runtime.services import Service, default_services
from daemon.runtime.startup import running, start
from daemon.settings import Settings
from daemon.storage.conventions import TEMP_PREFIX
from daemon.storage.indexfile import DIRTY_DIR
from ingress.app import create_app
from tests.support.env import settings_for


def leftovers(settings: Settings) -> tuple[Path, Path]:
    """A crashed upload's temp file and an index.json a full disk left to catch up."""
    project = settings.projects_root / "P1-Crash"
    originals = project / "ingest" / "originals"
    originals.mkdir(parents=True)
    temp = originals / f"{TEMP_PREFIX}crashed-1234-abcdef.mov"
    temp.write_bytes(b"half an upload")
    marker = settings.state_dir / DIRTY_DIR / "p1-crash.json"
    marker.parent.mkdir(parents=True)
    marker.write_text(json.dumps({"source": "primary", "project": "P1-Crash"}))
    return temp, project / "index.json"


def previews_running() -> bool:
    return any(t.name == "previews-0" for t in threading.enumerate())


def recorder(name: str, log: list[str]) -> Service:
    """A service that writes down when it starts and stops, and whether the previews ran then."""

    def service(lib: Library) -> Callable[[], None]:
        log.append(f"start {name}" + (" (previews running)" if previews_running() else ""))

        def stop() -> None:
            log.append(f"stop {name}" + (" (previews running)" if previews_running() else ""))

        return stop

    return service


def test_start_cleans_up_what_a_crash_left(settings: Settings) -> None:
    temp, index = leftovers(settings)
    with running(settings):
        assert not temp.exists()
        assert json.loads(index.read_text())["project"] == "P1-Crash"


def test_services_start_after_the_previews_and_stop_in_reverse(settings: Settings) -> None:
    log: list[str] = []
    runtime = start(settings, [recorder("first", log), recorder("second", log)])
    assert log == ["start first (previews running)", "start second (previews running)"]
    runtime.stop()
    assert log[2:] == ["stop second (previews running)", "stop first (previews running)"]
    assert not previews_running()
    assert runtime.library.catalog.db.is_closed()


def test_a_service_failing_to_start_stops_the_ones_started(settings: Settings) -> None:
    log: list[str] = []

    def broken(_lib: Library) -> Callable[[], None]:
        raise OSError("cannot watch")

    with pytest.raises(OSError, match="cannot watch"):
        start(settings, [recorder("first", log), broken])
    assert log == ["start first (previews running)", "stop first (previews running)"]
    assert not previews_running()


def test_a_root_that_cannot_be_made_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(SettingsError, match="MEDIA_SYNC_PROJECTS_ROOT"):
        start(settings_for(blocker / "projects", tmp_path / "state"))


def test_the_daemon_runs_the_watcher_until_stopped(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    temp, index = leftovers(settings)
    stop = threading.Event()
    result: list[int] = []
    caplog.set_level(logging.INFO, logger="media_sync")
    daemon = threading.Thread(target=lambda: result.append(run_forever(settings, stop)))
    daemon.start()
    try:
        watching = threading.Event()
        for _ in range(100):
            if "media-sync daemon watching" in caplog.text:
                watching.set()
                break
            stop.wait(0.1)
        assert watching.is_set(), caplog.text
        assert "media-sync-watch" in {t.name for t in threading.enumerate()}
        assert not temp.exists() and index.is_file()  # the daemon cleans up like `serve`
    finally:
        stop.set()
        daemon.join(30)
    assert not daemon.is_alive()
    assert result == [0]
    assert "media-sync daemon stopped" in caplog.text


def watcher_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == "media-sync-watch"]


def test_the_http_app_runs_the_same_routine(settings: Settings) -> None:
    """`serve` is the routine plus HTTP: cleaned up and watching inside the app's lifespan;
    `--no-watch` (no services) runs the previews alone."""
    temp, index = leftovers(settings)
    with TestClient(create_app(settings, services=default_services(settings))) as client:
        assert not temp.exists() and index.is_file()
        assert watcher_threads() == ["media-sync-watch"]
        assert client.get("/healthz").status_code == 200
    assert watcher_threads() == []
    with TestClient(create_app(settings, services=default_services(settings, watcher=False))):
        assert watcher_threads() == []
        assert "previews-0" in {t.name for t in threading.enumerate()}

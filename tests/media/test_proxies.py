"""Resolve proxies: ProRes Proxy or DNxHR LB as long as the source, within 1080p, made once in
the background after a clip is catalogued, never a partial file, never scanned as footage."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import pytest

from daemon.catalog import files
from daemon.errors import CorruptFile
from daemon.ingest.selection import is_reserved
from daemon.library import Library
from daemon.media.budget import DecodeBudget
from daemon.media.proxy import Proxies, make_proxy, proxy_path, proxy_size
from daemon.runtime.startup import running
from daemon.settings import Settings
from daemon.storage.conventions import PROXIES
from daemon.storage.projects import ProjectRef, ensure_layout
from daemon.watch.reconcile import Reconciler, Scope
from daemon.watch.relocate import excluded_dirs
from tests.factories import make_video
from tests.support.waiting import wait_until

BUDGET = DecodeBudget(256 * 1024 * 1024)
FPS = 10


def probe(path: Path) -> dict[str, object]:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        first = next(container.decode(video))
        return {
            "codec": video.codec_context.name,
            "profile": video.codec_context.profile,
            "size": (video.width, video.height),
            "duration": (container.duration or 0) / 1e6,
            "audio": [a.codec_context.name for a in container.streams.audio],
            "rotation": first.rotation,
        }


def duration(path: Path) -> float:
    with av.open(str(path)) as container:
        return (container.duration or 0) / 1e6


@pytest.mark.parametrize(
    ("codec", "expected", "profile", "size"),
    [
        ("prores", "prores", "Proxy", (64, 64)),
        ("dnxhr", "dnxhd", "DNXHR LB", (256, 256)),  # DNxHR's least frame is 256x120
    ],
)
def test_proxy_is_the_codec_asked_as_long_as_the_source(
    tmp_path: Path, codec: str, expected: str, profile: str, size: tuple[int, int]
) -> None:
    source = make_video(
        tmp_path / "clip.mov", codec="hevc", size=(64, 64), fps=FPS, audio=True, rotation=90
    )
    dest = tmp_path / "proxy.mov"
    make_proxy(source, dest, codec, budget=BUDGET)
    seen = probe(dest)
    assert (seen["codec"], seen["profile"], seen["size"]) == (expected, profile, size)
    assert abs(float(str(seen["duration"])) - duration(source)) <= 1 / FPS
    assert seen["audio"] == ["pcm_s16le"]
    assert seen["rotation"] == -90  # as the source: 90 clockwise


def test_a_source_above_1080p_gets_a_1080p_proxy(tmp_path: Path) -> None:
    source = make_video(tmp_path / "uhd.mp4", size=(2560, 1440), seconds=0.4, fps=5)
    dest = tmp_path / "proxy.mov"
    make_proxy(source, dest, "prores", budget=BUDGET)
    seen = probe(dest)
    assert seen["size"] == (1920, 1080)
    assert abs(float(str(seen["duration"])) - duration(source)) <= 1 / 5


def test_proxy_size_fits_1080p_either_way_up_and_keeps_the_shape() -> None:
    assert proxy_size(3840, 2160) == (1920, 1080)
    assert proxy_size(2160, 3840) == (1080, 1920)
    assert proxy_size(4000, 3000) == (1440, 1080)
    assert proxy_size(1280, 720) == (1280, 720)  # never enlarged
    assert proxy_size(720, 576, Fraction(16, 15)) == (768, 576)  # square pixels
    assert proxy_size(64, 48, 1, (256, 120)) == (256, 192)  # DNxHR's least size, same shape


def test_a_clip_that_cannot_be_decoded_is_corrupt(tmp_path: Path) -> None:
    source = tmp_path / "bad.mp4"
    source.write_bytes(b"not a video at all" * 100)
    with pytest.raises(CorruptFile, match=r"bad\.mp4: cannot make a proxy"):
        make_proxy(source, tmp_path / "proxy.mov", "prores", budget=BUDGET)


def test_the_proxies_folder_is_reserved_and_never_scanned() -> None:
    assert PROXIES == "ingest/proxies"
    assert is_reserved(f"{PROXIES}/{'0' * 64}.mov")
    assert PROXIES in excluded_dirs(())


@pytest.fixture
def lib(settings: Settings) -> Iterator[Library]:
    library = Library.open(settings)
    try:
        yield library
    finally:
        library.close()


@pytest.fixture
def project(lib: Library) -> ProjectRef:
    ref = ProjectRef(lib.source(None), "P1-Proxies")
    ensure_layout(ref)
    return ref


def drop(ref: ProjectRef, name: str) -> Path:
    return make_video(
        ref.originals / name, codec="hevc", size=(64, 48), fps=FPS, audio=True, variant=1
    )


def index(lib: Library, ref: ProjectRef) -> None:
    Reconciler(lib).reconcile(ref.source, Scope(), wait_settle=10)


def test_catalogued_videos_get_one_proxy_made_once_and_not_scanned(
    lib: Library, project: ProjectRef
) -> None:
    worker = Proxies(lib, "prores", BUDGET)
    worker.start()
    try:
        first = drop(project, "A001.mov")
        copy = project.originals / "copy" / "A001-copy.mov"
        copy.parent.mkdir()
        copy.write_bytes(first.read_bytes())  # the same content twice: one proxy
        index(lib, project)
        catalogued = files.in_project(lib.catalog, project.source.name, project.name)
        sha = catalogued["ingest/originals/A001.mov"].sha256
        target = proxy_path(project, sha)
        assert target == project.path / PROXIES / f"{sha}.mov"
        wait_until(lambda: worker.idle.is_set() and target.is_file(), 60, what="the proxy")
        assert probe(target)["profile"] == "Proxy"
        assert worker.made == 1
        assert sorted(p.name for p in target.parent.iterdir()) == [target.name]  # no temp left
        index(lib, project)  # a reindex neither catalogues nor relocates the proxy
        again = files.in_project(lib.catalog, project.source.name, project.name)
        assert sorted(again) == ["ingest/originals/A001.mov", "ingest/originals/copy/A001-copy.mov"]
        assert target.is_file()
        worker.queue(project, "ingest/originals/A001.mov", sha)  # asked again: already there
        assert worker.idle.wait(10) and worker.made == 1
    finally:
        worker.stop()


def test_proxies_are_off_by_default_and_a_restart_catches_up(
    settings: Settings, lib: Library, project: ProjectRef
) -> None:
    drop(project, "B001.mov")
    index(lib, project)
    sha = files.in_project(lib.catalog, project.source.name, project.name)[
        "ingest/originals/B001.mov"
    ].sha256
    target = proxy_path(project, sha)
    with running(settings) as runtime:
        assert runtime.proxies is None
    assert not target.exists()
    with running(settings.with_overrides(resolve_proxies="dnxhr")) as runtime:
        assert runtime.proxies is not None
        worker = runtime.proxies
        wait_until(lambda: worker.idle.is_set() and target.is_file(), 60, what="the backfill")
        assert probe(target)["codec"] == "dnxhd"

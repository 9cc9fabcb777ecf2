"""The on-demand workers: one job per preview however many threads (or processes) ask, never a
partial file, failures remembered until the file changes, and a stop that joins promptly."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from daemon.errors import MediaNotFound, Unavailable, UnsupportedMediaType
from daemon.media.browserpreview import OnDemand, Pending, Ready
from daemon.media.budget import DecodeBudget
from daemon.media.derived import lock_path
from tests.factories import corrupt_copy, make_video

BUDGET = 256 * 1024 * 1024


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder as the layout has it (writes go below `P1-Clips/ingest/`)."""
    folder = tmp_path / "root" / "P1-Clips"
    (folder / "ingest" / "originals").mkdir(parents=True)
    return folder


@contextmanager
def running(tmp_path: Path, workers: int = 1) -> Iterator[OnDemand]:
    pool = OnDemand(workers, tmp_path / "locks", budget=DecodeBudget(BUDGET))
    pool.start()
    try:
        yield pool
    finally:
        pool.stop()


@contextmanager
def held_elsewhere(locks: Path, target: Path) -> Iterator[None]:
    """Hold the target's lock as another process making it would."""
    locks.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path(locks, target), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def clip(project: Path, name: str = "clip.mov") -> Path:
    return make_video(project / "ingest" / "originals" / name, codec="hevc", size=(64, 48))


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def taken(pool: OnDemand, target: Path, source: Path) -> None:
    """Ask for ``target`` until a worker has taken its job."""
    deadline = time.monotonic() + 10
    while pool.preview(target, source, wait=0) != Pending("making", 0.0, 0):
        assert time.monotonic() < deadline, "no worker took the job"
        time.sleep(0.01)


def ask_together(count: int, ask: Callable[[], Ready | Pending]) -> list[Ready | Pending]:
    """``count`` threads calling ``ask`` at the same moment; their answers."""
    answers: list[Ready | Pending] = []
    barrier = threading.Barrier(count)

    def run() -> None:
        barrier.wait()
        answers.append(ask())

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_many_threads_asking_share_one_job_and_one_encode(tmp_path: Path, project: Path) -> None:
    source = clip(project)
    target = project / "ingest" / "previews" / "a.mp4"
    with running(tmp_path) as pool:
        with held_elsewhere(tmp_path / "locks", target):
            taken(pool, target, source)
            answers = ask_together(8, lambda: pool.preview(target, source, wait=0))
            # the one job, taken by the worker (waiting for the lock): nobody queued behind it
            assert answers == [Pending("making", 0.0, 0)] * 8
        answers = ask_together(8, lambda: pool.preview(target, source, wait=30))
        assert answers == [Ready(target)] * 8
        assert pool.made["preview"] == 1 and pool.tried["preview"] == 1
    assert leftovers(target.parent) == ["a.mp4"]


def test_a_request_waiting_on_a_job_gets_the_file_once_it_is_made(
    tmp_path: Path, project: Path
) -> None:
    source = clip(project)
    target = project / "ingest" / "previews" / "a.mp4"
    with running(tmp_path) as pool:
        with held_elsewhere(tmp_path / "locks", target):
            taken(pool, target, source)
        assert pool.preview(target, source, wait=30) == Ready(target)
        assert pool.made["preview"] == 1
    assert target.stat().st_size > 0


def test_two_processes_make_it_once(tmp_path: Path, project: Path) -> None:
    """Two pools on one state dir (as `serve` and a second server would be): the one that waits
    for the other's lock finds the preview made and encodes nothing."""
    source = clip(project)
    target = project / "ingest" / "previews" / "a.mp4"
    with running(tmp_path) as first, running(tmp_path) as second:
        answers: list[Ready | Pending] = []
        threads = [
            threading.Thread(target=lambda p=pool: answers.append(p.preview(target, source, 30)))
            for pool in (first, second)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert answers == [Ready(target)] * 2
        assert first.tried["preview"] + second.tried["preview"] == 1
    assert leftovers(target.parent) == ["a.mp4"]


def test_a_second_job_waits_in_line_behind_the_first(tmp_path: Path, project: Path) -> None:
    first, second = (
        clip(project, "a.mov"),
        make_video(
            project / "ingest" / "originals" / "b.mov", codec="hevc", size=(64, 48), variant=1
        ),
    )
    previews = project / "ingest" / "previews"
    with running(tmp_path) as pool, held_elsewhere(tmp_path / "locks", previews / "a.mp4"):
        taken(pool, previews / "a.mp4", first)
        assert pool.preview(previews / "b.mp4", second, wait=0) == Pending("queued", None, 0)


def test_a_broken_clip_fails_cleanly_and_is_not_decoded_again_until_it_changes(
    tmp_path: Path, project: Path
) -> None:
    good = clip(project, "good.mov")
    broken = corrupt_copy(good, project / "ingest" / "originals" / "broken.mov", keep=0.3)
    target = project / "ingest" / "previews" / "b.mp4"
    with running(tmp_path) as pool:
        with pytest.raises(
            UnsupportedMediaType, match=r"^broken\.mov: cannot make a browser preview"
        ):
            pool.preview(target, broken, wait=30)
        with pytest.raises(
            UnsupportedMediaType, match=r"^broken\.mov: cannot make a browser preview"
        ):
            pool.preview(target, broken, wait=30)
        assert pool.tried["preview"] == 1 and pool.made["preview"] == 0
        assert leftovers(target.parent) == []  # no temp, no partial preview
        broken.write_bytes(good.read_bytes())  # fixed: a changed file is tried again
        assert pool.preview(target, broken, wait=30) == Ready(target)
        assert pool.tried["preview"] == 2


def test_a_source_gone_before_its_turn_answers_not_found(tmp_path: Path, project: Path) -> None:
    source = clip(project)
    target = project / "ingest" / "previews" / "a.mp4"
    with running(tmp_path) as pool:
        with held_elsewhere(tmp_path / "locks", target):
            taken(pool, target, source)
            source.unlink()
        with pytest.raises(MediaNotFound, match=r"clip\.mov is gone"):
            pool.preview(target, source, wait=30)
    assert leftovers(target.parent) == []


def test_stop_ends_waiting_jobs_at_once_and_answers_unavailable(
    tmp_path: Path, project: Path
) -> None:
    source = clip(project)
    target = project / "ingest" / "previews" / "a.mp4"
    errors: list[BaseException] = []
    with held_elsewhere(tmp_path / "locks", target):
        pool = OnDemand(1, tmp_path / "locks", budget=DecodeBudget(BUDGET))
        pool.start()
        taken(pool, target, source)

        def ask() -> None:
            try:
                pool.preview(target, source, wait=30)
            except Unavailable as exc:
                errors.append(exc)

        waiter = threading.Thread(target=ask)
        waiter.start()
        started = time.monotonic()
        pool.stop()
        waiter.join()
        assert time.monotonic() - started < 2
    assert [type(e) for e in errors] == [Unavailable]
    with pytest.raises(Unavailable):
        pool.preview(target, source, wait=0)
    assert not target.exists()

"""The catalog behind one door: each open Catalog is its own database (no process-wide binding),
from one thread or many."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from daemon.catalog import Catalog, events, files, jobs, projects
from daemon.catalog.values import JobStatus, Origin

Locate = Callable[[str], Path | str]


def _add_file(catalog: Catalog, project: str, rel: str, blake3: str) -> None:
    m = catalog.models
    with catalog.write():
        projects.ensure(catalog, "primary", project)
        m.Content.insert(blake3=blake3, sha256="s" + blake3[1:], size=1).execute()
        m.File.insert(
            source="primary",
            project=project,
            rel_path=rel,
            size=1,
            mtime_ns=1,
            inode=1,
            content=blake3,
            origin=Origin.DROP,
        ).execute()


def test_two_catalogs_in_one_process_keep_to_their_own_files(locate: Locate) -> None:
    first = Catalog.open(locate("a"))
    second = Catalog.open(locate("b"))
    try:
        _add_file(first, "P1-A", "ingest/originals/a.mov", "a" * 64)
        _add_file(second, "P1-B", "ingest/originals/b.mov", "b" * 64)
        _add_file(first, "P1-A", "ingest/originals/c.mov", "c" * 64)
        assert sorted(files.in_project(first, "primary", "P1-A")) == [
            "ingest/originals/a.mov",
            "ingest/originals/c.mov",
        ]
        assert files.in_project(first, "primary", "P1-B") == {}
        only = files.find(second, "primary", "P1-B", "ingest/originals/b.mov")
        assert only is not None and only.origin is Origin.DROP and only.sha256 == "s" + "b" * 63
        assert files.find(second, "primary", "P1-A", "ingest/originals/a.mov") is None
        assert projects.kinds(first, "primary", "P1-A") == {None: 2}
        assert first.status()["files"] == 2 and second.status()["files"] == 1
        with second.write():
            job = jobs.create(
                second, status=JobStatus.PENDING, project="P1-B", resolve_project="R",
                mode="import", source="primary", media_rel_paths="[]",
            )  # fmt: skip
        assert jobs.get(second, job.id) == job and job.status is JobStatus.PENDING
        assert jobs.get(first, job.id) is None
    finally:
        first.close()
        second.close()


def test_threads_write_and_read_two_catalogs_at_once(locate: Locate) -> None:
    catalogs = [Catalog.open(locate(name)) for name in ("a", "b")]
    seen: dict[tuple[int, int], list[str | None]] = {}
    errors: list[BaseException] = []

    def work(which: int, thread: int) -> None:
        catalog = catalogs[which]
        try:
            for i in range(50):
                with catalog.write():
                    events.add(catalog, "stored", f"cat{which}", f"t{thread}", str(i), {})
            seen[(which, thread)] = [e.source for e in events.after(catalog, 0, 10_000)]
        except BaseException as exc:  # reported below, with the thread's failure
            errors.append(exc)
        finally:
            catalog.release()

    threads = [
        threading.Thread(target=work, args=(which, thread))
        for which in (0, 1)
        for thread in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        for (which, _), sources in seen.items():
            assert set(sources) == {f"cat{which}"}  # never a row of the other catalog
        for which, catalog in enumerate(catalogs):
            stored = events.after(catalog, 0, 10_000)
            assert len(stored) == 200
            per_thread = {
                f"t{t}": [e.rel_path for e in stored if e.project == f"t{t}"] for t in range(4)
            }
            assert per_thread == {f"t{t}": [str(i) for i in range(50)] for t in range(4)}
            assert {e.source for e in stored} == {f"cat{which}"}
    finally:
        for catalog in catalogs:
            catalog.close()


def test_nothing_is_bound_process_wide() -> None:
    import daemon.catalog

    for name in ("database", "BaseModel", "Meta", "Project", "Content", "File", "Job", "Event"):
        assert not hasattr(daemon.catalog, name), f"daemon.catalog.{name} is process-wide"

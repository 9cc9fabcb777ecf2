"""`media-sync rebuild`: the catalog made anew from the files on disk (Resolve jobs kept).

sqlite: a fresh catalog file is built beside the old one (the old one's jobs carried over),
then renamed over it. PostgreSQL has no file to swap: the rebuild runs in the live tables in
one write transaction. It empties the rows the disk describes (projects, contents, files and
their change counters), adopts every project again, and commits: other processes read the old
catalog until the commit and the new one after it, never a half-built one; their writes wait
for the commit. Jobs, events and upload batches stay as they are.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from daemon.catalog import Catalog
from daemon.catalog import files as catalog_files
from daemon.catalog import jobs as catalog_jobs
from daemon.ingest.adopt import AdoptReport, adopt_project
from daemon.library import Library
from daemon.settings import Settings
from daemon.storage.projects import ProjectRef, list_project_names

log = logging.getLogger("media_sync.rebuild")


@dataclass(frozen=True)
class Step:
    """Progress: ``done`` of ``total`` projects adopted, and a line saying what just happened."""

    done: int
    total: int
    line: str | None = None


Progress = Callable[[Step], None]


def print_lines(step: Step) -> None:
    """The default progress: each line printed."""
    if step.line:
        print(step.line)


@dataclass
class RebuildReport:
    projects: list[AdoptReport] = field(default_factory=list)
    offline_sources: list[str] = field(default_factory=list)
    jobs_kept: int = 0

    @property
    def files(self) -> int:
        return sum(p.indexed + p.unchanged for p in self.projects)


def _old_jobs(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    try:
        old = Catalog.open(path)
        try:
            return catalog_jobs.dump(old)
        finally:
            old.close()
    except Exception:
        log.warning("old catalog unreadable; Resolve jobs not carried over")
        return []


def rebuild(settings: Settings, progress: Progress = print_lines) -> RebuildReport:
    """Build the catalog anew from the files on disk (see the module's docstring)."""
    if settings.database_url:
        return _rebuild_in_place(settings, progress)
    report = RebuildReport()
    jobs = _old_jobs(settings.catalog_path)
    fresh = settings.catalog_path.with_name("catalog.rebuild.sqlite3")
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(str(fresh) + suffix)
    lib = Library(settings, Catalog.open(fresh))
    try:
        _adopt_all(lib, report, progress)
        if jobs:
            with lib.catalog.write():
                catalog_jobs.load(lib.catalog, jobs)
            report.jobs_kept = len(jobs)
    finally:
        lib.close()
    os.replace(fresh, settings.catalog_path)
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(str(settings.catalog_path) + suffix)
    return report


def _rebuild_in_place(settings: Settings, progress: Progress) -> RebuildReport:
    report = RebuildReport()
    lib = Library(settings, Catalog.from_settings(settings))
    try:
        with lib.catalog.write():  # the whole rebuild: one transaction (nested writes: savepoints)
            catalog_files.forget_all(lib.catalog)
            _adopt_all(lib, report, progress)
            report.jobs_kept = len(catalog_jobs.dump(lib.catalog))
    finally:
        lib.close()
    return report


def _adopt_all(lib: Library, report: RebuildReport, progress: Progress) -> None:
    """Adopt every project of every online source; offline sources are skipped and reported."""
    found: list[ProjectRef] = []
    for source in lib.registry().enabled:
        status = source.status()
        if not status["accessible"]:
            report.offline_sources.append(source.name)
            progress(Step(0, 0, f"source {source.name}: offline ({status['error']}), skipped"))
            continue
        found.extend(ProjectRef(source, name) for name in list_project_names(source))
    progress(Step(0, len(found)))
    for done, ref in enumerate(found, start=1):
        project = adopt_project(lib, ref)
        report.projects.append(project)
        progress(
            Step(
                done,
                len(found),
                f"{ref.source.name}/{ref.name}: {project.indexed + project.unchanged} files "
                f"({project.reused_hashes} hashes reused from index.json)"
                + (f", index.json problem: {project.index_error}" if project.index_error else ""),
            )
        )

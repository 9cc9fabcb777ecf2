"""Helpers for the watcher tests: a project's rows, read from the catalog file."""

from __future__ import annotations

from daemon.catalog import Catalog, files
from daemon.catalog.files import FileRecord
from daemon.storage.projects import ProjectRef


def rows(ref: ProjectRef) -> dict[str, FileRecord]:
    """The project's catalogued files, read from the catalog file as another process sees it
    (the fixtures keep it in ``<tmp>/state`` beside the ``<tmp>/projects`` root)."""
    path = ref.source.root.parent / "state" / "catalog.sqlite3"
    if not path.exists():
        return {}
    catalog = Catalog(path)
    try:
        return files.in_project(catalog, ref.source.name, ref.name)
    finally:
        catalog.close()

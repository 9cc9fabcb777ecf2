"""Helpers for the watcher tests: a project's rows, read from the test's catalog."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg

from daemon.catalog import Catalog, files
from daemon.catalog.files import FileRecord
from daemon.storage.projects import ProjectRef


def rows(ref: ProjectRef) -> dict[str, FileRecord]:
    """The project's catalogued files, read from the catalog as another process sees it: the
    test's PostgreSQL database (``database_url`` puts it in the environment), else the sqlite
    file the fixtures keep in ``<tmp>/state`` beside the ``<tmp>/projects`` root. None yet
    while the catalog is not made."""
    location: Path | str = os.environ.get("MEDIA_SYNC_DATABASE_URL", "")
    if not location:
        location = ref.source.root.parent / "state" / "catalog.sqlite3"
        if not location.exists():
            return {}
    catalog = Catalog(location)
    try:
        return files.in_project(catalog, ref.source.name, ref.name)
    except psycopg.errors.UndefinedTable:
        return {}
    finally:
        catalog.close()

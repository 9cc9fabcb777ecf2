"""Folders that are not projects: list them per source, and adopt one as the next `P{n}-<label>`.

Adopting renames the folder (same filesystem, ``os.rename``) and gives it a project's folders;
the caller then reconciles that project like any other, so its media are catalogued and loose
files relocated by the normal rules. A dry run answers what would happen and changes nothing.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daemon.catalog import projects as catalog_projects
from daemon.errors import MediaSyncError
from daemon.ingest.journal import record_project_event
from daemon.library import Library
from daemon.observe import project_created
from daemon.storage.indexfile import write_index
from daemon.storage.projects import ProjectRef
from daemon.storage.unadopted import (
    checked_folder,
    count_media,
    list_unadopted,
    rename_to_project,
    suggested_name,
)

log = logging.getLogger("media_sync.ingest")


@dataclass(frozen=True)
class Adoption:
    """What adopting a folder did (or, in a dry run, would do)."""

    source: str
    folder: str
    project: str
    media_files: int
    capped: bool
    dry_run: bool
    ref: ProjectRef | None = None  # the new project, once renamed

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "folder": self.folder,
            "project": self.project,
            "media_files": self.media_files,
            "media_files_capped": self.capped,
            "dry_run": self.dry_run,
            "renamed": self.ref is not None,
        }


# What the last full listing found, per (state dir, source), for callers that accept an answer a
# little old (`/health`, polled by the page and by monitors): walking big folders each poll
# would cost a NAS a directory walk every few seconds. A folder added to, renamed in or removed
# from a root (its mtime) or an adoption makes the next call walk again; counts inside a folder
# may lag by max_age.
_recent: dict[tuple[str, str | None], tuple[float, tuple[int, ...], list[dict[str, Any]]]] = {}
_recent_lock = threading.Lock()


def unadopted_folders(
    lib: Library, source: str | None = None, *, max_age: float = 0.0
) -> list[dict[str, Any]]:
    """Every enabled source's (or one source's) top-level folders that are not projects; a
    source that cannot be listed is left out (its health says why). ``max_age`` > 0 accepts a
    listing made that many seconds ago."""
    key = (str(lib.settings.state_dir), source)  # one Library per state dir
    now = time.monotonic()
    sources = [lib.source(source)] if source else list(lib.registry().enabled)
    roots = tuple(_stamp(src.root) for src in sources)  # a folder added or renamed changes it
    if max_age > 0:
        with _recent_lock:
            made = _recent.get(key)
        if made is not None and made[1] == roots and now - made[0] < max_age:
            return made[2]
    found: list[dict[str, Any]] = []
    for src in sources:
        try:
            found.extend(folder.as_dict() for folder in list_unadopted(src))
        except MediaSyncError as exc:
            log.warning("cannot list unadopted folders of %s: %s", src.name, exc.detail)
    with _recent_lock:
        _recent[key] = (now, roots, found)
    return found


def _stamp(root: Path) -> int:
    try:
        return os.stat(root).st_mtime_ns
    except OSError:
        return -1


def adopt_folder(lib: Library, source: str | None, folder: str, *, dry_run: bool) -> Adoption:
    """Rename ``folder`` to the next `P{n}-<label>` and make it a project (not on a dry run).

    UnsafePath for a path, traversal, symlink or system folder; NotFound for no such folder;
    AlreadyExists when it is a project already or the new name is taken."""
    src = lib.source(source)
    path = checked_folder(src, folder)
    count, capped = count_media(path)
    if dry_run:
        return Adoption(src.name, folder, suggested_name(src, folder), count, capped, True)
    ref = rename_to_project(lib.settings, src, folder)
    with _recent_lock:
        _recent.clear()
    project_created(ref.name, src.name, f"adoption of folder {folder!r}")
    with lib.catalog.write():
        catalog_projects.ensure(lib.catalog, src.name, ref.name)
    write_index(lib.settings, ref, lib.catalog)
    record_project_event(
        ref, "folder_adopted", {"folder": folder, "source": src.name, "media_files": count}
    )
    return Adoption(src.name, folder, ref.name, count, capped, False, ref)

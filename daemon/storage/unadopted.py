"""Folders that are not projects: top-level folders of a source root not named `P{n}-<label>`.

Media inside them is never catalogued (only projects and loose root files are), so they are
reported with the media they hold, and can be adopted: renamed to the next `P{n}-<label>`.

Left out, as media-sync's own or the system's: hidden names (`.`), `_`-prefixed ones
(`_sources`), the NAS and OS housekeeping folders in SYSTEM_FOLDERS and ``is_ignored_name``
(`#recycle`, `@eaDir`, `.Trash-*`, ...), symlinks, and projects (`Unsorted-Loose` included).
Counting stops at COUNT_LIMIT media files, or after SEEN_LIMIT entries of any kind, in one folder
(``capped`` then says the count is a lower bound), so a listing stays quick on a big share.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from daemon.errors import (
    AlreadyExists,
    Conflict,
    InvalidName,
    NotFound,
    Unavailable,
    UnsafePath,
)
from daemon.mediatypes import is_media
from daemon.settings import Settings
from daemon.storage.conventions import is_ignored_name, is_project_name, is_temp_name
from daemon.storage.locks import file_lock
from daemon.storage.projects import (
    ProjectRef,
    disk_relative,
    ensure_layout,
    highest_number,
    nfc,
    normalize_label,
)
from daemon.storage.sources import Source

COUNT_LIMIT = 10_000
SEEN_LIMIT = 200_000  # entries looked at in one folder before the count stops (capped)
SYSTEM_FOLDERS = frozenset(
    {
        "#recycle",
        "#snapshot",
        "@eaDir",
        "@Recycle",
        "@Recently-Snapshot",
        "$RECYCLE.BIN",
        "System Volume Information",
        "lost+found",
        "Network Trash Folder",
        "Temporary Items",
    }
)
_UNSAFE_LABEL = re.compile(r'[<>:"|?*\x00-\x1f\x7f/\\]')


@dataclass(frozen=True)
class Unadopted:
    """A top-level folder that is not a project, and how many media files it holds."""

    source: str
    folder: str
    media_files: int
    capped: bool  # counting stopped at COUNT_LIMIT: there are more
    suggested_project: str

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "folder": self.folder,
            "media_files": self.media_files,
            "media_files_capped": self.capped,
            "suggested_project": self.suggested_project,
        }


def is_candidate(name: str) -> bool:
    """Whether a top-level folder name could be an unadopted folder (see the module docstring)."""
    if name.startswith((".", "_")) or is_temp_name(name) or is_ignored_name(name):
        return False
    return name not in SYSTEM_FOLDERS and not is_project_name(nfc(name))


def count_media(folder: Path, limit: int = COUNT_LIMIT) -> tuple[int, bool]:
    """Media files under ``folder`` (hidden and housekeeping names skipped, symlinks not
    followed), stopping at ``limit``: (count, capped)."""
    count = seen = 0
    for directory, dirs, names in os.walk(folder, followlinks=False):
        dirs[:] = [d for d in dirs if not d.startswith(".") and is_candidate_dir(d)]
        seen += len(dirs) + len(names)
        if seen > SEEN_LIMIT:  # a huge folder of other files: stop walking, say "at least"
            return count, True
        for name in names:
            if name.startswith(".") or is_ignored_name(name) or not is_media(name):
                continue
            if os.path.islink(os.path.join(directory, name)):
                continue
            count += 1
            if count >= limit:
                return count, True
    return count, False


def is_candidate_dir(name: str) -> bool:
    """Inner folders counted: all but housekeeping ones."""
    return not is_ignored_name(name) and name not in SYSTEM_FOLDERS


def adoption_label(folder: str) -> str:
    """The label a folder is adopted under: as project creation makes it (``New Project`` ->
    ``New-Project``); characters creation refuses become ``-`` first."""
    try:
        return normalize_label(folder)
    except InvalidName:
        cleaned = _UNSAFE_LABEL.sub("-", nfc(folder)).lstrip("._@#-").rstrip(".")
        cleaned = cleaned.encode()[:120].decode(errors="ignore")
        try:
            return normalize_label(cleaned)
        except InvalidName:
            return "Folder"


def suggested_name(source: Source, folder: str) -> str:
    """The project name adopting ``folder`` now would give it."""
    return f"P{highest_number(source) + 1}-{adoption_label(folder)}"


def list_unadopted(source: Source) -> list[Unadopted]:
    """The source root's top-level folders that are not projects, by name."""
    try:
        with os.scandir(source.root) as entries:
            names = sorted(
                e.name for e in entries if e.is_dir(follow_symlinks=False) and is_candidate(e.name)
            )
    except OSError as exc:
        raise Unavailable(
            f"source {source.name!r} at {source.root} cannot be listed: {exc}"
        ) from exc
    found = []
    for name in names:
        count, capped = count_media(source.root / name)
        found.append(Unadopted(source.name, name, count, capped, suggested_name(source, name)))
    return found


def checked_folder(source: Source, folder: str) -> Path:
    """The unadopted top-level ``folder`` of ``source``: UnsafePath for a path, a traversal or
    a symlink; AlreadyExists when it is a project; NotFound when it is not there."""
    if not folder or folder in {".", ".."} or "/" in folder or "\\" in folder or "\x00" in folder:
        raise UnsafePath(f"folder {folder!r} must be one folder name directly in the source root")
    path = source.root / disk_relative(source.root, folder)  # an NFC name finds a Mac's NFD one
    if os.path.islink(path):
        raise UnsafePath(f"folder {folder!r} is a symlink; only real folders are adopted")
    if is_project_name(nfc(folder)):
        raise AlreadyExists(f"folder {folder!r} is a project already")
    if not is_candidate(folder):
        raise UnsafePath(f"folder {folder!r} is a hidden or system folder; it is not adopted")
    if not path.is_dir():
        raise NotFound(f"there is no folder {folder!r} in source {source.name!r}")
    return path


def rename_to_project(settings: Settings, source: Source, folder: str) -> ProjectRef:
    """Rename ``folder`` to the next `P{n}-<label>` and give it a project's folders; numbering
    is serialized with project creation, and an existing target is refused (AlreadyExists), as
    is a folder gone meanwhile (Conflict: another request adopted or moved it)."""
    with file_lock(settings.locks_dir, f"projects-{source.name}"):
        try:
            path = checked_folder(source, folder)
        except NotFound as exc:
            raise Conflict(f"folder {folder!r} went away meanwhile (adopted already?)") from exc
        ref = ProjectRef(source, suggested_name(source, folder))
        if os.path.lexists(ref.path):
            raise AlreadyExists(f"{ref.name} exists already in source {source.name!r}")
        os.rename(path, ref.path)
        ensure_layout(ref)
    return ref

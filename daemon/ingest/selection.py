"""Which catalogued media a request names: validated relative paths, reached without symlinks."""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

from daemon.catalog import Catalog
from daemon.catalog.files import FileRecord, find
from daemon.errors import InvalidInput, UnsafePath
from daemon.settings import Settings
from daemon.storage.conventions import (
    INDEX_FILE,
    MANIFEST_DIR,
    PREVIEWS,
    PROXIES,
    THUMBNAILS,
    check_relative,
)
from daemon.storage.projects import ProjectRef

MAX_PATHS = 5000
RESERVED = (INDEX_FILE, MANIFEST_DIR, THUMBNAILS, PREVIEWS, PROXIES)


def is_reserved(rel: str) -> bool:
    """True for media-sync's own files: index.json, anything in `_manifest/` or the thumbnails."""
    return any(rel == name or rel.startswith(name + "/") for name in RESERVED)


def requested_paths(raw: object, what: str = "relative_paths") -> list[str]:
    """The de-duplicated project-relative paths of a request; anything unsafe is refused (400)."""
    if not isinstance(raw, list):
        raise InvalidInput(
            f"{what!r} must be a list of project-relative paths, "
            'e.g. {"relative_paths": ["ingest/originals/clip.mov"]}'
        )
    if not raw:
        raise InvalidInput(f"{what!r} must name at least one path")
    if len(raw) > MAX_PATHS:
        raise InvalidInput(f"{what!r} may name at most {MAX_PATHS} paths (got {len(raw)})")
    paths: list[str] = []
    for entry in raw:
        if not isinstance(entry, str):
            raise InvalidInput(f"every entry of {what!r} must be a string (got {entry!r})")
        rel = check_relative(entry, "relative path").as_posix()
        if is_reserved(rel):
            raise UnsafePath(
                f"relative path {entry!r} is media-sync's own file ({', '.join(RESERVED)}) "
                "and cannot be changed through this endpoint"
            )
        if rel not in paths:
            paths.append(rel)
    return paths


def _is_state(settings: Settings, path: Path) -> bool:
    """True when ``path`` lies in the state directory (the catalog and locks)."""
    state = settings.state_dir.resolve()
    resolved = path.resolve()
    return resolved == state or state in resolved.parents


def safe_file(settings: Settings, base: Path, rel: str) -> Path | None:
    """The regular file ``base/rel`` reached through real directories only (lstat on every
    component); None when it is missing, a symlink, behind a symlink, or the catalog's."""
    path = base
    parts = PurePosixPath(rel).parts
    try:
        if stat.S_ISLNK(os.lstat(base).st_mode):
            return None
        for index, part in enumerate(parts):
            path = path / part
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                return None
            if index < len(parts) - 1 and not stat.S_ISDIR(mode):
                return None
    except OSError:
        return None
    if not parts or not stat.S_ISREG(mode) or _is_state(settings, path):
        return None
    return path


def safe_dir(base: Path, parts: tuple[str, ...]) -> Path:
    """The directory ``base/parts...``, created as needed; refuses to pass through a symlink."""
    path = base
    for part in parts:
        path = path / part
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            os.mkdir(path)
            continue
        if stat.S_ISLNK(mode) or not stat.S_ISDIR(mode):
            raise UnsafePath(f"{path} is a symlink or not a folder; nothing is placed through it")
    return path


def catalogued_file(
    settings: Settings, ref: ProjectRef, rel: str, catalog: Catalog
) -> tuple[FileRecord, Path] | None:
    """A catalogued file that really is a regular file inside the project (no symlinks)."""
    row = find(catalog, ref.source.name, ref.name, rel)
    if row is None:
        return None
    path = safe_file(settings, ref.path, rel)
    return (row, path) if path is not None else None

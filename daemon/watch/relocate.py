"""Relocation rules: what the scan leaves alone, and where media found outside
`ingest/originals/` belongs (the moves themselves: ``daemon.storage.placement``)."""

from __future__ import annotations

from collections.abc import Collection

from daemon.storage.conventions import (
    LOOSE_PROJECT,
    MANIFEST_DIR,
    ORIGINALS,
    PREVIEWS,
    PROXIES,
    THUMBNAILS,
)
from daemon.storage.placement import CopyMismatch, copy_verify_move, move_no_overwrite

ROOT = ""  # the project key of the source root itself (loose files)

# Project sub-folders relocation (and therefore the scan) leaves alone.
EXCLUDED_DIRS = (
    "exports",
    "renders",
    "proxies",
    "cache",
    MANIFEST_DIR,
    THUMBNAILS,
    PREVIEWS,
    PROXIES,
)


def excluded_dirs(extra: Collection[str]) -> frozenset[str]:
    """Project-relative folders never scanned: the fixed ones plus MEDIA_SYNC_RELOCATE_EXCLUDE."""
    return frozenset(EXCLUDED_DIRS) | {e.strip("/") for e in extra if e.strip("/")}


def relocation_target(project: str, rel: str) -> tuple[str, str]:
    """Where a media file found outside `ingest/originals/` belongs (keeping its sub-path)."""
    if project == ROOT:
        return LOOSE_PROJECT, f"{ORIGINALS}/{rel.rsplit('/', 1)[-1]}"
    sub = rel[len("ingest/") :] if rel.startswith("ingest/") else rel
    return project, f"{ORIGINALS}/{sub}"


__all__ = [
    "EXCLUDED_DIRS",
    "ROOT",
    "CopyMismatch",  # transitional re-exports: import them from daemon.storage.placement
    "copy_verify_move",
    "excluded_dirs",
    "move_no_overwrite",
    "relocation_target",
]

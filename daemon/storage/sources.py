"""Source roots: `primary` from the settings plus the registry in `_sources/sources.json`.

A registered root must resolve inside MEDIA_SYNC_SOURCE_PARENTS; an entry that does not (an
older registry, a changed setting, a swapped symlink) is listed with its reason and is neither
watched nor served. Relocation of loose media is off for a new source until it is switched on;
an entry written before the switch existed counts as off (nothing moves without a yes).
"""

from __future__ import annotations

import json
import os
import re
import shlex
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from daemon.catalog import Catalog, files, utcnow
from daemon.errors import (
    AlreadyExists,
    CorruptFile,
    InvalidInput,
    InvalidName,
    SourceNotFound,
    UnsafePath,
)
from daemon.settings import Settings
from daemon.storage.conventions import SOURCES_REGISTRY, atomic_write_json
from daemon.storage.locks import file_lock

PRIMARY = "primary"
_SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


@dataclass(frozen=True)
class Source:
    """A root folder holding projects."""

    name: str
    root: Path
    enabled: bool = True
    relocate: bool = True  # move loose media into Unsorted-Loose (see the module docstring)
    refused: str | None = None  # why it is neither watched nor served

    def status(self) -> dict[str, Any]:
        """Accessibility as the spec means it: exists, is a directory, listable and writable."""
        if self.refused is not None:
            return self._status(False, self.refused)
        exists = self.root.is_dir()
        listable = writable = False
        error = None
        if exists:
            try:
                with os.scandir(self.root) as entries:
                    next(entries, None)
                listable = True
            except OSError as exc:
                error = str(exc)
            writable = os.access(self.root, os.W_OK | os.X_OK)
        else:
            error = "root does not exist or is not a directory"
        return self._status(exists and listable and writable, error)

    def _status(self, accessible: bool, error: str | None) -> dict[str, Any]:
        return {
            "name": self.name,
            "root": str(self.root),
            "enabled": self.enabled,
            "accessible": accessible,
            "error": error,
            "relocate": self.relocate,
        }


@dataclass(frozen=True)
class Registry:
    """Every known source and the registry's own health."""

    listed: tuple[Source, ...]  # in registry order, refused ones included
    error: str | None = None

    @property
    def sources(self) -> tuple[Source, ...]:
        """The sources that are watched and served (refused ones left out)."""
        return tuple(s for s in self.listed if s.refused is None)

    @property
    def enabled(self) -> tuple[Source, ...]:
        return tuple(s for s in self.sources if s.enabled)

    def find(self, name: str | None) -> Source:
        """A registered source, refused or not (for managing the registry itself)."""
        wanted = name or PRIMARY
        for source in self.listed:
            if source.name == wanted:
                return source
        known = ", ".join(s.name for s in self.listed)
        raise SourceNotFound(f"source {wanted!r} is not registered (known: {known})")

    def get(self, name: str | None) -> Source:
        """A source to work in; a refused one is an UnsafePath naming why."""
        source = self.find(name)
        if source.refused is not None:
            raise UnsafePath(f"source {source.name!r} is not served: {source.refused}")
        return source


def outside_parents(settings: Settings, root: Path) -> str | None:
    """Why ``root`` may not be a source root, or None when it resolves inside (or is) one of
    MEDIA_SYNC_SOURCE_PARENTS (default: the primary root's parent)."""
    parents = settings.allowed_source_parents
    allowed = ", ".join(str(p) for p in parents)
    hint = f"sources must live under MEDIA_SYNC_SOURCE_PARENTS ({allowed})"
    if not root.is_absolute():
        return f"{root} is not an absolute path; {hint}"
    try:
        resolved = root.resolve()
        tops = [parent.resolve() for parent in parents]
    except (OSError, RuntimeError) as exc:
        return f"{root} cannot be resolved ({exc}); {hint}"
    if any(resolved == top or top in resolved.parents for top in tops):
        return None
    shown = str(root) if resolved == root else f"{root} (which resolves to {resolved})"
    return f"{shown} is outside the allowed parents: {hint}; add its parent there to allow it"


def _registry_path(settings: Settings) -> Path:
    return settings.projects_root / SOURCES_REGISTRY


def _read_entries(settings: Settings) -> list[dict[str, Any]]:
    path = _registry_path(settings)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    try:
        document = json.loads(raw)
        entries = document["sources"]
        if not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("name"), str) for e in entries
        ):
            raise ValueError("'sources' must be a list of objects with a name")
    except (ValueError, KeyError, TypeError) as exc:
        raise CorruptFile(f"source registry {path} is corrupt ({exc}); fix or remove it") from exc
    return entries


def load_registry(settings: Settings) -> Registry:
    """All sources; a corrupt registry leaves `primary` usable and is reported in ``error``."""
    try:
        entries = _read_entries(settings)
    except CorruptFile as exc:
        return Registry((Source(PRIMARY, settings.projects_root),), error=exc.detail)
    # `primary` is always enabled (a registry written by an older version may say otherwise)
    # and relocates unless switched off.
    mine = next((e for e in entries if e["name"] == PRIMARY), {})
    sources = [Source(PRIMARY, settings.projects_root, True, mine.get("relocate") is not False)]
    for entry in entries:
        if entry["name"] == PRIMARY or not isinstance(entry.get("root"), str):
            continue
        root = Path(entry["root"])
        sources.append(
            Source(
                entry["name"],
                root,
                bool(entry.get("enabled", True)),
                entry.get("relocate") is True,
                outside_parents(settings, root),
            )
        )
    return Registry(tuple(sources))


def _write_entries(settings: Settings, entries: list[dict[str, Any]]) -> None:
    atomic_write_json(_registry_path(settings), {"version": 1, "sources": entries})


def missing_root(what: str, path: Path) -> str:
    """The one refusal of a root that is not there, for MEDIA_SYNC_PROJECTS_ROOT at start-up and
    for a source being registered: ``<what> does not exist: create it (mkdir -p ...) or mount
    the share``."""
    if path.exists():
        return f"{what} is not a folder: point it at a folder, or mount the share there"
    return (
        f"{what} does not exist: create it (mkdir -p {shlex.quote(str(path))}) or mount the share"
    )


def register_source(settings: Settings, name: str, root: str, enabled: bool = True) -> Source:
    """Add a source root with relocation off; refuses bad names, missing roots, roots outside
    MEDIA_SYNC_SOURCE_PARENTS and roots nested in (or holding) another source."""
    if not _SOURCE_NAME.match(name or ""):
        raise InvalidName(f"source name {name!r} must be 1-32 of a-z, 0-9, '-' or '_'")
    path = Path(root)
    if not path.is_absolute():
        raise InvalidInput(f"source root {root!r} must be an absolute path")
    refused = outside_parents(settings, path)
    if refused is not None:
        raise UnsafePath(f"source root refused: {refused}")
    if not path.is_dir():
        raise InvalidInput(missing_root(f"source root {root!r}", path))
    resolved = path.resolve()
    with file_lock(settings.locks_dir, "sources-registry"):
        entries = _read_entries(settings)
        for existing in load_registry(settings).listed:
            if existing.name == name:
                raise AlreadyExists(f"source {name!r} already exists")
            other = existing.root.resolve()
            if resolved == other or other in resolved.parents or resolved in other.parents:
                raise InvalidInput(f"source root {root!r} overlaps source {existing.name!r}")
        entries.append(
            {
                "name": name,
                "root": str(path),
                "enabled": enabled,
                "relocate": False,
                "created_at": utcnow(),
            }
        )
        _write_entries(settings, entries)
    return Source(name, path, enabled, relocate=False)


def toggle_source(settings: Settings, name: str, enabled: bool | None) -> Source:
    """Enable/disable a source; ``enabled=None`` flips it. `primary` cannot be disabled."""
    if name == PRIMARY and enabled is not True:
        raise InvalidInput(
            "the primary source cannot be disabled: it is MEDIA_SYNC_PROJECTS_ROOT, where "
            "projects are created"
        )
    with file_lock(settings.locks_dir, "sources-registry"):
        current = load_registry(settings).find(name)
        new_state = (not current.enabled) if enabled is None else enabled
        _set_field(settings, current, "enabled", new_state)
    return replace(current, enabled=new_state)


def set_relocate(settings: Settings, name: str, enabled: bool) -> Source:
    """Switch relocation of loose media (into Unsorted-Loose) on or off for a source."""
    with file_lock(settings.locks_dir, "sources-registry"):
        current = load_registry(settings).find(name)
        _set_field(settings, current, "relocate", enabled)
    return replace(current, relocate=enabled)


def _set_field(settings: Settings, current: Source, key: str, value: bool) -> None:
    """Store one field of a source's entry (adding an entry for `primary`); under the lock."""
    entries = _read_entries(settings)
    for entry in entries:
        if entry["name"] == current.name:
            entry[key] = value
            break
    else:
        entries.append(
            {
                "name": current.name,
                "root": str(current.root),
                "enabled": current.enabled,
                "relocate": current.relocate,
                "created_at": utcnow(),
                key: value,
            }
        )
    _write_entries(settings, entries)


def remove_source(settings: Settings, catalog: Catalog, name: str) -> dict[str, Any]:
    """Unregister a source (never `primary`) and drop its catalog rows, which are derived
    state; its files stay on disk untouched. Returns what was removed."""
    if name == PRIMARY:
        raise InvalidInput(
            "the primary source cannot be removed: it is MEDIA_SYNC_PROJECTS_ROOT, where "
            "projects are created"
        )
    with file_lock(settings.locks_dir, "sources-registry"):
        current = load_registry(settings).find(name)
        entries = [e for e in _read_entries(settings) if e["name"] != name]
        _write_entries(settings, entries)
    with catalog.write():
        removed_files, removed_projects = files.forget_source(catalog, name)
    return {
        "name": name,
        "root": str(current.root),
        "removed": True,
        "catalog_files_removed": removed_files,
        "catalog_projects_removed": removed_projects,
        "instructions": f"Unregistered {name!r}; its files at {current.root} were left as they "
        "are. Register it again to index them anew.",
    }

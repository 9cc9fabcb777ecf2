"""Source roots: `primary` from the settings plus the registry in `_sources/sources.json`."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daemon.catalog import utcnow
from daemon.conventions import SOURCES_REGISTRY, atomic_write_json
from daemon.errors import AlreadyExists, CorruptFile, InvalidInput, InvalidName, SourceNotFound
from daemon.locks import file_lock
from daemon.settings import Settings

PRIMARY = "primary"
_SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


@dataclass(frozen=True)
class Source:
    """A root folder holding projects."""

    name: str
    root: Path
    enabled: bool = True

    def status(self) -> dict[str, Any]:
        """Accessibility as the spec means it: exists, is a directory, listable and writable."""
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
        return {
            "name": self.name,
            "root": str(self.root),
            "enabled": self.enabled,
            "accessible": exists and listable and writable,
            "error": error,
        }


@dataclass(frozen=True)
class Registry:
    """Every known source and the registry's own health."""

    sources: tuple[Source, ...]
    error: str | None = None

    def get(self, name: str | None) -> Source:
        wanted = name or PRIMARY
        for source in self.sources:
            if source.name == wanted:
                return source
        known = ", ".join(s.name for s in self.sources)
        raise SourceNotFound(f"source {wanted!r} is not registered (known: {known})")

    @property
    def enabled(self) -> tuple[Source, ...]:
        return tuple(s for s in self.sources if s.enabled)


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
    # `primary` is always enabled (a registry written by an older version may say otherwise).
    sources = [Source(PRIMARY, settings.projects_root, True)]
    for entry in entries:
        if entry["name"] == PRIMARY or not isinstance(entry.get("root"), str):
            continue
        sources.append(Source(entry["name"], Path(entry["root"]), bool(entry.get("enabled", True))))
    return Registry(tuple(sources))


def _write_entries(settings: Settings, entries: list[dict[str, Any]]) -> None:
    atomic_write_json(_registry_path(settings), {"version": 1, "sources": entries})


def register_source(settings: Settings, name: str, root: str, enabled: bool = True) -> Source:
    """Add a source root; refuses bad names, missing roots and roots nested in another."""
    if not _SOURCE_NAME.match(name or ""):
        raise InvalidName(f"source name {name!r} must be 1-32 of a-z, 0-9, '-' or '_'")
    path = Path(root)
    if not path.is_absolute():
        raise InvalidInput(f"source root {root!r} must be an absolute path")
    if not path.is_dir():
        raise InvalidInput(f"source root {root!r} does not exist or is not a directory")
    resolved = path.resolve()
    with file_lock(settings.locks_dir, "sources-registry"):
        entries = _read_entries(settings)
        for existing in load_registry(settings).sources:
            if existing.name == name:
                raise AlreadyExists(f"source {name!r} already exists")
            other = existing.root.resolve()
            if resolved == other or other in resolved.parents or resolved in other.parents:
                raise InvalidInput(f"source root {root!r} overlaps source {existing.name!r}")
        entries.append(
            {"name": name, "root": str(path), "enabled": enabled, "created_at": utcnow()}
        )
        _write_entries(settings, entries)
    return Source(name, path, enabled)


def toggle_source(settings: Settings, name: str, enabled: bool | None) -> Source:
    """Enable/disable a source; ``enabled=None`` flips it. `primary` cannot be disabled."""
    if name == PRIMARY and enabled is not True:
        raise InvalidInput(
            "the primary source cannot be disabled: it is MEDIA_SYNC_PROJECTS_ROOT, where "
            "projects are created"
        )
    with file_lock(settings.locks_dir, "sources-registry"):
        entries = _read_entries(settings)
        current = load_registry(settings).get(name)
        new_state = (not current.enabled) if enabled is None else enabled
        for entry in entries:
            if entry["name"] == name:
                entry["enabled"] = new_state
                break
        else:
            entries.append(
                {
                    "name": name,
                    "root": str(current.root),
                    "enabled": new_state,
                    "created_at": utcnow(),
                }
            )
        _write_entries(settings, entries)
    return Source(current.name, current.root, new_state)

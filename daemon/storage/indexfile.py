"""Each project's `index.json` (the spec's schema), derived from the catalog and written atomically."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from daemon.catalog import Catalog, projects, utcnow
from daemon.errors import CorruptFile, MediaSyncError, SourceNotFound
from daemon.settings import Settings
from daemon.storage.conventions import MANIFEST_DIR, atomic_write_json
from daemon.storage.locks import file_lock
from daemon.storage.projects import ProjectRef
from daemon.storage.sources import load_registry
from daemon.tags import load_tags

log = logging.getLogger("media_sync.index")
DIRTY_DIR = "index-dirty"  # in the state directory: markers of index.json files to catch up


def project_facts(ref: ProjectRef, catalog: Catalog) -> dict[str, Any]:
    """Notes, created_at and the counters a project's catalog row carries (defaults if none)."""
    return projects.facts(catalog, ref.source.name, ref.name)


def kind_counts(kinds: dict[str | None, int], facts: dict[str, Any]) -> dict[str, int]:
    """The spec's counts from files per kind and the project's counters."""
    return {
        "videos": kinds.get("video", 0),
        "images": kinds.get("image", 0),
        "audio": kinds.get("audio", 0),
        "files": sum(kinds.values()),
        "duplicates_skipped": facts["duplicates_skipped"],
        "removed_missing_records": facts["removed_missing_records"],
    }


def project_counts(
    ref: ProjectRef, catalog: Catalog, facts: dict[str, Any] | None = None
) -> dict[str, int]:
    """The spec's counts for a project, by aggregate query (no file list)."""
    kinds = projects.kinds(catalog, ref.source.name, ref.name)
    return kind_counts(kinds, facts if facts is not None else project_facts(ref, catalog))


def build_index(ref: ProjectRef, catalog: Catalog) -> dict[str, Any]:
    """The index.json document for a project, from the catalog."""
    facts = project_facts(ref, catalog)
    files = []
    kinds: dict[str | None, int] = {}
    for row in projects.index_rows(catalog, ref.source.name, ref.name):
        files.append(
            {
                "relative_path": row["rel_path"],
                "sha256": row["sha256"],
                "blake3": row["blake3"],
                "size": row["size"],
                "uploaded_at": row["uploaded_at"],
                "mtime_ns": row["mtime_ns"],  # lets a rebuild reuse the hashes safely
                "tags": load_tags(row["tags"]),
            }
        )
        kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
    return {
        "project": ref.name,
        "source": ref.source.name,
        "notes": facts["notes"],
        "created_at": facts["created_at"],
        "updated_at": utcnow(),
        "files": files,
        "counts": kind_counts(kinds, facts),
    }


# (size, mtime_ns, inode) of each index.json this process wrote last: an index still exactly
# as we left it needs no re-parse for corruption before the next rewrite.
_written: dict[Path, tuple[int, int, int]] = {}


def _identity(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino


def _write_one(settings: Settings, ref: ProjectRef, catalog: Catalog) -> dict[str, Any]:
    with file_lock(settings.locks_dir, ref.lock_key + "-index"):
        current = _identity(ref.index_path)
        if current is not None and _written.get(ref.index_path) != current:
            preserve_if_corrupt(ref)
        document = build_index(ref, catalog)
        atomic_write_json(ref.index_path, document)
        identity = _identity(ref.index_path)
        if identity is not None:
            _written[ref.index_path] = identity
        _dirty_marker(settings, ref).unlink(missing_ok=True)
    return document


def write_index(settings: Settings, ref: ProjectRef, catalog: Catalog) -> dict[str, Any]:
    """Rewrite index.json from the catalog under the project's lock (atomic replace); then
    catch up every index.json an earlier write failed to rewrite (``write_index_or_mark``)."""
    document = _write_one(settings, ref, catalog)
    catch_up_indexes(settings, catalog)
    return document


def _marker(settings: Settings, source_name: str, project: str) -> Path:
    key = hashlib.sha1(f"{source_name}\0{project}".encode()).hexdigest()[:16]
    return settings.state_dir / DIRTY_DIR / f"{key}.json"


def _dirty_marker(settings: Settings, ref: ProjectRef) -> Path:
    return _marker(settings, ref.source.name, ref.name)


def write_index_or_mark(settings: Settings, ref: ProjectRef, catalog: Catalog) -> str | None:
    """``write_index`` after a commit: a failure (a full disk) is no error for the committed
    file. The project is marked (in the state directory) so the next index write anywhere, or
    ``catch_up_indexes``, rewrites it; the warning for the answer comes back."""
    try:
        write_index(settings, ref, catalog)
    except (OSError, MediaSyncError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        log.error("cannot rewrite %s/index.json: %s; marked to catch up", ref.name, reason)
        try:
            marker = _dirty_marker(settings, ref)
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(json.dumps({"source": ref.source.name, "project": ref.name}))
        except OSError:
            log.exception("cannot mark %s/index.json to catch up", ref.name)
        return (
            f"{ref.name}/index.json was not rewritten ({reason}); the file is stored and "
            "catalogued, and index.json catches up at the next index write"
        )
    return None


def dirty_indexes(settings: Settings) -> list[tuple[str, str]]:
    """(source, project) of every index.json waiting to catch up."""
    out = []
    for marker in sorted((settings.state_dir / DIRTY_DIR).glob("*.json")):
        try:
            facts = json.loads(marker.read_text())
            out.append((str(facts["source"]), str(facts["project"])))
        except (OSError, ValueError, KeyError, TypeError):
            marker.unlink(missing_ok=True)
    return out


def catch_up_indexes(settings: Settings, catalog: Catalog) -> int:
    """Rewrite each index.json marked stale (kept marked while it still fails); how many."""
    done = 0
    for source_name, project in dirty_indexes(settings):
        try:
            ref = ProjectRef(load_registry(settings).get(source_name), project)
            if not ref.path.is_dir():  # the project (or its source) is gone: nothing to catch up
                _marker(settings, source_name, project).unlink(missing_ok=True)
                continue
            _write_one(settings, ref, catalog)
            done += 1
        except SourceNotFound:
            _marker(settings, source_name, project).unlink(missing_ok=True)
        except (OSError, MediaSyncError) as exc:
            log.warning("%s/index.json still cannot be rewritten: %s", project, exc)
    return done


def preserve_if_corrupt(ref: ProjectRef) -> Path | None:
    """Move an unparseable index.json aside into `_manifest/` (never silently overwrite it)."""
    try:
        read_index(ref.index_path)
    except CorruptFile:
        stamp = utcnow().replace(":", "").replace("-", "")
        target = ref.path / MANIFEST_DIR / f"index.corrupt-{stamp}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(ref.index_path, target)
        log.warning(
            "%s/index.json was corrupt; kept as %s and rewritten from the catalog",
            ref.name,
            target.name,
        )
        return target
    return None


def read_index(path: Path) -> dict[str, Any] | None:
    """Parse an index.json; None when absent, CorruptFile when it cannot be used."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CorruptFile(f"{path} cannot be read: {exc}") from exc
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise CorruptFile(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("files", []), list):
        raise CorruptFile(f"{path} does not hold an object with a 'files' list")
    return document

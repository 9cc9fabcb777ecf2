"""Adding and removing manual tags on catalogued media (kept in the catalog and index.json)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from daemon.catalog import files as catalog_files
from daemon.errors import InvalidInput
from daemon.ingest.journal import journal, record_project_event
from daemon.library import Library
from daemon.storage.indexfile import write_index
from daemon.storage.projects import ProjectRef, disk_relative
from daemon.tags import apply_tags, derived_tags, dump_tags, load_tags, normalize_tags


@dataclass
class TagResult:
    updated: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def tag_changes(add_raw: object, remove_raw: object) -> tuple[list[str], list[str]]:
    """Normalized tags to add and to remove; a request changing nothing is refused."""
    add = normalize_tags(add_raw, "add_tags")
    remove = normalize_tags(remove_raw, "remove_tags")
    if not add and not remove:
        raise InvalidInput(
            "give 'add_tags' and/or 'remove_tags' with at least one tag, "
            'e.g. {"relative_paths": ["ingest/originals/clip.mov"], "add_tags": ["b-roll"]}'
        )
    return add, remove


def update_tags(
    lib: Library, ref: ProjectRef, rel_paths: list[str], add: list[str], remove: list[str]
) -> TagResult:
    """Apply the tag changes to each catalogued path in one transaction; index.json follows."""
    result = TagResult()
    on_disk = [disk_relative(ref.path, rel) for rel in rel_paths]  # NFC finds a Mac's NFD file
    with lib.catalog.write():
        for rel in on_disk:
            row = catalog_files.find(lib.catalog, ref.source.name, ref.name, rel)
            if row is None:
                result.missing.append(rel)
                continue
            tags = apply_tags(load_tags(row.tags), add, remove)
            catalog_files.set_tags(lib.catalog, row.id, dump_tags(tags))
            result.updated.append(
                {
                    "relative_path": rel,
                    "sha256": row.sha256,
                    "tags": {"manual": tags, "derived": derived_tags(row.kind, rel)},
                }
            )
    if result.updated:
        for item in result.updated:
            journal(ref, "tagged", path=item["relative_path"], tags=item["tags"]["manual"])
        write_index(lib.settings, ref, lib.catalog)
        record_project_event(
            ref,
            "media_tags_updated",
            {
                "paths": [item["relative_path"] for item in result.updated],
                "add_tags": add,
                "remove_tags": remove,
                "source": ref.source.name,
            },
        )
    return result

"""Managing media: delete into the trash, restore, list the trash, move between projects, tags."""

from __future__ import annotations

from typing import Any

from litestar import get, post

from daemon.errors import InvalidInput
from daemon.ingest.selection import requested_paths
from daemon.ingest.tagging import tag_changes, update_tags
from daemon.ingest.transfer import describe, move_media
from daemon.ingest.trash import delete_media, list_trash, restore_media
from ingress.deps import Lib

PATHS_EXAMPLE = '{"relative_paths": ["ingest/originals/clip.mov"]}'


def _body(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidInput(f"the body must be a JSON object such as {PATHS_EXAMPLE}")
    return data


@post("/api/projects/{project:str}/media/delete", status_code=200, sync_to_thread=True)
def delete(lib: Lib, project: str, data: Any = None, source: str | None = None) -> dict[str, Any]:
    """Move catalogued media into the project's `_manifest/trash/` (restorable)."""
    paths = requested_paths(_body(data).get("relative_paths"))
    ref = lib.project(source, project)
    result = delete_media(lib, ref, paths)
    days = lib.settings.trash_days
    kept = f"kept {days} days" if days else "kept until removed by hand"
    return {
        "status": "ok",
        "removed": result.removed,
        "missing": result.missing,
        "trash": result.trash,
        "errors": result.errors,
        "instructions": (
            f"Deleted files are in {ref.name}/_manifest/trash/ ({kept}); POST the same "
            f"relative_paths to /api/projects/{ref.name}/media/restore to bring them back."
        ),
    }


@post("/api/projects/{project:str}/media/restore", status_code=200, sync_to_thread=True)
def restore(lib: Lib, project: str, data: Any = None, source: str | None = None) -> dict[str, Any]:
    """Bring the newest trashed copy of each path back, with its uploaded_at and tags."""
    paths = requested_paths(_body(data).get("relative_paths"))
    ref = lib.project(source, project)
    result = restore_media(lib, ref, paths)
    return {
        "status": "ok",
        "restored": result.restored,
        "missing": result.missing,
        "errors": result.errors,
        "instructions": (
            "Restored files are back in the project (a '-1' suffix when the name was taken); "
            f"GET /api/projects/{ref.name}/trash lists what is left in the trash."
        ),
    }


@get("/api/projects/{project:str}/trash", sync_to_thread=True)
def trash(lib: Lib, project: str, source: str | None = None) -> dict[str, Any]:
    """What the project's trash holds and when each copy is purged."""
    ref = lib.project(source, project)
    days = lib.settings.trash_days
    return {
        "project": ref.name,
        "source": ref.source.name,
        "items": list_trash(lib, ref),
        "retention_days": days,
        "instructions": (
            f"POST {{'relative_paths': [...]}} to /api/projects/{ref.name}/media/restore; "
            + (f"copies are purged {days} days after deletion." if days else "nothing expires.")
        ),
    }


@post("/api/projects/{project:str}/media/move", status_code=200, sync_to_thread=True)
def move(lib: Lib, project: str, data: Any = None, source: str | None = None) -> dict[str, Any]:
    """Move media into another project's `ingest/originals/` (duplicates go to this trash)."""
    body = _body(data)
    paths = requested_paths(body.get("relative_paths"))
    target_name = body.get("target_project")
    target_source = body.get("target_source")
    if not isinstance(target_name, str) or not target_name.strip():
        raise InvalidInput("'target_project' is required, e.g. \"P2-Other\"")
    if target_source is not None and not isinstance(target_source, str):
        raise InvalidInput("'target_source' must be a source name")
    src = lib.project(source, project)
    dst = lib.project(target_source or src.source.name, target_name)
    result = move_media(lib, src, dst, paths)
    return {
        "status": "ok",
        **describe(result),
        "target_project": dst.name,
        "target_source": dst.source.name,
        "instructions": (
            f"Moved files are in {dst.name}/ingest/originals/; files already there are "
            f"listed in 'duplicates' and were moved to {src.name}/_manifest/trash/."
        ),
    }


@post("/api/projects/{project:str}/media/tags", status_code=200, sync_to_thread=True)
def tags(lib: Lib, project: str, data: Any = None, source: str | None = None) -> dict[str, Any]:
    """Add and/or remove manual tags (trimmed, lower-cased, de-duplicated, sorted)."""
    body = _body(data)
    paths = requested_paths(body.get("relative_paths"))
    add, remove = tag_changes(body.get("add_tags"), body.get("remove_tags"))
    ref = lib.project(source, project)
    result = update_tags(lib, ref, paths, add, remove)
    return {
        "status": "ok",
        "updated": result.updated,
        "missing": result.missing,
        "instructions": (
            f"Filter by a tag with GET /api/projects/{ref.name}/media?tag=<tag>; "
            "tags are kept in index.json too."
        ),
    }


ROUTES = [delete, restore, trash, move, tags]

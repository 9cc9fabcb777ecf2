"""Projects: list, create, fetch, and the sync-album audit event."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post

from daemon.catalog import projects as catalog_projects
from daemon.catalog import utcnow
from daemon.errors import InvalidInput
from daemon.storage.conventions import EVENTS_JOURNAL, append_jsonl
from daemon.storage.indexfile import (
    build_index,
    project_counts,
    project_facts,
    read_index,
    write_index,
)
from daemon.storage.projects import ProjectRef, create_project, list_project_names
from ingress.deps import Lib
from ingress.urls import base_url, source_query, upload_url


def project_summary(
    request: Request[Any, Any, Any], lib: Lib, ref: ProjectRef, accessible: bool | None = None
) -> dict[str, Any]:
    """The spec's fields for a project, plus counts from the catalog.

    ``accessible`` lets a listing check its source root once instead of once per project.
    """
    if accessible is None:
        accessible = bool(ref.source.status()["accessible"])
    facts = project_facts(ref, lib.catalog)
    base = base_url(request, lib.settings)
    return {
        "name": ref.name,
        "source": ref.source.name,
        "source_accessible": accessible,
        "index_exists": ref.index_path.is_file(),
        "upload_url": upload_url(base, ref),
        "media_url": f"{base}/api/projects/{quote(ref.name)}/media{source_query(ref.source.name)}",
        "notes": facts["notes"],
        "created_at": facts["created_at"],
        # the page opens on the project used last: the newest arrival, else its creation
        "last_activity_at": catalog_projects.last_upload(lib.catalog, ref.source.name, ref.name)
        or facts["created_at"],
        "counts": project_counts(ref, lib.catalog, facts),
        "instructions": (
            f"POST files as multipart field 'file' to {upload_url(base, ref)}; "
            f"files land in {ref.name}/ingest/originals/ and duplicates are skipped."
        ),
    }


@get("/api/projects", sync_to_thread=True)
def list_projects(
    request: Request[Any, Any, Any], lib: Lib, source: str | None = None
) -> list[dict[str, Any]]:
    """List projects of a source (default `primary`)."""
    src = lib.source(source)
    accessible = bool(src.status()["accessible"])
    return [
        project_summary(request, lib, ProjectRef(src, name), accessible)
        for name in list_project_names(src)
    ]


@post("/api/projects", sync_to_thread=True)
def create(
    request: Request[Any, Any, Any],
    lib: Lib,
    data: dict[str, Any],
    source: str | None = None,
) -> Response[dict[str, Any]]:
    """Create `P{n}-<label>`; an existing name or label returns that project with 200."""
    name = data.get("name")
    notes = data.get("notes", "")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput('\'name\' is required, e.g. {"name": "New Project"}')
    if not isinstance(notes, str):
        raise InvalidInput("'notes' must be a string")
    src = lib.source(source or data.get("source"))
    ref, created = create_project(lib.settings, src, name)
    with lib.catalog.write():
        catalog_projects.ensure(lib.catalog, ref.source.name, ref.name)
        if created and notes:
            catalog_projects.set_notes(lib.catalog, ref.source.name, ref.name, notes)
    if created or not ref.index_path.exists():
        write_index(lib.settings, ref, lib.catalog)
    body = project_summary(request, lib, ref)
    body["created"] = created
    if not created:
        body["instructions"] = (
            f"{ref.name} already exists; nothing was created. " + body["instructions"]
        )
    # The original answers 201 for both: the project named is there (no second folder is made).
    return Response(body, status_code=201)


@get("/api/projects/{project:str}", sync_to_thread=True)
def fetch(
    request: Request[Any, Any, Any], lib: Lib, project: str, source: str | None = None
) -> dict[str, Any]:
    """The project's index.json document (files, counts) with the listing's fields beside it."""
    ref = lib.project(source, project)
    summary = project_summary(request, lib, ref)
    try:
        read_index(ref.index_path)
        index_error = None
    except Exception as exc:
        index_error = str(exc)
    body = {**build_index(ref, lib.catalog), **summary, "index_error": index_error}
    body["project"] = ref.name
    count = body["counts"]["files"]
    body["instructions"] = (
        f"{ref.name} holds {count} indexed file(s); stream them from each entry's "
        f"relative_path under /media/{ref.name}/, or upload more to its upload_url."
    )
    return body


@post("/api/projects/{project:str}/sync-album", sync_to_thread=True, status_code=200)
def sync_album(
    lib: Lib, project: str, data: dict[str, Any] | None = None, source: str | None = None
) -> dict[str, Any]:
    """Record an iOS Shortcut audit event in `_manifest/events.jsonl` (`{timestamp, event,
    payload}` lines, as the original wrote them)."""
    ref = lib.project(source, project)
    body = data or {}
    payload: dict[str, Any] = {
        key: str(body[key]) for key in ("album_name", "device", "note") if body.get(key) is not None
    }
    payload.update(
        {k: v for k, v in body.items() if k not in payload and isinstance(v, str | int | float)}
    )
    payload.update(project=ref.name, source=ref.source.name)
    event = {"timestamp": utcnow(), "event": "sync-album", "payload": payload}
    append_jsonl(ref.path / EVENTS_JOURNAL, event)
    return {
        "status": "recorded",
        "event": event,
        "instructions": "Now upload each file to this project's upload_url.",
    }


ROUTES = [list_projects, create, fetch, sync_album]

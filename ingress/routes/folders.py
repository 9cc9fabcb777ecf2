"""Folders that are not projects: list them, and adopt one as the next `P{n}-<label>`."""

from __future__ import annotations

from typing import Any

from litestar import get, post

from daemon.errors import InvalidInput
from daemon.ingest.foreign import adopt_folder, unadopted_folders
from daemon.storage.indexfile import project_counts
from daemon.watch.reconcile import Scope, reindex
from ingress.deps import Lib
from ingress.routes.reindex import summarize

ADOPT_EXAMPLE = '{"source": "primary", "folder": "Wedding 2026", "dry_run": true}'


@get("/api/folders/unadopted", sync_to_thread=True)
def unadopted(lib: Lib, source: str | None = None) -> dict[str, Any]:
    """Top-level folders of each enabled source (or `?source=`) that are not projects, with
    the media files inside (counting stops at 10,000: `media_files_capped`)."""
    folders = unadopted_folders(lib, source)
    return {
        "folders": folders,
        "instructions": (
            "Media in these folders is not catalogued. POST /api/folders/adopt with "
            f"{ADOPT_EXAMPLE} to see, then (dry_run false) make one a project."
            if folders
            else "Every folder in the source roots is a project."
        ),
    }


def _adopt_body(data: Any) -> tuple[str | None, str, bool]:
    if not isinstance(data, dict):
        raise InvalidInput(f"the body must be a JSON object such as {ADOPT_EXAMPLE}")
    source, folder, dry_run = data.get("source"), data.get("folder"), data.get("dry_run", False)
    if source is not None and not isinstance(source, str):
        raise InvalidInput("'source' must be a source name")
    if not isinstance(folder, str) or not folder:
        raise InvalidInput(f"'folder' is required, e.g. {ADOPT_EXAMPLE}")
    if not isinstance(dry_run, bool):
        raise InvalidInput("'dry_run' must be true or false")
    return source, folder, dry_run


@post("/api/folders/adopt", sync_to_thread=True, status_code=200)
def adopt(lib: Lib, data: Any = None) -> dict[str, Any]:
    """Rename a folder that is not a project to the next `P{n}-<label>` and index it like any
    project (loose files relocated by the normal rules); `dry_run` changes nothing."""
    source, folder, dry_run = _adopt_body(data)
    result = adopt_folder(lib, source, folder, dry_run=dry_run)
    body = result.as_dict()
    ref = result.ref
    if ref is None:
        body["instructions"] = (
            f"Dry run: {folder!r} would become {result.project} ({result.media_files} media "
            "file(s)); nothing was changed. Send dry_run false to adopt it."
        )
        return body
    scope = Scope(frozenset({ref.name}), root=False)
    reconciled = reindex(lib, [ref.source], scope)[0]  # as a project's reindex does
    summary = summarize([reconciled], [ref.source])
    body["reindex"] = {key: summary[key] for key in ("indexed", "relocated", "settling", "errors")}
    body["counts"] = project_counts(ref, lib.catalog)
    body["instructions"] = (
        f"{folder!r} is now the project {ref.name}; its media are indexed "
        f"(GET /api/projects/{ref.name}/media)."
    )
    return body


ROUTES = [unadopted, adopt]

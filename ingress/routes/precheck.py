"""`POST /api/projects/{p}/upload-check`: which of a client's files the project needs sent."""

from __future__ import annotations

import json
from typing import Any

import anyio.to_thread
from litestar import Request, post

from daemon.errors import InvalidInput
from daemon.ingest import precheck
from daemon.storage.projects import ProjectRef
from ingress import sessions
from ingress.deps import Lib

MAX_BODY = 8 << 20  # 10,000 items with long names and every field fit in well under this


async def _body(request: Request[Any, Any, Any]) -> Any:
    data = await sessions.read_small(request, MAX_BODY, "a pre-check body")
    try:
        return json.loads(data)
    except ValueError:
        raise InvalidInput(
            'the body must be JSON: {"items": [{"name": "IMG_0001.MOV", "size": 123456, '
            '"captured_at": "2024-05-01T12:30:00+02:00"}]}'
        ) from None


def _session(request: Request[Any, Any, Any], query: str | None, body: Any) -> str | None:
    given = sessions.batch_id_of(request, query)
    named = body.get("batch_id") if isinstance(body, dict) else None
    if named is not None and not isinstance(named, str):
        raise InvalidInput("'batch_id' must be a string")
    if named and given and named != given:
        raise InvalidInput("the body's batch_id and the query's name different sessions")
    return given or named or None


def _check(
    lib: Lib, source: str | None, project: str, body: Any, batch_id: str | None
) -> tuple[ProjectRef, list[dict[str, Any]]]:
    items = precheck.parse_items(body)
    ref = lib.project(source, project)
    return ref, precheck.check(lib, ref, items, batch_id)


@post(
    "/api/projects/{project:str}/upload-check",
    request_max_body_size=None,
    status_code=200,
    summary="Pre-upload check: which files does the project need sent?",
)
async def upload_check(
    request: Request[Any, Any, Any],
    lib: Lib,
    project: str,
    source: str | None = None,
    batch_id: str | None = None,
) -> dict[str, Any]:
    """Send `{"items": [{name, size, sha256?, captured_at?, modified_at?}], "batch_id"?}` (or a bare list, at
    most 10,000 items); each comes back, in order, as `{name, decision: "upload"|"skip",
    reason, path?}`. `skip` only for bytes proven on disk in the project: the same sha256, or
    the same name and size (and capture time, when given), or the same size and capture time
    under another name. `modified_at` (a browser's `File.lastModified`) only confirms a match,
    never costs an upload. Skipped items are recorded in the sync session `batch_id` names."""
    body = await _body(request)
    session = _session(request, batch_id, body)
    ref, answers = await anyio.to_thread.run_sync(_check, lib, source, project, body, session)
    counts = {d: sum(a["decision"] == d for a in answers) for d in ("upload", "skip")}
    return {
        "project": ref.name,
        "source": ref.source.name,
        "batch_id": session,
        "items": answers,
        "counts": counts,
        "instructions": (
            f"Send the {counts['upload']} item(s) marked 'upload' (in this order, matching the "
            f"list you sent); the {counts['skip']} marked 'skip' are in the project already."
        ),
    }


ROUTES = [upload_check]

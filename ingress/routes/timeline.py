"""A file's ingest timeline: `GET /api/projects/{project}/media/{sha256}/timeline`."""

from __future__ import annotations

import re
from typing import Any

from litestar import get

from daemon.errors import MediaNotFound
from daemon.ingest.timeline import file_timeline
from ingress.deps import Lib

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@get("/api/projects/{project:str}/media/{sha256:str}/timeline", sync_to_thread=True)
def timeline(lib: Lib, project: str, sha256: str, source: str | None = None) -> dict[str, Any]:
    """What happened to one file, in time order: arrived (by upload from a client, or dropped
    on the share), settled, hashed, duplicate or stored, relocated, metadata, thumbnail,
    queued to Resolve, imported; a step that failed has `ok: false` and the reason."""
    wanted = sha256.lower()
    if _SHA256.match(wanted) is None:
        raise MediaNotFound(f"{sha256!r} is not a sha256 (64 hex digits)")
    ref = lib.project(source, project)
    body = file_timeline(lib, ref, wanted)
    body["instructions"] = (
        "Steps are listed in time order; a step missing did not happen (or was not recorded: "
        "the live-feed events behind metadata and thumbnail steps are kept a week)."
    )
    return body


ROUTES = [timeline]

"""Field-by-field checks of JSON answers against the contract table (seed-api-contract.md)."""

from __future__ import annotations

from typing import Any

import httpx

NULL = type(None)
JSON_TYPES = {dict: "object", list: "list", str: "string", int: "int", bool: "bool", NULL: "null"}
Kind = type | tuple[type, ...]


def _is(value: object, kind: type) -> bool:
    """JSON type test: a bool is not an int here, and an int is not a bool."""
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def fields(body: object, spec: dict[str, Kind], where: str = "body") -> dict[str, Any]:
    """Every field of ``spec`` is present with (one of) its JSON type(s); returns the body."""
    assert isinstance(body, dict), f"{where} must be a JSON object, got {body!r:.300}"
    missing = [name for name in spec if name not in body]
    assert not missing, f"{where} lacks {missing}: {sorted(body)}"
    for name, kinds in spec.items():
        options = kinds if isinstance(kinds, tuple) else (kinds,)
        wanted = " or ".join(JSON_TYPES[k] for k in options)
        value = body[name]
        assert any(_is(value, k) for k in options), f"{where}.{name} must be {wanted}: {value!r}"
    return body


def instructions(body: dict[str, Any], where: str = "body") -> None:
    """`instructions` is one non-empty sentence of advice."""
    advice = body.get("instructions")
    assert isinstance(advice, str) and advice.strip(), f"{where}.instructions: {advice!r}"


def answer(response: httpx.Response, status: int) -> Any:
    """The status exactly, then the JSON body."""
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url}: expected {status}, got "
        f"{response.status_code}: {response.text[:500]}"
    )
    return response.json()


def error(response: httpx.Response, status: int) -> dict[str, Any]:
    """The one error shape: `{"detail": str}` with the listed 4xx/5xx."""
    body = answer(response, status)
    fields(body, {"detail": str}, f"{status} error")
    assert body["detail"].strip(), body
    return dict(body)


PROJECT_ITEM: dict[str, Kind] = {
    "name": str,
    "source": str,
    "source_accessible": bool,
    "index_exists": bool,
    "upload_url": str,
}
INDEX_DOC: dict[str, Kind] = {
    "project": str,
    "notes": (str, NULL),
    "created_at": str,
    "files": list,
    "counts": dict,
}
UPLOAD: dict[str, Kind] = {
    "status": str,
    "path": str,
    "sha256": str,
    "size": int,
    "filename": str,
    "uploaded_at": str,
    "served": dict,
}
SERVED: dict[str, Kind] = {"stream_url": str, "download_url": str}
PROJECT_REINDEX: dict[str, Kind] = {
    "indexed": int,
    "files": list,
    "removed": int,
    "relocated": int,
    "skipped_unsupported": int,
}
ROOT_REINDEX: dict[str, Kind] = {
    "sources": list,
    "indexed_projects": int,
    "indexed_files": int,
    "removed_missing": int,
}
REINDEX_SOURCE: dict[str, Kind] = {
    "source": str,
    "root": str,
    "accessible": bool,
    "projects": list,
}
REINDEX_PROJECT: dict[str, Kind] = {
    "name": str,
    "indexed": int,
    "removed": int,
    "relocated": int,
    "skipped_unsupported": int,
}
ORGANIZE_SOURCE: dict[str, Kind] = {
    "source": str,
    "moved": int,
    "destination_project": (str, NULL),
    "files": list,
}
MEDIA_LIST: dict[str, Kind] = {
    "project": str,
    "source": str,
    "media": list,
    "counts": dict,
}
SOURCE_ITEM: dict[str, Kind] = {
    "name": str,
    "root": str,
    "type": str,
    "enabled": bool,
    "accessible": bool,
}
JOB: dict[str, Kind] = {
    "id": int,
    "created_at": str,
    "status": str,
    "project": str,
    "new_project_name": (str, NULL),
    "media_rel_paths": list,
    "mode": str,
    "source": str,
    "claimed_by": (str, NULL),
    "claimed_at": (str, NULL),
    "done_at": (str, NULL),
    "failed_at": (str, NULL),
    "error": (str, NULL),
}

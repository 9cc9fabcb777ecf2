"""Calls to the HTTP API that tests make to set the scene, each asserting its one right status.

They take any ``httpx.Client``: the in-process Litestar ``TestClient`` is one, and so is
``LiveServer.client()``.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

import httpx

ERROR_FIELDS = {"detail", "error", "status_code"}


def create_project(http: httpx.Client, name: str) -> str:
    """``POST /api/projects``: 201 for a new name and for an existing one; the folder's name."""
    response = http.post("/api/projects", json={"name": name})
    assert response.status_code == 201, response.text
    project: str = response.json()["name"]
    return project


def upload(http: httpx.Client, project: str, path: Path) -> dict[str, Any]:
    """Upload the file at ``path`` under its own name: 200, stored or duplicate."""
    return upload_bytes(http, project, path.name, path.read_bytes())


def upload_bytes(
    http: httpx.Client, project: str, name: str, data: bytes, content_type: str | None = None
) -> dict[str, Any]:
    """Upload ``data`` as one multipart ``file`` named ``name``: 200, stored or duplicate."""
    part = (name, data) if content_type is None else (name, data, content_type)
    response = http.post(f"/api/projects/{project}/upload", files={"file": part})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def listing(http: httpx.Client, project: str, **params: str) -> list[dict[str, Any]]:
    """Every media item of a project (no limit: the server answers them all)."""
    response = http.get(f"/api/projects/{project}/media", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["media"]
    return items


def assert_error(
    response: httpx.Response, status: int, error: str, extra: Collection[str] = ()
) -> dict[str, Any]:
    """The exact status and the one JSON error shape: ``{detail, error, status_code}``, plus the
    ``extra`` fields this error carries (e.g. ``accepted`` on a 415)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) == ERROR_FIELDS | set(extra), body
    assert body["status_code"] == status and body["error"] == error, body
    assert isinstance(body["detail"], str) and body["detail"], body
    return body

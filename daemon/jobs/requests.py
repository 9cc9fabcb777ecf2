"""Checking what a caller asks of the Resolve queue: an open request and an agent's results."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from daemon.catalog import Catalog
from daemon.catalog.files import in_project
from daemon.errors import InvalidInput, MediaNotFound, UnsafePath
from daemon.storage.conventions import PROXIES, check_relative, safe_join
from daemon.storage.projects import ProjectRef

SELECT = "__select__"
NEW = "__new__"
MODES = {
    "import": "import",
    "reveal_in_explorer": "reveal_in_explorer",
    "reveal": "reveal_in_explorer",
}
RESULT_STATUSES = ("imported", "skipped", "missing", "failed")
PROXY_STATUSES = ("linked", "missing", "failed")  # per clip, when the job named a proxy
MAX_PATHS = 5000
MAX_KEY = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class OpenRequest:
    """A validated ``POST /api/resolve/open`` body (paths not yet checked on disk)."""

    resolve_project: str  # "" means the project currently open in Resolve (__select__)
    new_project_name: str | None
    media_project: str
    mode: str
    source: str | None
    media_rel_paths: tuple[str, ...]
    idempotency_key: str | None


def _name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{what!r} must be a non-empty string")
    name = value.strip()
    if _CONTROL.search(name) or len(name) > 255:
        raise InvalidInput(f"{what!r} must be at most 255 characters without control characters")
    return name


def _optional_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    return _name(value, key)


def _rel_paths(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list):
        raise InvalidInput("'media_rel_paths' must be a list of paths relative to the project")
    if not value:
        raise InvalidInput("'media_rel_paths' must name at least one file")
    if len(value) > MAX_PATHS:
        raise InvalidInput(f"'media_rel_paths' may name at most {MAX_PATHS} files")
    paths: list[str] = []
    for raw in value:
        if not isinstance(raw, str):
            raise InvalidInput("every entry of 'media_rel_paths' must be a string")
        rel = str(check_relative(raw, "media path"))
        if rel not in paths:
            paths.append(rel)
    return tuple(paths)


def _mode(value: object) -> str:
    mode = MODES.get(value) if isinstance(value, str) else None
    if mode is None:
        raise InvalidInput(f"'mode' must be 'import' or 'reveal_in_explorer', not {value!r}")
    return mode


def _targets(data: Mapping[str, Any]) -> tuple[str, str | None, str]:
    """(resolve project, new project name, media project) from the body's project fields."""
    project = _name(data.get("project"), "project")
    media_project = _optional_str(data, "media_project")
    new_name = _optional_str(data, "new_project_name")
    if project in (SELECT, NEW) and media_project is None:
        raise InvalidInput(
            f"'media_project' (the media-sync project the files come from) is required "
            f"when 'project' is {project!r}"
        )
    if project == NEW:
        if new_name is None:
            raise InvalidInput("'new_project_name' is required when 'project' is '__new__'")
        return new_name, new_name, media_project or ""
    if project == SELECT:  # the open project; a new name would only mislead the agent
        return "", None, media_project or ""
    return project, new_name, media_project or project


def parse_open(data: object, header_key: str | None = None) -> OpenRequest:
    """Validate the shape of an open request; the body's key wins over the header's."""
    if not isinstance(data, Mapping):
        raise InvalidInput("body must be a JSON object")
    resolve_project, new_name, media_project = _targets(data)
    source = _optional_str(data, "source")
    key = _optional_str(data, "idempotency_key") or (header_key.strip() if header_key else None)
    if key is not None and len(key) > MAX_KEY:
        raise InvalidInput(f"idempotency key is longer than {MAX_KEY} characters")
    return OpenRequest(
        resolve_project=resolve_project,
        new_project_name=new_name,
        media_project=media_project,
        mode=_mode(data.get("mode", "import")),
        source=source,
        media_rel_paths=_rel_paths(data.get("media_rel_paths")),
        idempotency_key=key or None,
    )


def check_media(ref: ProjectRef, rel_paths: tuple[str, ...]) -> None:
    """Prove every path is a regular file inside the project (symlinks resolved)."""
    for rel in rel_paths:
        try:
            path = safe_join(ref.path, rel, "media path")
        except UnsafePath as exc:
            raise UnsafePath(f"{exc.detail} (project {ref.name!r})") from exc
        try:
            is_file = path.is_file()
        except OSError:
            is_file = False
        if not is_file:
            raise MediaNotFound(
                f"media {rel!r} is not a file in project {ref.name!r} of source "
                f"{ref.source.name!r}",
                path=rel,
            )


def proxy_rel_paths(catalog: Catalog, ref: ProjectRef, rel_paths: list[str]) -> list[str | None]:
    """Per clip, the source-relative path of its Resolve proxy (``<project>/ingest/proxies/
    <sha256>.mov``, made by ``daemon.media.proxy``) when that file is there, else None."""
    known = in_project(catalog, ref.source.name, ref.name)
    found: list[str | None] = []
    for rel in rel_paths:
        record = known.get(rel)
        proxy = f"{PROXIES}/{record.sha256}.mov" if record is not None else None
        try:
            there = proxy is not None and safe_join(ref.path, proxy).is_file()
        except (UnsafePath, OSError):
            there = False
        found.append(f"{ref.name}/{proxy}" if there else None)
    return found


def _result_entry(entry: object) -> dict[str, Any]:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("path"), str):
        raise InvalidInput("every result must be an object with a string 'path'")
    status = entry.get("status")
    if status not in RESULT_STATUSES:
        raise InvalidInput(f"result status must be one of {', '.join(RESULT_STATUSES)}")
    proxy = entry.get("proxy")
    if proxy is not None and proxy not in PROXY_STATUSES:
        raise InvalidInput(f"result proxy must be one of {', '.join(PROXY_STATUSES)} or absent")
    return {str(k): v for k, v in entry.items()}


def parse_result(data: object) -> dict[str, Any] | None:
    """The result to store from a ``/complete`` body: per-clip results and their counts."""
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise InvalidInput("body must be a JSON object")
    extra = {str(k): v for k, v in data.items() if k not in ("claimed_by", "results")}
    raw = data.get("results")
    if raw is None:
        return extra or None
    if not isinstance(raw, list):
        raise InvalidInput("'results' must be a list")
    results = [_result_entry(entry) for entry in raw]
    summary = {status: sum(r["status"] == status for r in results) for status in RESULT_STATUSES}
    return {**extra, "results": results, "summary": summary}

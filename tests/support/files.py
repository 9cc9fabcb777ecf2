"""Files in tests: dropping files, snapshots of trees, leftover temps, and what a project folder
says about itself (index.json, the files and events journals), read as a client would."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Collection
from pathlib import Path
from typing import Any

from daemon.storage.conventions import TEMP_PREFIX
from daemon.storage.projects import ProjectRef

Folder = Path | ProjectRef


def write(path: Path, data: bytes, age: float = 0.0) -> Path:
    """Write a file (parents made), its mtime ``age`` seconds in the past when given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if age:
        stamp = time.time() - age
        os.utime(path, (stamp, stamp))
    return path


def tree(root: Path, skip: Collection[str] = ()) -> dict[str, bytes | None]:
    """Every path under ``root`` with its bytes (None for a folder), leaving out folders named
    in ``skip`` and what they hold. Equal before and after: nothing was written."""
    out: dict[str, bytes | None] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [name for name in dirnames if name not in skip]
        for name in dirnames:
            out[os.path.relpath(os.path.join(dirpath, name), root)] = None
        for name in filenames:
            path = os.path.join(dirpath, name)
            out[os.path.relpath(path, root)] = Path(path).read_bytes()
    return out


def temp_files(root: Path) -> list[Path]:
    """media-sync's temp files anywhere under ``root``: none may outlive a request."""
    return sorted(root.rglob(f"{TEMP_PREFIX}*"))


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def jsonl(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of a journal; none when it does not exist yet."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _path(folder: Folder) -> Path:
    return folder.path if isinstance(folder, ProjectRef) else folder


def index_doc(folder: Folder) -> dict[str, Any]:
    """The project's index.json document."""
    document: dict[str, Any] = json.loads((_path(folder) / "index.json").read_text())
    return document


def index_entries(folder: Folder) -> dict[str, dict[str, Any]]:
    """The project's index.json entries by relative path."""
    return {entry["relative_path"]: entry for entry in index_doc(folder)["files"]}


def index_paths(folder: Folder) -> list[str]:
    """The relative paths index.json lists, in its order."""
    return [entry["relative_path"] for entry in index_doc(folder)["files"]]


def journal(folder: Folder) -> list[dict[str, Any]]:
    """``_manifest/files.jsonl``: one line per file stored, found or removed."""
    return jsonl(_path(folder) / "_manifest" / "files.jsonl")


def events(folder: Folder) -> list[dict[str, Any]]:
    """``_manifest/events.jsonl``: the original's ``{timestamp, event, payload}`` lines."""
    return jsonl(_path(folder) / "_manifest" / "events.jsonl")

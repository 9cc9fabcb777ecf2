"""Helpers for the watcher tests: writing files, reading rows, index.json and the journal."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from daemon.catalog import File
from daemon.storage.projects import ProjectRef


def write(path: Path, data: bytes, age: float = 0.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if age:
        stamp = time.time() - age
        os.utime(path, (stamp, stamp))
    return path


def rows(ref: ProjectRef) -> dict[str, File]:
    query = File.select().where((File.source == ref.source.name) & (File.project == ref.name))
    return {row.rel_path: row for row in query}


def index_paths(ref: ProjectRef) -> list[str]:
    document = json.loads(ref.index_path.read_text())
    return [entry["relative_path"] for entry in document["files"]]


def index_doc(ref: ProjectRef) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(ref.index_path.read_text())
    return document


def journal(ref: ProjectRef) -> list[dict[str, Any]]:
    path = ref.path / "_manifest" / "files.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()

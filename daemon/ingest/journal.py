"""The projects' own journals: `_manifest/files.jsonl` (what happened to each file) and
`_manifest/events.jsonl` (the original service's event lines), appended after each commit."""

from __future__ import annotations

import errno
import json
import logging
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from daemon.catalog import utcnow
from daemon.errors import SymlinkRefused
from daemon.storage.conventions import EVENTS_JOURNAL, FILES_JOURNAL, append_jsonl, writable_dir
from daemon.storage.projects import ProjectRef

log = logging.getLogger("media_sync.ingest")


def append(path: Path, record: dict[str, Any]) -> str | None:
    """Append a journal line; a failure is logged and returned as a warning, never raised."""
    try:
        append_jsonl(path, record)
    except OSError as exc:
        log.error("cannot append to %s: %s", path, exc)
        return f"{path.parent.name}/{path.name} was not appended to ({exc.strerror or exc})"
    return None


def _append_lines(path: Path, records: Sequence[dict[str, Any]]) -> None:
    """``append_jsonl`` for several records: one O_APPEND write of all their lines (a batch's
    lines for one journal), with the same refusals (no symlink, a regular file only)."""
    writable_dir(path.parent)
    data = "".join(
        json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n" for record in records
    ).encode()
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SymlinkRefused(f"{path} is a symlink: media-sync appends only to files") from exc
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SymlinkRefused(f"{path} is not a regular file; media-sync appends only to files")
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def append_many(path: Path, records: Sequence[dict[str, Any]]) -> str | None:
    """Append journal lines at once; a failure is logged and returned as a warning."""
    if len(records) == 1:
        return append(path, records[0])
    try:
        _append_lines(path, records)
    except OSError as exc:
        log.error("cannot append to %s: %s", path, exc)
        return f"{path.parent.name}/{path.name} was not appended to ({exc.strerror or exc})"
    return None


def file_line(ref: ProjectRef, action: str, **fields: Any) -> dict[str, Any]:
    """One `files.jsonl` record."""
    record = {"at": utcnow(), "action": action, "project": ref.name, "source": ref.source.name}
    record.update(fields)
    return record


def journal(ref: ProjectRef, action: str, **fields: Any) -> str | None:
    """Append one line to the project's `_manifest/files.jsonl` audit log (a warning on failure)."""
    return append(ref.path / FILES_JOURNAL, file_line(ref, action, **fields))


def project_event(
    ref: ProjectRef, event: str, payload: dict[str, Any]
) -> tuple[dict[str, Any], str | None]:
    """Append the original's ``{timestamp, event, payload}`` line to `_manifest/events.jsonl`:
    the line, and a warning when it could not be written."""
    line = {"timestamp": utcnow(), "event": event, "payload": payload}
    return line, append(ref.path / EVENTS_JOURNAL, line)


def record_project_event(ref: ProjectRef, event: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Append the original's ``{timestamp, event, payload}`` line to `_manifest/events.jsonl`.

    Returns the line. Failing to write it is logged, never fatal: the file itself is committed.
    """
    return project_event(ref, event, payload)[0]

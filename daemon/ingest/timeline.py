"""One file's ingest timeline, assembled from what is recorded: the project's `files.jsonl`
journal (arrival, settling, hashing, stored or duplicate, relocation), the catalog's events
(metadata, thumbnail), the content's row (a failed thumbnail), the thumbnail file's own time, and
the Resolve jobs naming the file. A step nothing recorded is left out; no time is made up.

    arrived         an upload (`client`, `received_at` journaled: multipart and raw PUT uploads)
                    or a drop (`seen_at`)
    settled/hashed  a drop: when its size stopped changing, when its bytes were hashed
    duplicate       bytes the project held already (an upload skipped, or a dropped copy)
    stored          placed and catalogued (an upload, a restore, or a drop indexed)
    relocated       moved from outside `ingest/originals/` into it
    metadata        read (or failed: ok false, the reason)
    thumbnail       made (or failed)
    queued_resolve  a Resolve job names it;  imported: that job finished (or failed)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from daemon.catalog import timeline as recorded
from daemon.errors import MediaNotFound
from daemon.library import Library
from daemon.storage.conventions import FILES_JOURNAL
from daemon.storage.projects import ProjectRef

# time order, and the order of steps recorded within the same second
ORDER = (
    "arrived",
    "settled",
    "relocated",
    "hashed",
    "duplicate",
    "stored",
    "metadata",
    "thumbnail",
    "queued_resolve",
    "imported",
)
UPLOAD_ACTIONS = frozenset({"stored", "restored", "duplicate"})


@dataclass(frozen=True)
class Step:
    step: str
    at: str
    ok: bool
    detail: str

    def sort_key(self) -> tuple[datetime, int]:
        return _when(self.at), ORDER.index(self.step)

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.step, "at": self.at, "ok": self.ok, "detail": self.detail}


def _when(stamp: str) -> datetime:
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)


def _journal(ref: ProjectRef, sha256: str, paths: set[str]) -> list[dict[str, Any]]:
    """The journal lines of this content: by sha256, and relocations into one of its paths."""
    targets = {f"{ref.name}/{p}" for p in paths}
    found = []
    try:
        with open(ref.path / FILES_JOURNAL, encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if sha256 not in line and '"relocated"' not in line:
                    continue
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(entry, dict):
                    continue
                if entry.get("sha256") == sha256 or (
                    entry.get("action") == "relocated" and entry.get("to") in targets
                ):
                    found.append(entry)
    except OSError:
        return []
    return found


def _arrival_steps(entry: dict[str, Any]) -> list[Step]:
    """What a `stored`, `restored`, `duplicate` or `indexed` line says of how the file came."""
    action, at, path = entry.get("action"), str(entry.get("at", "")), entry.get("path")
    upload = "original_name" in entry
    steps: list[Step] = []
    if upload and action in UPLOAD_ACTIONS and entry.get("received_at"):
        how = f"upload from {entry.get('client') or 'an unknown client'}"
        steps.append(Step("arrived", str(entry["received_at"]), True, how))
    elif not upload:
        if entry.get("seen_at"):
            how = "dropped on the share" if entry.get("origin") == "drop" else "found on disk"
            steps.append(Step("arrived", str(entry["seen_at"]), True, how))
        if entry.get("settled_at"):
            steps.append(Step("settled", str(entry["settled_at"]), True, "size stopped changing"))
        if entry.get("hashed_at"):
            steps.append(
                Step("hashed", str(entry["hashed_at"]), True, f"{entry.get('size')} bytes")
            )
    if action == "duplicate":
        if upload:
            detail = f"already in the project as {path}; nothing was stored"
        else:
            detail = f"a copy of {entry.get('duplicate_of')} at {path}; kept, flagged duplicate"
        steps.append(Step("duplicate", at, True, detail))
    elif action in ("stored", "indexed"):
        steps.append(Step("stored", at, True, f"{path} ({entry.get('size')} bytes)"))
    elif action == "restored":
        steps.append(Step("stored", at, True, f"{path}, restored from {entry.get('from')}"))
    return steps


def _journal_steps(entries: list[dict[str, Any]]) -> list[Step]:
    steps: list[Step] = []
    for entry in entries:
        if entry.get("action") == "relocated":
            detail = f"moved from {entry.get('from')} to {entry.get('to')}"
            steps.append(Step("relocated", str(entry.get("at", "")), True, detail))
        else:
            steps.extend(_arrival_steps(entry))
    return steps


def _preview_steps(
    lib: Library, ref: ProjectRef, sha256: str, holding: recorded.Holding | None
) -> list[Step]:
    """Metadata and thumbnail: their events, a remembered failure, the thumbnail file."""
    steps: list[Step] = []
    events = recorded.events_of(lib.catalog, ref.source.name, ref.name, sha256)
    for event in events:
        if event.type == "metadata":
            ok = event.data.get("status") == "ok"
            why = holding.meta_error if holding is not None else None
            steps.append(Step("metadata", event.at, ok, "read" if ok else why or "failed"))
        elif event.type == "thumbnail":
            steps.append(Step("thumbnail", event.at, True, "made"))
    if holding is not None and holding.thumb_error and holding.thumb_failed_at:
        steps.append(Step("thumbnail", holding.thumb_failed_at, False, holding.thumb_error))
    if not any(s.step == "thumbnail" and s.ok for s in steps):
        try:  # made before the event table's week, or by a client: the file's own time
            made = os.stat(ref.thumbnails / f"{sha256}.jpg").st_mtime
        except OSError:
            made = None
        if made is not None:
            stamp = datetime.fromtimestamp(made, UTC).isoformat(timespec="seconds")
            steps.append(Step("thumbnail", stamp.replace("+00:00", "Z"), True, "made"))
    return steps


def _job_steps(lib: Library, ref: ProjectRef, paths: set[str]) -> list[Step]:
    steps: list[Step] = []
    for job in recorded.jobs_naming(lib.catalog, ref.source.name, ref.name, paths):
        steps.append(Step("queued_resolve", job.created_at, True, f"job {job.id} ({job.mode})"))
        if job.status == "done" and job.finished_at:
            by = f" by {job.claimed_by}" if job.claimed_by else ""
            steps.append(Step("imported", job.finished_at, True, f"job {job.id}{by}"))
        elif job.status == "failed" and job.finished_at:
            steps.append(Step("imported", job.finished_at, False, job.error or "failed"))
    return steps


def file_timeline(lib: Library, ref: ProjectRef, sha256: str) -> dict[str, Any]:
    """The timeline answer of ``sha256`` in the project; MediaNotFound when nothing of it is
    catalogued or journaled there."""
    held = recorded.holdings(lib.catalog, ref.source.name, ref.name, sha256)
    original = next((h for h in held if h.duplicate_of is None), held[0] if held else None)
    paths = {h.rel_path for h in held}
    entries = _journal(ref, sha256, paths)
    paths |= {str(e["path"]) for e in entries if isinstance(e.get("path"), str)}
    if not held and not any(e.get("sha256") == sha256 for e in entries):
        raise MediaNotFound(f"{sha256} is not media of {ref.name}")
    steps = _journal_steps(entries) + _preview_steps(lib, ref, sha256, original)
    steps += _job_steps(lib, ref, paths)
    steps.sort(key=Step.sort_key)
    return {
        "project": ref.name,
        "source": ref.source.name,
        "sha256": sha256,
        "path": original.rel_path if original is not None else None,
        "steps": [s.as_dict() for s in steps],
    }

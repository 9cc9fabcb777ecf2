"""An upload announced by its sha256 (``X-Content-SHA256``, ``Repr-Digest``) whose bytes the
project holds live: recorded as that upload's duplicate before a byte of its body is read.

The live copy is found cheaply (its file carries the stamp it was hashed at), then the arrival
goes through the one pipeline (``daemon.ingest.batch``: prove, then decide and commit in one
immediate transaction), which counts it in ``duplicates_skipped``, stores its event and writes
the journals exactly as for a duplicate whose body was read. When the decision inside the
transaction is anything but a duplicate (the copy changed meanwhile), nothing is committed and
the caller reads the body as usual.
"""

from __future__ import annotations

from daemon.catalog import intake
from daemon.catalog import precheck as catalog_precheck
from daemon.ingest.batch import commit_items, prove
from daemon.ingest.commit import Found, Item
from daemon.ingest.decide import Decision, Kind, Upload
from daemon.ingest.pipeline import IngestResult
from daemon.ingest.precheck import look
from daemon.library import Library
from daemon.storage.hashing import Digest
from daemon.storage.indexfile import write_index_or_mark
from daemon.storage.projects import ProjectRef


class _NotDuplicate(Exception):
    """The decision was not a duplicate after all: the transaction is rolled back."""


def live_copy(lib: Library, ref: ProjectRef, sha256: str) -> tuple[Digest, str] | None:
    """The bytes with this sha256 and the path of a copy live in the project, or None."""
    rows = catalog_precheck.holding(lib.catalog, ref.source.name, ref.name, [sha256.lower()])
    for seen in look(ref, rows):
        if seen.state == "live":
            held = seen.held
            return Digest(held.blake3, held.sha256, held.size), held.rel_path
    return None


def _only_duplicates(item: Item, decision: Decision) -> tuple[str, Found] | None:
    if decision.kind is not Kind.DUPLICATE:
        raise _NotDuplicate
    return None  # a duplicate places nothing


def ingest_announced(
    lib: Library, ref: ProjectRef, sha256: str, filename: str | None
) -> IngestResult | None:
    """Record an upload of ``sha256`` as a duplicate of the project's live copy (``filename``:
    the name it was sent under; None: the copy's own); None when the project holds no live
    copy, and then nothing was written."""
    found = live_copy(lib, ref, sha256)
    if found is None:
        return None
    digest, rel_path = found
    name = filename or rel_path.rsplit("/", 1)[-1]
    arrival = Upload(ref.source.name, ref.name, name, digest.blake3)
    item = Item(ref, arrival, digest, name=name)
    proofs = prove(lib, [item])
    try:
        commit = commit_items(
            lib,
            [item],
            proofs,
            what=f"{name!r} was not recorded",
            forget_reason="missing on disk at upload",
            place=_only_duplicates,
        )
    except _NotDuplicate:
        return None
    done = commit.applied[0]
    warnings = commit.finish()
    warning = write_index_or_mark(lib.settings, ref, lib.catalog)
    return IngestResult(
        "duplicate",
        ref,
        done.rel_path,
        digest,
        duplicate_of=done.rel_path,
        also_in=intake.also_in(lib.catalog, ref.source.name, ref.name, digest.blake3),
        uploaded_at=done.uploaded_at,
        warnings=warnings + ([warning] if warning else []),
        kind=Kind.DUPLICATE,
    )

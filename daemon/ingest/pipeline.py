"""The ingest use-cases, each an arrival decided (``decide``) and committed (``commit``): an
upload, a file recorded where it lies, a move recorded, and files found gone."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from daemon.catalog import intake
from daemon.catalog.values import Origin
from daemon.errors import EmptyUpload, InvalidInput, UnsupportedMediaType
from daemon.ingest.batch import (
    FileChangedWhileHashing,
    commit_items,
    prove,
    read_drop,
    transaction,
)
from daemon.ingest.commit import Commit, Found, Item
from daemon.ingest.decide import Decision, Drop, Hint, Kind, Rename, Upload, Verdict
from daemon.ingest.facts import Proofs, View, known
from daemon.ingest.journal import journal, record_project_event
from daemon.ingest.liveness import stamp_of
from daemon.library import Library
from daemon.mediatypes import ACCEPTED_EXTENSIONS, is_media
from daemon.observe import upload_outcome
from daemon.storage.conventions import ORIGINALS, clean_upload_name, place_no_overwrite
from daemon.storage.hashing import Digest
from daemon.storage.indexfile import write_index, write_index_or_mark
from daemon.storage.projects import ProjectRef, ensure_layout
from daemon.storage.spool import full_means_storage_full


def check_upload_name(raw: str | None, missing: str = "the upload names no file") -> str:
    """The safe name an upload of ``raw`` is stored under, or InvalidInput (``missing``, or an
    unsafe name) / UnsupportedMediaType: every way in checks this before reading a byte."""
    if not raw:
        raise InvalidInput(missing)
    name = clean_upload_name(raw)
    if not is_media(name):
        raise UnsupportedMediaType(
            f"{raw!r} is not a supported media file; accepted extensions: "
            + " ".join(ACCEPTED_EXTENSIONS),
            accepted=list(ACCEPTED_EXTENSIONS),
        )
    return name


@dataclass(frozen=True)
class IngestResult:
    """What happened to one file."""

    status: str  # stored | duplicate | indexed | moved | unchanged
    project: ProjectRef
    rel_path: str
    digest: Digest
    duplicate_of: str | None = None
    also_in: list[dict[str, str]] = field(default_factory=list)
    uploaded_at: str | None = None
    warnings: list[str] = field(default_factory=list)  # after the commit: what did not follow
    kind: Kind | None = None  # the decision (an upload "stored" may have been RESTORED)


def _indexes(lib: Library, refs: Iterable[ProjectRef], *, mark: bool) -> list[str]:
    """Rewrite the index.json of each project still there; ``mark``: a failure is a warning
    (the project is marked to catch up), else it is raised."""
    warnings = []
    for ref in sorted(refs, key=lambda r: (r.source.name, r.name)):
        if not ref.path.is_dir():
            continue
        if mark:
            warning = write_index_or_mark(lib.settings, ref, lib.catalog)
            warnings += [warning] if warning else []
        else:
            write_index(lib.settings, ref, lib.catalog)
    return warnings


def _recatalog(lib: Library, ref: ProjectRef, proofs: Proofs) -> None:
    """Copies a proof found holding other bytes are catalogued as what they now hold."""
    for (source, project, rel), proof in proofs.changed.items():
        if proof.digest is None or proof.st is None or source != ref.source.name:
            continue
        with contextlib.suppress(OSError, FileChangedWhileHashing):
            ingest_in_place(
                lib,
                ProjectRef(ref.source, project),
                rel,
                digest=proof.digest,
                st=proof.st,
                update_index=False,
            )


def _commit_upload(lib: Library, ref: ProjectRef, temp: Path, item: Item, proofs: Proofs) -> Commit:
    """The decision, the placement and the catalog rows, in one immediate transaction; a
    placed file whose transaction fails is removed again (nothing committed silently)."""
    placed: list[Path] = []
    what = f"{item.name!r} was not stored"

    def place(item: Item, decision: Decision) -> tuple[str, Found] | None:
        if decision.kind not in (Kind.NEW, Kind.RESTORED):
            return None
        with full_means_storage_full(ref.originals, what):
            path = place_no_overwrite(temp, ref.originals, item.name or temp.name)
        placed.append(path)
        os.chmod(path, lib.settings.file_mode)
        return path.relative_to(ref.path).as_posix(), stamp_of(path.stat())

    try:
        return commit_items(
            lib, [item], proofs, what=what, forget_reason="missing on disk at upload", place=place
        )
    except BaseException:
        for path in placed:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        raise


def note_upload(lib: Library, result: IngestResult) -> IngestResult:
    """Log and count an upload's outcome (stored or duplicate), once, by whoever finished it."""
    digest, ref = result.digest, result.project
    upload_outcome(
        lib.metrics, result.status, project=ref.name, path=result.rel_path, size=digest.size,
        sha256=digest.sha256, source=ref.source.name,
    )  # fmt: skip
    return result


def ingest_upload(
    lib: Library,
    ref: ProjectRef,
    temp: Path,
    filename: str,
    digest: Digest,
    *,
    batch: bool = False,
    arrived: tuple[tuple[str, str], ...] = (),
) -> IngestResult:
    """Finish an upload whose bytes are already in ``temp`` (inside ``ref.originals``) and hashed.

    A catalogued copy is a duplicate only when proven live (``daemon.ingest.liveness``): proven
    first, then looked at again inside the immediate transaction that decides, places and
    catalogs, so concurrent uploads of the same bytes (from any process) store one file, and a
    copy that changes meanwhile does not swallow the upload. Bytes catalogued at a path whose
    file is gone are restored (their uploaded_at and tags come back). ENOSPC before the commit
    is StorageFull; after it, the result carries warnings (index.json is marked to catch up).
    ``batch``: one file of several in a request, whose caller made the project's layout and
    rewrites index.json once after the last (``write_index_or_mark``). ``arrived``: the
    client and when its request came (journaled for the file's timeline).
    """
    try:
        if digest.size == 0:
            raise EmptyUpload(f"{filename!r} is empty (0 bytes); nothing was stored")
        if not batch:
            with full_means_storage_full(ref.path, f"{filename!r} was not stored"):
                ensure_layout(ref)
        arrival = Upload(ref.source.name, ref.name, filename, digest.blake3)
        item = Item(ref, arrival, digest, name=filename, arrived=arrived)
        proofs = prove(lib, [item])
        commit = _commit_upload(lib, ref, temp, item, proofs)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    done = commit.applied[0]
    warnings = commit.finish()
    _recatalog(lib, ref, proofs)
    others = commit.touched - {ref}
    warnings += _indexes(lib, others if batch else commit.touched, mark=True)
    duplicate = done.decision.kind is Kind.DUPLICATE
    return IngestResult(
        "duplicate" if duplicate else "stored",
        ref,
        done.rel_path,
        digest,
        duplicate_of=done.rel_path if duplicate else None,
        also_in=intake.also_in(lib.catalog, ref.source.name, ref.name, digest.blake3),
        uploaded_at=done.uploaded_at,
        warnings=warnings,
        kind=done.decision.kind,
    )


def _unchanged(lib: Library, ref: ProjectRef, rel_path: str, st: os.stat_result) -> Digest | None:
    """The digest of the row at ``rel_path`` when it carries exactly this stamp."""
    rows = intake.rows_at(lib.catalog, ref.source.name, [(ref.name, rel_path)])
    if not rows or rows[0].stamp != stamp_of(st):
        return None
    found = intake.content_digest(lib.catalog, rows[0].blake3)
    return Digest(rows[0].blake3, found[0], found[1]) if found else None


def ingest_in_place(
    lib: Library,
    ref: ProjectRef,
    rel_path: str,
    *,
    digest: Digest | None = None,
    st: os.stat_result | None = None,
    origin: str = Origin.DROP,
    uploaded_at: str | None = None,
    update_index: bool = True,
    tags: list[str] | None = None,
) -> IngestResult:
    """Record a file already sitting at ``rel_path`` in the project (a drop, or adoption).

    Idempotent: re-recording the same path with the same stamp changes nothing. ``digest``
    and ``st``: the bytes as hashed already (``st`` the stat they were hashed at).
    """
    path = ref.path / rel_path
    if st is None:
        st = path.stat()
    same = _unchanged(lib, ref, rel_path, st)
    if same is not None:
        return IngestResult("unchanged", ref, rel_path, same, kind=Kind.UNCHANGED)
    if digest is None:
        digest, hashed, steady = read_drop(path)
        if not steady or (hashed.st_size, hashed.st_mtime_ns) != (st.st_size, st.st_mtime_ns):
            raise FileChangedWhileHashing(rel_path)
        st = hashed
    found = stamp_of(st)
    hint = Hint(uploaded_at, tuple(tags) if tags is not None else None)
    arrival = Drop(ref.source.name, ref.name, rel_path, digest.blake3, found, Origin(origin), hint)
    item = Item(ref, arrival, digest, found)
    proofs = prove(lib, [item])
    commit = commit_items(lib, [item], proofs, what=f"{rel_path!r} was not catalogued")
    done = commit.applied[0]
    warnings = commit.finish()
    _recatalog(lib, ref, proofs)
    if update_index:
        _indexes(lib, commit.touched, mark=False)
    kind = done.decision.kind
    status = {Kind.UNCHANGED: "unchanged", Kind.MOVED: "moved"}.get(kind, "indexed")
    return IngestResult(
        status,
        ref,
        rel_path,
        digest,
        duplicate_of=done.decision.duplicate_of,
        uploaded_at=done.uploaded_at,
        warnings=warnings,
        kind=kind,
    )


def record_removed(
    lib: Library, ref: ProjectRef, rel_paths: list[str], *, reason: str, update_index: bool = True
) -> int:
    """Drop catalog rows for files proven gone; counts them in removed_missing_records."""
    if not rel_paths:
        return 0
    source = ref.source.name
    with transaction(lib, "nothing was removed"):
        rows = intake.rows_at(lib.catalog, source, [(ref.name, rel) for rel in rel_paths])
        commit = Commit(lib, View(), forget_reason=reason)
        for row in rows:
            commit.forget(ref, known(row, Verdict.GONE))
        commit.close()
    commit.finish()
    if update_index:
        _indexes(lib, {ref}, mark=False)
    return len(rows)


def record_moved(
    lib: Library,
    src: ProjectRef,
    src_rel: str,
    dst: ProjectRef,
    dst_rel: str,
    *,
    reason: str,
    update_index: bool = True,
) -> bool:
    """Carry a file's identity (and uploaded_at) from one path to another after a move/rename
    (the file is at ``dst_rel`` already); False when nothing was catalogued at ``src_rel``."""
    st = (dst.path / dst_rel).stat()
    found = (st.st_size, st.st_ino, st.st_mtime_ns, None)  # carried, not re-hashed: unproven
    arrival = Rename(dst.source.name, dst.name, dst_rel, src.source.name, src.name, src_rel)
    item = Item(dst, arrival, found=found, reason=reason, src=src)
    proofs = prove(lib, [item])
    commit = commit_items(lib, [item], proofs, what=f"the move to {dst_rel!r} was not recorded")
    if commit.applied[0].decision.kind is Kind.UNCHANGED:
        return False
    commit.finish()
    if update_index:
        _indexes(lib, commit.touched, mark=False)
    return True


__all__ = [
    "ORIGINALS",
    "EmptyUpload",
    "FileChangedWhileHashing",
    "IngestResult",
    "check_upload_name",
    "ingest_in_place",
    "ingest_upload",
    "journal",
    "note_upload",
    "record_moved",
    "record_project_event",
    "record_removed",
]

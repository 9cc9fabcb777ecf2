"""The one commit step: decisions become rows and events inside one immediate write transaction;
journals and listeners follow once it committed (what fails then is a warning, not an error).

Every arrival of a batch is decided against the batch's ``View`` and applied here in order;
consecutive new rows go to the catalog in one statement. The caller holds the transaction
(``daemon.ingest.batch``), places files where a decision asks for it, and writes index.json.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from daemon.catalog import intake, utcnow
from daemon.catalog.intake import EventRow, NewFile
from daemon.catalog.values import ChangeType
from daemon.ingest.decide import Decision, Drop, Kind, Known, Rename, Transfer, Upload, Verdict
from daemon.ingest.facts import View
from daemon.ingest.journal import append_many, file_line
from daemon.library import Change, Library
from daemon.mediatypes import media_type
from daemon.storage.conventions import EVENTS_JOURNAL, FILES_JOURNAL
from daemon.storage.hashing import Digest
from daemon.storage.projects import ProjectRef
from daemon.storage.sources import Source
from daemon.tags import dump_tags

Found = tuple[int, int, int, int | None]  # size, inode, mtime_ns, ctime_ns (None: not hashed)


@dataclass(frozen=True)
class Item:
    """An arrival with what its commit needs beside the decision."""

    ref: ProjectRef  # the arrival's project
    arrival: Upload | Drop | Rename | Transfer
    digest: Digest | None = None  # the bytes (an upload, a drop)
    found: Found | None = None  # a drop: hashed at; a rename: found at (not hashed)
    reason: str = ""  # a move's reason, journaled
    name: str | None = None  # an upload's name as asked for
    src: ProjectRef | None = None  # a move's project of origin, when in another source
    # how it arrived, journaled with it (the timeline): an upload's client and received_at, a
    # drop's seen_at, settled_at and hashed_at
    arrived: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Applied:
    """What committing one item did."""

    item: Item
    decision: Decision
    rel_path: str  # where the file is catalogued
    uploaded_at: str | None
    change: Change | None  # told to listeners after the commit (None: nothing changed)


@dataclass
class _Line:
    ref: ProjectRef
    record: dict[str, Any]
    events_journal: bool = False  # `_manifest/events.jsonl` rather than `files.jsonl`
    optional: bool = False  # skipped quietly when the project folder is gone (a move's source)


def _stamp(found: Found) -> tuple[int, int, int, int]:
    assert found[3] is not None, "a row is recorded proven only at a hashed stamp"
    return found[0], found[1], found[2], found[3]


@dataclass
class Commit:
    """The writes of one transaction, and what follows it."""

    lib: Library
    view: View
    forget_reason: str = "missing on disk"  # journaled for rows dropped as gone
    sources: Mapping[str, Source] = field(default_factory=dict)  # others a batch moves from
    applied: list[Applied] = field(default_factory=list)
    touched: set[ProjectRef] = field(default_factory=set)
    _lines: list[_Line] = field(default_factory=list)
    _events: list[EventRow] = field(default_factory=list)
    _told: list[Change] = field(default_factory=list)
    _contents: dict[str, tuple[str, str, int, str | None]] = field(default_factory=dict)
    _inserts: list[NewFile] = field(default_factory=list)
    _projects: set[tuple[str, str]] = field(default_factory=set)

    # -- inside the transaction ------------------------------------------------------------

    def restamp(self) -> None:
        """Record the stamps copies were re-proven at (the view found them)."""
        self._flush()
        for place, stamp in self.view.restamps:
            intake.restamp(self.lib.catalog, *place, stamp)
        self.view.restamps.clear()

    def apply(
        self, item: Item, decision: Decision, placed: tuple[str, Found] | None = None
    ) -> Applied:
        """Write what ``decision`` says (``placed``: where an upload or a transfer landed)."""
        for row in decision.forget:
            self.forget(item.ref, row)
        kind, arrival = decision.kind, item.arrival
        if kind is Kind.UNCHANGED:
            done = self._unchanged(item, decision)
        elif kind is Kind.DUPLICATE and isinstance(arrival, Upload | Transfer):
            done = self._skipped(item, decision)
        elif isinstance(arrival, Transfer) and placed is None:
            done = Applied(item, decision, "", None, None)  # carried once its file moved
        elif kind in (Kind.NEW, Kind.DUPLICATE):
            done = self._new(item, decision, placed)
        else:
            done = self._carried(item, decision, placed)
        self.applied.append(done)
        return done

    def forget(self, ref: ProjectRef, row: Known) -> None:
        """Drop a row whose file is gone (counted, journaled with ``forget_reason``)."""
        self._projects.add((row.source, row.project))
        self._flush()
        catalog = self.lib.catalog
        intake.delete_files(catalog, row.source, row.project, [row.rel_path])
        intake.repoint_duplicates(catalog, row.source, row.project, row.blake3, row.rel_path, None)
        intake.count_removed(catalog, row.source, row.project, 1)
        gone = self._ref(ref, row)
        self._event(Change(ChangeType.REMOVED, gone, row.rel_path))
        self._line(gone, file_line(gone, "removed", path=row.rel_path, reason=self.forget_reason))
        self.touched.add(gone)
        self.view.forget((row.source, row.project, row.rel_path))

    def _unchanged(self, item: Item, decision: Decision) -> Applied:
        """Nothing to record; a drop's row takes the stamp its bytes were hashed at again."""
        here, found, rel = decision.replaces, item.found, decision.rel_path or ""
        hashed = found is not None and found[3] is not None
        if here is not None and found is not None and hashed and here.stamp != found:
            self._flush()
            intake.restamp(self.lib.catalog, here.source, here.project, rel, _stamp(found))
        return Applied(item, decision, rel, decision.uploaded_at, None)

    def _skipped(self, item: Item, decision: Decision) -> Applied:
        """An upload (or a transfer) whose bytes the project holds live: nothing is written
        but the count, the event and the journal lines of an upload."""
        rel, ref, digest = decision.rel_path or "", item.ref, item.digest
        if not isinstance(item.arrival, Upload) or digest is None:
            return Applied(item, decision, rel, decision.uploaded_at, None)
        self._flush()
        intake.ensure_projects(self.lib.catalog, [(ref.source.name, ref.name)])
        intake.count_duplicates(self.lib.catalog, ref.source.name, ref.name, 1)
        change = _change(ChangeType.DUPLICATE, ref, rel, digest)
        self._event(change)
        self._upload_lines(item, "duplicate", rel, "upload_duplicate_skipped")
        self.touched.add(item.ref)
        return Applied(item, decision, rel, decision.uploaded_at, change)

    def _new(self, item: Item, decision: Decision, placed: tuple[str, Found] | None) -> Applied:
        """New bytes at a path: an upload placed there, or a drop found there (flagged when
        the project holds its bytes already at another path)."""
        ref, digest = item.ref, item.digest
        assert digest is not None
        rel, found = placed if placed is not None else (decision.rel_path or "", item.found)
        assert found is not None
        stamp = _stamp(found)
        self._content(digest, rel)
        uploaded_at = decision.uploaded_at or utcnow()
        source = ref.source.name
        if decision.replaces is not None:  # other bytes at a catalogued path: keep its history
            self._flush()
            catalog = self.lib.catalog
            old = decision.replaces.blake3
            intake.repoint_duplicates(catalog, source, ref.name, old, rel, None)
            intake.refill(
                catalog, source, ref.name, rel, stamp, digest.blake3, decision.duplicate_of
            )
        else:
            self._projects.add((source, ref.name))
            tags = dump_tags(decision.tags or ())
            self._inserts.append(
                NewFile(
                    source,
                    ref.name,
                    rel,
                    stamp,
                    digest.blake3,
                    decision.origin,
                    uploaded_at,
                    tags,
                    decision.duplicate_of,
                )
            )
        if isinstance(item.arrival, Upload):
            change = _change(ChangeType.STORED, ref, rel, digest)
            self._upload_lines(item, "stored", rel, "upload_ingested")
        else:
            dup = decision.duplicate_of
            change = _change(
                ChangeType.INDEXED, ref, rel, digest, {"duplicate_of": dup} if dup else {}
            )
            action, facts = "indexed", {"path": rel}
            if dup is not None:
                action, facts["duplicate_of"] = "duplicate", dup
            self._line(
                ref,
                file_line(
                    ref, action, **facts, sha256=digest.sha256, blake3=digest.blake3,
                    size=digest.size, origin=decision.origin, **dict(item.arrived),
                ),
            )  # fmt: skip
        self._event(change)
        self.touched.add(ref)
        self._placed(item, decision, rel, digest.blake3, stamp, uploaded_at)
        return Applied(item, decision, rel, uploaded_at, change)

    def _carried(self, item: Item, decision: Decision, placed: tuple[str, Found] | None) -> Applied:
        """A row's identity carried to a new path: renamed, moved, or restored by an upload."""
        ref, carried = item.ref, decision.carry
        assert carried is not None
        rel, found = placed if placed is not None else (decision.rel_path or "", item.found)
        assert found is not None
        source, catalog = ref.source.name, self.lib.catalog
        self._flush()
        if decision.replaces is not None:  # a stale row at the new path gives way
            intake.delete_files(catalog, source, ref.name, [rel])
            stale = decision.replaces.blake3
            intake.repoint_duplicates(catalog, source, ref.name, stale, rel, None)
        old = (carried.source, carried.project, carried.rel_path)
        intake.ensure_projects(catalog, [(source, ref.name)])
        intake.carry(catalog, old, (source, ref.name, rel), found, decision.duplicate_of)
        follow = rel if (carried.source, carried.project) == (source, ref.name) else None
        intake.repoint_duplicates(catalog, *old[:2], carried.blake3, old[2], follow)
        src = ref if old[:2] == (source, ref.name) else self._ref(ref, carried)
        moves = {"from": f"{src.name}/{carried.rel_path}", "to": f"{ref.name}/{rel}"}
        if decision.kind is Kind.RESTORED:
            assert item.digest is not None
            extra = {"restored_from": moves["from"]}
            change = _change(ChangeType.STORED, ref, rel, item.digest, extra)
            self._upload_lines(item, "restored", rel, "upload_ingested", moves["from"])
            reason = "uploaded again"
        else:
            change = Change(ChangeType.MOVED, ref, rel, carried.blake3, None, dict(moves))
            reason = item.reason or "moved"
            self._line(ref, file_line(ref, "moved", **moves, blake3=carried.blake3, reason=reason))
        if src != ref:
            line = file_line(src, "moved", **moves, blake3=carried.blake3, reason=reason)
            self._line(src, line, optional=True)
        self._event(change)
        self.touched.update({ref, src})
        stamp = None if found[3] is None else _stamp(found)
        self._placed(item, decision, rel, carried.blake3, stamp, carried.uploaded_at)
        return Applied(item, decision, rel, carried.uploaded_at, change)

    def _ref(self, ref: ProjectRef, row: Known) -> ProjectRef:
        """The project of a row (in the arrival's source, or in another one the batch knows)."""
        source = ref.source if row.source == ref.source.name else self.sources[row.source]
        return ProjectRef(source, row.project)

    def _placed(
        self,
        item: Item,
        decision: Decision,
        rel: str,
        blake3: str,
        stamp: tuple[int, int, int, int] | None,
        uploaded_at: str,
    ) -> None:
        row = Known(
            item.ref.source.name,
            decision.project,
            rel,
            blake3,
            Verdict.LIVE if stamp is not None else Verdict.UNPROVEN,
            uploaded_at,
            decision.tags or (),
            decision.origin,
            decision.duplicate_of,
            stamp,
        )
        self.view.applied(decision, row)

    def _upload_lines(
        self, item: Item, action: str, rel: str, event: str, restored_from: str | None = None
    ) -> None:
        ref, digest = item.ref, item.digest
        assert digest is not None
        facts: dict[str, Any] = {"path": rel}
        if restored_from is not None:
            facts["from"] = restored_from
        facts.update(
            sha256=digest.sha256, blake3=digest.blake3, size=digest.size, original_name=item.name
        )
        facts.update(item.arrived)
        self._line(ref, file_line(ref, action, **facts))
        payload = {
            "path": rel,
            "filename": item.name,
            "sha256": digest.sha256,
            "size": digest.size,
            "source": ref.source.name,
        }
        line = {"timestamp": utcnow(), "event": event, "payload": payload}
        self._lines.append(_Line(ref, line, events_journal=True))

    def _content(self, digest: Digest, rel: str) -> None:
        if digest.blake3 not in self._contents:
            kind = media_type(rel)
            self._contents[digest.blake3] = (
                digest.blake3,
                digest.sha256,
                digest.size,
                kind.kind if kind else None,
            )

    def _event(self, change: Change) -> None:
        self._told.append(change)
        data = dict(change.data)
        if change.sha256:
            data.setdefault("sha256", change.sha256)
        ref = change.project
        self._events.append(EventRow(change.type, ref.source.name, ref.name, change.rel_path, data))

    def _line(self, ref: ProjectRef, record: dict[str, Any], *, optional: bool = False) -> None:
        self._lines.append(_Line(ref, record, optional=optional))

    def _flush(self) -> None:
        """New projects, contents and rows so far, one statement each (before other writes)."""
        catalog = self.lib.catalog
        if self._projects:
            intake.ensure_projects(catalog, self._projects)
            self._projects.clear()
        if self._contents:
            intake.add_contents(catalog, self._contents.values())
            self._contents.clear()
        if self._inserts:
            intake.add_files(catalog, self._inserts)
            self._inserts.clear()

    def close(self) -> None:
        """The last writes of the transaction: pending rows and every event."""
        self._flush()
        intake.add_events(self.lib.catalog, self._events)
        self._events.clear()

    # -- after the commit ------------------------------------------------------------------

    @property
    def changes(self) -> list[Change]:
        """What the commit tells listeners: every change it stored an event of."""
        return list(self._told)

    def finish(self, *, notify: bool = True) -> list[str]:
        """Journal lines (a project folder that is gone takes no line of a move), then the
        listeners (unless the caller tells them later: ``notify``); what could not be
        written comes back as warnings."""
        warnings: list[str] = []
        present: dict[ProjectRef, bool] = {}
        grouped: dict[Path, list[dict[str, Any]]] = {}
        for line in self._lines:
            if line.optional:
                if line.ref not in present:
                    present[line.ref] = line.ref.path.is_dir()
                if not present[line.ref]:
                    continue
            name = EVENTS_JOURNAL if line.events_journal else FILES_JOURNAL
            grouped.setdefault(line.ref.path / name, []).append(line.record)
        for path, records in grouped.items():
            warning = append_many(path, records)
            if warning:
                warnings.append(warning)
        self._lines.clear()
        if notify:
            for change in self.changes:
                self.lib.notify(change)
        return warnings


def _change(
    type: ChangeType,
    ref: ProjectRef,
    rel: str,
    digest: Digest,
    extra: dict[str, Any] | None = None,
) -> Change:
    data = {"size": digest.size, **(extra or {})}
    return Change(type, ref, rel, digest.blake3, digest.sha256, data)

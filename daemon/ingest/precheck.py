"""The pre-upload check: "do you already have these?" for a list of files a client holds.

Each item (name, size, and optionally sha256 and capture time) gets ``upload`` or ``skip``
with a reason. The policy, decided purely over what a few catalog reads and one lstat per
candidate file found:

- ``skip``/``same_content``: a copy of that sha256 is live in the project (its file carries
  the stamp it was hashed at: ``daemon.ingest.liveness``; a copy whose stamp moved but not its
  size, as a rename leaves it, is re-hashed, at most PROVE_BYTES of them per call).
- ``skip``/``same_name_size_time`` (capture time given and agreeing) or ``same_name_size``
  (none given, or the catalog knows none): a live file of that name and size.
- ``skip``/``same_size_time``: a live file of that size whose capture time is the one given
  (the file was renamed on the server).
- ``modified_at`` (what a browser knows: ``File.lastModified``) is a weaker time: agreeing with
  the capture time it confirms a match like ``captured_at``; disagreeing it changes nothing
  (a file's modification time is often not when it was shot), so it never costs an upload.
- ``skip``/``empty`` (nothing to send) and ``skip``/``unsupported`` (the upload would be
  refused; ``detail`` says why).
- ``upload`` otherwise: ``new``, ``missing_on_disk`` (catalogued, but its file is gone: the
  upload restores it), ``changed_on_disk`` (its file is not the one catalogued any more),
  ``capture_time_differs``, ``different_content`` (same name and size, other sha256).

Never ``skip`` on a copy not proven live: a wrong ``upload`` costs a transfer that ends as a
duplicate, a wrong ``skip`` would lose the clip.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from daemon.catalog import precheck as catalog_precheck
from daemon.catalog.precheck import Held
from daemon.errors import InvalidInput, PayloadTooLarge
from daemon.ingest import batches
from daemon.ingest.liveness import Stamp, current_stamp, prove
from daemon.ingest.moments import Moment, agrees, parse_moment, parse_recorded
from daemon.library import Library
from daemon.mediatypes import is_media
from daemon.storage.conventions import clean_upload_name
from daemon.storage.projects import ProjectRef

MAX_ITEMS = 10_000
PROVE_BYTES = 1 << 30  # re-hashed per call at most (copies renamed or touched since hashed)
MAX_SIZE = 2**63 - 1
SHA256 = re.compile(r"[0-9a-fA-F]{64}")

State = Literal["live", "gone", "changed"]


@dataclass(frozen=True)
class Wanted:
    """One file the client holds."""

    name: str  # as sent
    size: int
    sha256: str | None = None  # lower-case hex
    captured: Moment | None = None
    modified: Moment | None = None  # the client file's modification time (a weak hint)
    stored_name: str | None = None  # the name an upload would be stored under; None: refused
    refusal: str | None = None  # why an upload of it would be refused


@dataclass(frozen=True)
class Seen:
    """A catalogued file of the project and what its path holds now."""

    held: Held
    state: State

    @property
    def name(self) -> str:
        return self.held.rel_path.rsplit("/", 1)[-1]

    @property
    def captured(self) -> datetime | None:
        """The capture time the catalog knows (a time taken from the file's mtime is none)."""
        if self.held.captured_from in (None, "mtime"):
            return None
        return parse_recorded(self.held.captured_at)


@dataclass(frozen=True)
class Answer:
    """One item's decision, as the answer lists it."""

    name: str
    decision: Literal["upload", "skip"]
    reason: str
    path: str | None = None
    detail: str | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.name, "decision": self.decision, "reason": self.reason}
        if self.path is not None:
            body["path"] = self.path
        if self.detail is not None:
            body["detail"] = self.detail
        return body


# -- the request, checked --------------------------------------------------------------------


@functools.lru_cache(maxsize=1 << 16)  # an album is checked again and again
def _stored_name(name: str) -> tuple[str | None, str | None]:
    """The name an upload of ``name`` is stored under and None, or None and why it is refused."""
    try:
        cleaned = clean_upload_name(name)
    except InvalidInput as exc:
        return None, exc.detail
    if not is_media(cleaned):
        return None, f"{name!r} is not a supported media file"
    return cleaned, None


def _item(index: int, raw: object) -> Wanted:
    where = f"items[{index}]"
    if not isinstance(raw, dict):
        raise InvalidInput(f"{where} must be an object {{name, size, sha256?, captured_at?}}")
    name, size = raw.get("name"), raw.get("size")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"{where}.name must be a non-empty string")
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_SIZE:
        raise InvalidInput(f"{where}.size must be a whole number of bytes (0 or more)")
    sha256 = raw.get("sha256")
    if sha256 is not None and (not isinstance(sha256, str) or not SHA256.fullmatch(sha256)):
        raise InvalidInput(f"{where}.sha256 must be 64 hexadecimal digits")
    captured, modified = _moment(raw, where, "captured_at"), _moment(raw, where, "modified_at")
    stored, refusal = _stored_name(name)
    digest = sha256.lower() if sha256 else None
    return Wanted(name, size, digest, captured, modified, stored, refusal)


def _moment(raw: dict[str, Any], where: str, key: str) -> Moment | None:
    if raw.get(key) in (None, ""):
        return None
    moment = parse_moment(raw[key])
    if moment is None:
        raise InvalidInput(
            f"{where}.{key} is not a time: send ISO-8601 "
            "(2024-05-01T12:30:00+02:00) or seconds since the epoch"
        )
    return moment


def parse_items(body: object) -> list[Wanted]:
    """The items of a request body (``{"items": [...]}`` or a bare list): InvalidInput naming
    the first bad field, PayloadTooLarge past MAX_ITEMS."""
    items = body.get("items") if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise InvalidInput(
            'send {"items": [{"name": "IMG_0001.MOV", "size": 123456}, ...]} (or a bare list)'
        )
    if len(items) > MAX_ITEMS:
        raise PayloadTooLarge(
            f"{len(items)} items in one check; at most {MAX_ITEMS}: send the rest in another"
        )
    return [_item(index, raw) for index, raw in enumerate(items)]


# -- the decision (pure) ---------------------------------------------------------------------


def _first(seen: Iterable[Seen], state: State) -> Seen | None:
    return next((s for s in seen if s.state == state), None)


def _by_content(item: Wanted, copies: Sequence[Seen], named: Sequence[Seen]) -> Answer:
    live = _first(copies, "live")
    if live is not None:
        return Answer(item.name, "skip", "same_content", live.held.rel_path)
    gone = _first(copies, "gone")
    if gone is not None:
        return Answer(item.name, "upload", "missing_on_disk", gone.held.rel_path)
    changed = _first(copies, "changed")
    if changed is not None:
        return Answer(item.name, "upload", "changed_on_disk", changed.held.rel_path)
    other = _first(named, "live")
    if other is not None:
        return Answer(item.name, "upload", "different_content", other.held.rel_path)
    return Answer(item.name, "upload", "new")


def _by_name(item: Wanted, named: Sequence[Seen], sized: Sequence[Seen]) -> Answer:
    given = item.captured
    differs: Seen | None = None
    for seen in named:
        if seen.state != "live":
            continue
        recorded = seen.captured
        if given is None or recorded is None:
            hint = item.modified
            confirmed = (
                hint is not None and recorded is not None and agrees(hint, recorded, any_zone=True)
            )
            reason = "same_name_size_time" if confirmed else "same_name_size"
            return Answer(item.name, "skip", reason, seen.held.rel_path)
        if agrees(given, recorded, any_zone=True):
            return Answer(item.name, "skip", "same_name_size_time", seen.held.rel_path)
        differs = differs or seen
    given = given or item.modified
    if given is not None:
        for seen in sized:
            recorded = seen.captured
            if seen.state == "live" and recorded is not None and agrees(given, recorded):
                return Answer(item.name, "skip", "same_size_time", seen.held.rel_path)
    if differs is not None:
        return Answer(item.name, "upload", "capture_time_differs", differs.held.rel_path)
    gone, changed = _first(named, "gone"), _first(named, "changed")
    if gone is not None:
        return Answer(item.name, "upload", "missing_on_disk", gone.held.rel_path)
    if changed is not None:
        return Answer(item.name, "upload", "changed_on_disk", changed.held.rel_path)
    return Answer(item.name, "upload", "new")


def decide(item: Wanted, copies: Sequence[Seen], sized: Sequence[Seen]) -> Answer:
    """The answer for one item, given the project's files holding its sha256 (``copies``) and
    the project's files of its size (``sized``)."""
    same_size = [s for s in sized if s.held.size == item.size]
    named = [s for s in same_size if s.name == item.stored_name]
    return _decide(item, copies, bool(sized), named, same_size)


def _decide(
    item: Wanted,
    copies: Sequence[Seen],
    any_sized: bool,
    named: Sequence[Seen],
    same_size: Sequence[Seen],
) -> Answer:
    """``decide`` with the files of the item's name and size, and of its size, picked out."""
    if item.stored_name is None:
        return Answer(item.name, "skip", "unsupported", detail=item.refusal)
    if item.size == 0:
        return Answer(item.name, "skip", "empty", detail="a 0-byte file is never stored")
    if not copies and not any_sized:  # most of a new album: nothing of that size or content
        return Answer(item.name, "upload", "new")
    if item.sha256 is not None:  # a sha256 with another size is no claim to those bytes
        same = [s for s in copies if s.held.size == item.size]
        return _by_content(item, same, named)
    return _by_name(item, named, same_size)


def decide_all(items: Sequence[Wanted], seen: Iterable[Seen]) -> list[Answer]:
    """Every item's answer, in order, from the files the catalog reads found (pure; each
    item looks up its files by sha256, by size and by name and size: no scan per item)."""
    by_sha: dict[str, list[Seen]] = {}
    by_size: dict[int, list[Seen]] = {}
    by_name: dict[tuple[str, int], list[Seen]] = {}
    unique: dict[str, Seen] = {}
    for one in seen:
        unique.setdefault(one.held.rel_path + "\0" + one.held.blake3, one)
    for one in unique.values():
        by_sha.setdefault(one.held.sha256, []).append(one)
        by_size.setdefault(one.held.size, []).append(one)
        by_name.setdefault((one.name, one.held.size), []).append(one)
    none: list[Seen] = []
    answers = []
    for item in items:
        sized = by_size.get(item.size, none)
        named = by_name.get((item.stored_name or "", item.size), none) if sized else none
        copies = by_sha.get(item.sha256 or "", none)
        answers.append(_decide(item, copies, bool(sized), named, sized))
    return answers


@dataclass(frozen=True)
class _Keys:
    """What makes a catalogued file matter to some item (see ``needed``)."""

    contents: frozenset[tuple[str, int]]  # (sha256, size) of items carrying a sha256
    names: frozenset[tuple[str, int]]  # (stored name, size)
    timed: frozenset[int]  # sizes of items carrying a time and no sha256

    @classmethod
    def of(cls, items: Sequence[Wanted]) -> _Keys:
        contents, names, timed = set(), set(), set()
        for item in items:
            if item.stored_name is None or item.size == 0:
                continue
            names.add((item.stored_name, item.size))
            if item.sha256 is not None:
                contents.add((item.sha256, item.size))
            elif item.captured is not None or item.modified is not None:
                timed.add(item.size)
        return cls(frozenset(contents), frozenset(names), frozenset(timed))

    def match(self, sha256: str | None, rel_path: str, size: int) -> bool:
        return (
            (sha256, size) in self.contents
            or size in self.timed
            or (rel_path.rsplit("/", 1)[-1], size) in self.names
        )


def needed(items: Sequence[Wanted], held: Iterable[Held]) -> list[Held]:
    """The catalogued files ``decide`` can look at for these items (in the order given): a
    copy of an item's sha256 and size, a file of an item's name and size, or of the size of an
    item that carries a time and no sha256. Only these are looked at on disk."""
    keys = _Keys.of(items)
    return [one for one in held if keys.match(one.sha256, one.rel_path, one.size)]


def state_of(held: Held, now: Stamp | None) -> State:
    """A catalogued file is live while it carries the stamp its bytes were hashed at."""
    if now is None:
        return "gone"
    return "live" if held.stamp is not None and now == held.stamp else "changed"


# -- the use-case ----------------------------------------------------------------------------


def look(ref: ProjectRef, rows: Iterable[Held], budget: int = PROVE_BYTES) -> list[Seen]:
    """What the paths of catalogued files hold now: one lstat each; a file whose stamp moved
    but not its size is re-hashed while ``budget`` bytes last (past it, it is "changed")."""
    seen: dict[str, Seen] = {}
    for held in rows:
        if held.rel_path in seen:
            continue
        path = ref.path / held.rel_path
        now = current_stamp(path)
        state = state_of(held, now)
        if state == "changed" and now is not None and now[0] == held.size <= budget:
            budget -= held.size
            state = "live" if prove(path, held.stamp, held.blake3).live else "changed"
        seen[held.rel_path] = Seen(held, state)
    return list(seen.values())


def check(
    lib: Library, ref: ProjectRef, items: Sequence[Wanted], batch_id: str | None = None
) -> list[dict[str, Any]]:
    """Answer every item (three catalog reads for the whole list); with ``batch_id`` (an open
    session of the project) the skipped items are recorded in it."""
    batches.check_open(lib, ref, batch_id)
    source, project = ref.source.name, ref.name
    catalog = lib.catalog
    shas = {item.sha256 for item in items if item.sha256 is not None}
    rows = catalog_precheck.holding(catalog, source, project, shas)
    keys = _Keys.of(items)  # a file of an item's size matters by its name (or time) alone
    ids = catalog_precheck.candidates(catalog, source, project, keys.names, keys.timed)
    rows += catalog_precheck.by_ids(catalog, source, project, ids)
    answers = decide_all(items, look(ref, needed(items, rows)))
    skipped: list[tuple[str, int | None]] = [
        (a.name, i.size) for a, i in zip(answers, items, strict=True) if a.decision == "skip"
    ]
    batches.record_skipped(lib, ref, batch_id, skipped)
    held = [i.size for a, i in zip(answers, items, strict=True) if a.decision == "skip" and a.path]
    lib.metrics.precheck_saved_bytes.inc(sum(held))  # skipped: a copy is in the project
    return [answer.body() for answer in answers]

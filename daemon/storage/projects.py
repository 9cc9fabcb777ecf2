"""Projects: `P{n}-<label>` folders (and `Unsorted-Loose`) inside a source root."""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from daemon.errors import InvalidName, ProjectNotFound, Unavailable
from daemon.observe import project_created
from daemon.settings import Settings
from daemon.storage.conventions import (
    INDEX_FILE,
    LOOSE_PROJECT,
    MANIFEST_DIR,
    ORIGINALS,
    PREVIEWS,
    PROJECT_RE,
    PROXIES,
    THUMBNAILS,
    check_component,
    checked_dir,
    is_project_name,
    project_number,
)
from daemon.storage.locks import file_lock
from daemon.storage.sources import Source

_LABEL_FORBIDDEN = re.compile(r'[<>:"|?*\x00-\x1f\x7f]')


@dataclass(frozen=True)
class ProjectRef:
    """A project folder in a source."""

    source: Source
    name: str

    @property
    def path(self) -> Path:
        return self.source.root / self.name

    @property
    def originals(self) -> Path:
        return self.path / ORIGINALS

    @property
    def thumbnails(self) -> Path:
        return self.path / THUMBNAILS

    @property
    def index_path(self) -> Path:
        return self.path / INDEX_FILE

    @property
    def lock_key(self) -> str:
        return f"project-{self.source.name}-{self.name}"


def normalize_label(raw: str) -> str:
    """Turn what people type on a phone (``New Project``) into a folder-safe label (``New-Project``)."""
    label = unicodedata.normalize("NFC", (raw or "").strip())
    check_component(label, "project name")
    if _LABEL_FORBIDDEN.search(label):
        raise InvalidName(f'project name {raw!r} must not contain control characters or <>:"|?*')
    label = re.sub(r"\s+", "-", label).strip("-")
    if not label or label.startswith(".") or label.endswith("."):
        raise InvalidName(f"project name {raw!r} must not start or end with a dot")
    if label.startswith("_") or label.startswith(("@", "#")):
        raise InvalidName(f"project name {raw!r} must not start with '_', '@' or '#'")
    if len(label.encode()) > 120:
        raise InvalidName(f"project name {raw!r} is longer than 120 bytes")
    return label


def _label_of(name: str) -> str:
    match = PROJECT_RE.match(name)
    return match.group(2) if match else name


def list_project_names(source: Source) -> list[str]:
    """Project folder names in a source root, sorted by number then name."""
    try:
        with os.scandir(source.root) as entries:
            names = [
                e.name
                for e in entries
                if e.is_dir(follow_symlinks=False) and is_project_name(e.name)
            ]
    except OSError as exc:
        raise Unavailable(
            f"source {source.name!r} at {source.root} cannot be listed: {exc}"
        ) from exc
    return sorted(names, key=lambda n: (project_number(n) or 0, n))


def nfc(text: str) -> str:
    """``text`` in Unicode normal form C: how names are compared (a Mac writes NFD over SMB)."""
    return unicodedata.normalize("NFC", text)


def resolve_project(source: Source, name: str) -> ProjectRef:
    """The existing project ``name`` in ``source``; never creates anything.

    Names are compared in NFC, so ``P3-Café`` finds a folder a Mac made as ``P3-Cafe\u0301``;
    the answer carries the folder's own spelling, which is never changed."""
    check_component(name, "project name")
    if not is_project_name(nfc(name)):
        raise ProjectNotFound(f"{name!r} is not a project name (expected P<n>-<label>)")
    ref = ProjectRef(source, name)
    if not ref.path.is_dir() or ref.path.is_symlink():
        ref = ProjectRef(source, _disk_spelling(source, name) or name)
    if not ref.path.is_dir() or ref.path.is_symlink():
        raise ProjectNotFound(f"project {name!r} does not exist in source {source.name!r}")
    check_layout(ref)
    return ref


def _disk_spelling(source: Source, name: str) -> str | None:
    """The root entry whose name equals ``name`` in NFC (another normal form on disk), if any."""
    wanted = nfc(name)
    try:
        with os.scandir(source.root) as entries:
            found = [e.name for e in entries if e.name != name and nfc(e.name) == wanted]
    except OSError:
        return None
    return min(found) if found else None


def disk_relative(root: Path, rel: str) -> str:
    """``rel`` (already checked relative) spelt as on disk under ``root``: each component that
    does not exist as given is matched in NFC against its folder's entries, so a URL's NFC
    path finds a file a Mac wrote in NFD. Unmatched parts are kept as given."""
    parts = rel.split("/")
    here = root
    spelled: list[str] = []
    for index, part in enumerate(parts):
        if not os.path.lexists(here / part):
            wanted = nfc(part)
            try:
                match = next((n for n in sorted(os.listdir(here)) if nfc(n) == wanted), None)
            except OSError:
                match = None
            if match is None:
                return "/".join([*spelled, *parts[index:]])
            part = match
        spelled.append(part)
        here = here / part
    return "/".join(spelled)


# The folders media-sync writes into in a project; none may be (or pass through) a symlink.
LAYOUT_DIRS = (ORIGINALS, THUMBNAILS, MANIFEST_DIR)
WRITTEN_DIRS = (*LAYOUT_DIRS, f"{MANIFEST_DIR}/trash", PREVIEWS, PROXIES)


def check_layout(ref: ProjectRef, *, create: bool = False) -> None:
    """Refuse a project whose own folders are symlinks or resolve outside its source root
    (SymlinkRefused, an UnsafePath), so a request fails before any byte is written."""
    for sub in WRITTEN_DIRS:
        checked_dir(ref.source.root, ref.path / sub, create=create and sub in LAYOUT_DIRS)


def ensure_layout(ref: ProjectRef) -> None:
    """Create the folders every project has (idempotent), never through a symlink."""
    check_layout(ref, create=True)


def find_existing(source: Source, raw_name: str) -> ProjectRef | None:
    """A project matching the requested name: the same folder name, or the same label (both
    compared in NFC)."""
    names = list_project_names(source)
    wanted = nfc(raw_name.strip())
    for name in names:  # the folder's own spelling is kept (a Mac's NFD name is not renamed)
        if nfc(name) == wanted:
            return ProjectRef(source, name)
    label = normalize_label(_label_of(wanted)).casefold()
    for name in names:
        if nfc(_label_of(name)).casefold() == label:
            return ProjectRef(source, name)
    return None


def highest_number(source: Source) -> int:
    """The highest ``n`` of any ``P{n}-`` entry in the root, stray files included, so a new
    project's name is never already taken on disk."""
    try:
        names = os.listdir(source.root)
    except OSError as exc:
        raise Unavailable(
            f"source {source.name!r} at {source.root} cannot be listed: {exc}"
        ) from exc
    return max((project_number(name) or 0 for name in names), default=0)


def create_project(settings: Settings, source: Source, raw_name: str) -> tuple[ProjectRef, bool]:
    """Create ``P{n}-<label>`` (n one above the highest) or return the existing one.

    Returns (project, created). Numbering is serialized by a cross-process lock, and the
    folder is made with an exclusive mkdir, so two racing requests never make two folders.
    """
    if raw_name.strip() == LOOSE_PROJECT:
        ref = ProjectRef(source, LOOSE_PROJECT)
        created = not ref.path.exists()
        ensure_layout(ref)
        if created:
            project_created(ref.name, source.name, "request")
        return ref, created
    label = normalize_label(_label_of(raw_name.strip()))
    with file_lock(settings.locks_dir, f"projects-{source.name}"):
        existing = find_existing(source, raw_name)
        if existing is not None:
            return existing, False
        ref = ProjectRef(source, f"P{highest_number(source) + 1}-{label}")
        os.mkdir(ref.path)
        ensure_layout(ref)
    project_created(ref.name, source.name, "request")
    return ref, True

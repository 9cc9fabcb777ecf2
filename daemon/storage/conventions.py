"""On-disk conventions in one place: layout names, temp names, ignored names, safe joins, atomic writes."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import fnmatch
import hashlib
import json
import os
import re
import secrets
import socket
import stat
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from daemon.errors import AlreadyExists, InvalidName, SymlinkRefused, UnsafePath

# Project layout (the spec's public contract).
ORIGINALS = "ingest/originals"
THUMBNAILS = "ingest/thumbnails"
PREVIEWS = "ingest/previews"  # H.264 copies browsers can play (daemon.media.browserpreview)
PROXIES = "ingest/proxies"  # edit proxies for Resolve (daemon.media.proxy)
MANIFEST_DIR = "_manifest"
FILES_JOURNAL = "_manifest/files.jsonl"
EVENTS_JOURNAL = "_manifest/events.jsonl"
INDEX_FILE = "index.json"
SOURCES_DIR = "_sources"
SOURCES_REGISTRY = "_sources/sources.json"
LOOSE_PROJECT = "Unsorted-Loose"
PROJECT_RE = re.compile(r"^P([1-9][0-9]{0,8})-(.+)$")

# Temp files written by media-sync itself; every scanner skips them.
TEMP_PREFIX = ".media-sync-tmp-"

# Names that are never ingested, moved or treated as projects.
IGNORED_NAMES = frozenset(
    {".DS_Store", "Thumbs.db", "desktop.ini", "@eaDir", "#recycle", "#snapshot", ".stversions"}
)
IGNORED_GLOBS = (
    "*.part",
    "*.crdownload",
    "*.tmp",
    "~$*",
    ".~lock*",
    "._*",
    ".Trash-*",
    ".syncthing.*",
    TEMP_PREFIX + "*",
)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_WINDOWS_RESERVED = re.compile(r'[<>:"|?*]')


def is_temp_name(name: str) -> bool:
    """True for a temp file media-sync itself writes."""
    return name.startswith(TEMP_PREFIX)


_HOST_TAG = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]


def temp_path_for(directory: Path, hint: str = "") -> Path:
    """A fresh temp file path inside ``directory`` (same filesystem as the final file).

    The name carries this host and process for people reading a folder; ownership is the
    ``flock`` its writer holds (``open_locked_temp``), which start-up cleanup tests.
    """
    suffix = re.sub(r"[^A-Za-z0-9.]", "", Path(hint).suffix)[:12]
    name = f"{TEMP_PREFIX}{_HOST_TAG}-{os.getpid()}-{secrets.token_hex(6)}{suffix}"
    return directory / name


def is_ignored_name(name: str) -> bool:
    """True for temp, system and NAS housekeeping names that are never ingested or moved."""
    if name in IGNORED_NAMES:
        return True
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in IGNORED_GLOBS)


def is_project_name(name: str) -> bool:
    """Only ``P{n}-<label>`` folders and ``Unsorted-Loose`` are projects."""
    return name == LOOSE_PROJECT or PROJECT_RE.match(name) is not None


def project_number(name: str) -> int | None:
    """The ``n`` of ``P{n}-<label>``, or None."""
    match = PROJECT_RE.match(name)
    return int(match.group(1)) if match else None


MAX_NAME_BYTES = 255  # one path component (NAME_MAX on Linux, macOS and NTFS)
MAX_PATH_BYTES = 4000  # a whole relative path, below Linux's PATH_MAX of 4096


def shown(text: str, limit: int = 120) -> str:
    """A caller's string for an error message, cut short so a hostile one cannot flood it."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def check_component(name: str, what: str = "name") -> str:
    """Refuse a single path component that is empty, '.', '..', has separators or controls."""
    if not name or name in {".", ".."}:
        raise InvalidName(f"{what} {name!r} is not allowed")
    if len(name.encode()) > MAX_NAME_BYTES:
        raise InvalidName(f"{what} {shown(name)} is longer than {MAX_NAME_BYTES} bytes")
    if "/" in name or "\\" in name:
        raise InvalidName(f"{what} {name!r} must not contain path separators")
    if _CONTROL.search(name):
        raise InvalidName(f"{what} {name!r} must not contain control characters")
    return name


def clean_upload_name(raw: str) -> str:
    """Turn a client-supplied file name into a safe single component (browsers send basenames,
    some clients send full paths such as ``C:\\fakepath\\clip.mov``)."""
    name = unicodedata.normalize("NFC", raw.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    name = _WINDOWS_RESERVED.sub("_", name).rstrip(" .")
    if len(name.encode()) > 240:
        stem, ext = os.path.splitext(name)
        name = stem.encode()[: 240 - len(ext.encode())].decode(errors="ignore") + ext
    check_component(name, "file name")
    if name.startswith("."):
        raise InvalidName(f"file name {raw!r} must not start with a dot")
    return name


def check_relative(rel: str, what: str = "path") -> PurePosixPath:
    """Validate a root-relative POSIX path: no absolute paths, drives, '..', controls, or names
    longer than a filesystem allows."""
    if not rel or rel.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", rel):
        raise UnsafePath(f"{what} {shown(rel)} must be relative")
    if "\\" in rel or _CONTROL.search(rel):
        raise UnsafePath(f"{what} {shown(rel)} contains a backslash or control character")
    parts = PurePosixPath(rel).parts
    if any(part in {"..", "."} for part in rel.split("/")) or not parts:
        raise UnsafePath(f"{what} {shown(rel)} must not contain '.' or '..' segments")
    if len(rel.encode()) > MAX_PATH_BYTES or any(
        len(part.encode()) > MAX_NAME_BYTES for part in parts
    ):
        raise UnsafePath(
            f"{what} {shown(rel)} is too long (at most {MAX_NAME_BYTES} bytes a name, "
            f"{MAX_PATH_BYTES} in all)"
        )
    return PurePosixPath(*parts)


def safe_join(root: Path, rel: str, what: str = "path") -> Path:
    """Join a relative path onto ``root`` and prove the result (symlinks resolved) stays inside."""
    candidate = root.joinpath(*check_relative(rel, what).parts)
    try:
        resolved_root = root.resolve()
        resolved = candidate.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop, a name the filesystem refuses
        raise UnsafePath(f"{what} {shown(rel)} cannot be resolved: {exc}") from exc
    if resolved != resolved_root and resolved_root not in resolved.parents:
        raise UnsafePath(f"{what} {shown(rel)} points outside its root")
    return candidate


_NO_LINKS = "media-sync does not write through symlinks; replace it with a real folder"


def _rel_label(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix() or str(root)
    except ValueError:
        return str(path)


def checked_dir(root: Path, directory: Path, *, create: bool = False) -> Path:
    """``directory`` (``root`` or a folder below it) proven to pass through no symlink below
    ``root``, so it resolves inside it; ``create`` makes missing folders one at a time, never
    through a link. Raises SymlinkRefused (an UnsafePath) with a detail saying what to fix."""
    try:
        parts = directory.relative_to(root).parts
    except ValueError:
        parts = ("..",)
    if ".." in parts:
        raise SymlinkRefused(f"{directory} is not inside {root}; media-sync writes only there")
    path = os.fspath(root)
    for i, part in enumerate(parts):
        path = os.path.join(path, part)
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            if not create:
                return directory
            with contextlib.suppress(FileExistsError):
                os.mkdir(path)
            mode = os.lstat(path).st_mode
        if not stat.S_ISDIR(mode):
            label = "/".join(parts[: i + 1])
            if stat.S_ISLNK(mode):
                raise SymlinkRefused(f"{label} is a symlink to {os.readlink(path)}: {_NO_LINKS}")
            raise SymlinkRefused(f"{label} is not a folder; media-sync writes only into folders")
    return directory  # every step below root is a real folder: it resolves inside root


_LAYOUT_TOPS = frozenset({"ingest", MANIFEST_DIR})


def layout_root(directory: Path) -> Path | None:
    """The source root a media-sync folder hangs from, told by the layout names: the folder
    holding the (first) project whose `ingest/` or `_manifest/` this is in, or that project
    itself, or the root holding `_sources/`. None for any other folder."""
    parts = directory.parts
    for i in range(1, len(parts)):
        if is_project_name(parts[i]) and (i + 1 == len(parts) or parts[i + 1] in _LAYOUT_TOPS):
            return Path(*parts[:i])
    return directory.parent if directory.name == SOURCES_DIR else None


def writable_dir(directory: Path) -> Path:
    """Make ``directory`` ready for a write: checked against its root (``checked_dir``) when
    the layout names one (``layout_root``), else simply created. Folders inside a project are
    made as needed, but never the project folder itself: a write (a thumbnail, a journal line,
    index.json) landing after the project was renamed or unmounted must not bring back a
    half-made copy of it. Projects are created by ``create_project``/``ensure_layout``."""
    root = layout_root(directory)
    if root is None:
        directory.mkdir(parents=True, exist_ok=True)
        return directory
    top = directory.relative_to(root).parts[:1]
    if top and top[0] != SOURCES_DIR:
        project = root / top[0]
        if not os.path.lexists(project):  # a symlink there is refused by checked_dir below
            raise FileNotFoundError(
                errno.ENOENT,
                "the project folder is gone; media-sync does not re-create it",
                str(project),
            )
    return checked_dir(root, directory, create=True)


def fsync_dir(directory: Path) -> None:
    """fsync a directory so a rename inside it is durable (best effort on filesystems that refuse)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def open_locked_temp(directory: Path, hint: str = "") -> tuple[Path, int]:
    """Create a fresh temp file in ``directory`` and hold an exclusive ``flock`` on it.

    The lock says "being written": start-up cleanup removes a temp only when it can take the
    lock, which no crash, zombie or reused PID keeps. Close the fd only once the temp is
    renamed away or removed. (Retries if a cleaner removed the name before it was locked.)
    """
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW
    while True:
        path = temp_path_for(directory, hint)
        fd = os.open(path, flags, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if os.lstat(path).st_ino == os.fstat(fd).st_ino:
                return path, fd
        except FileNotFoundError:
            pass
        except BaseException:
            os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            raise
        os.close(fd)


def write_whole(
    folder: Path, target: Path, hint: str, mode: int, make: Callable[[Path, int], None]
) -> None:
    """``make(temp, fd)`` writes into a locked temp file in ``folder``; it is fsynced, given
    ``mode`` and renamed to ``target`` only when complete, then the folder is fsynced (a
    failure removes the temp: never a partial file at ``target``)."""
    temp, fd = open_locked_temp(folder, hint)
    try:
        make(temp, fd)
        os.fsync(fd)
        os.fchmod(fd, mode)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    finally:
        os.close(fd)
    fsync_dir(folder)


def atomic_write_bytes(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` via a locked temp file in the same directory, fsync, rename,
    fsync dir."""
    writable_dir(path.parent)

    def write(temp: Path, fd: int) -> None:
        del temp
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]

    write_whole(path.parent, path, path.name, mode, write)


def atomic_write_json(path: Path, document: Any, mode: int = 0o644) -> None:
    """Atomically write a JSON document (UTF-8, indented, trailing newline)."""
    text = json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    atomic_write_bytes(path, text.encode(), mode)


def append_jsonl(path: Path, record: dict[str, Any]) -> None:
    """Append one JSON line with a single O_APPEND write (one line per call, never torn locally)."""
    writable_dir(path.parent)
    line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    label = _rel_label(layout_root(path.parent) or path.parent, path)
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            no_links = _NO_LINKS.replace("folder", "file")
            raise SymlinkRefused(f"{label} is a symlink: {no_links}") from exc
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SymlinkRefused(f"{label} is not a regular file; media-sync appends only to files")
        os.write(fd, line)
    finally:
        os.close(fd)


def numbered_names(name: str) -> Iterator[str]:
    """``clip.mov``, ``clip-1.mov``, ``clip-2.mov`` ... candidate names for a no-overwrite place
    (made one at a time: the first is nearly always free)."""
    yield name
    stem, ext = os.path.splitext(name)
    for i in range(1, 10_000):
        yield f"{stem}-{i}{ext}"


def place_no_overwrite(source: Path, directory: Path, name: str) -> Path:
    """Move ``source`` into ``directory`` under ``name`` (or a suffixed name); never overwrites.

    Uses a hard link (atomic, fails on clash) and falls back to an O_EXCL reservation plus an
    atomic rename where the filesystem has no hard links (some SMB mounts).
    """
    writable_dir(directory)
    for candidate_name in numbered_names(name):
        candidate = directory / candidate_name
        try:
            os.link(source, candidate)
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno not in {
                errno.EPERM,
                errno.ENOTSUP,
                errno.EOPNOTSUPP,
                errno.EXDEV,
                errno.EMLINK,
                errno.ENOSYS,
            }:
                raise
            try:
                os.close(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            except FileExistsError:
                continue
            os.replace(source, candidate)
        else:
            os.unlink(source)
        fsync_dir(directory)
        return candidate
    raise AlreadyExists(f"no free name for {name!r} in {directory}")

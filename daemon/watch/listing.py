"""Scanning a source root or project into plain values: one os.scandir per directory."""

from __future__ import annotations

import errno
import fnmatch
import os
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from daemon.mediatypes import MEDIA_TYPES
from daemon.storage.conventions import (
    IGNORED_GLOBS,
    IGNORED_NAMES,
    INDEX_FILE,
    ORIGINALS,
    SOURCES_DIR,
    is_project_name,
)
from daemon.watch.ignorefile import IGNORE_FILE, IgnoreRules, load_rules
from daemon.watch.plan import ProjectListing, SourceListing, Stat

_ORIGINALS_PREFIX = ORIGINALS + "/"
FD_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE})


def out_of_fds(exc: BaseException) -> bool:
    """EMFILE/ENFILE: the process (or system) ran out of file descriptors, the disk is fine."""
    return isinstance(exc, OSError) and exc.errno in FD_ERRNOS


# The same names as conventions.is_ignored_name, as one compiled regex (it runs per file).
_IGNORED_RE = re.compile(
    "|".join(
        [*(re.escape(n) + r"\Z" for n in IGNORED_NAMES), *map(fnmatch.translate, IGNORED_GLOBS)]
    )
)


def skip_name(name: str) -> bool:
    """Dotfiles, dot-folders, temp and system names: never ingested, moved or descended into."""
    return name.startswith(".") or _IGNORED_RE.match(name) is not None


_MEDIA_EXTENSIONS = frozenset(ext.lstrip(".") for ext in MEDIA_TYPES)


def is_media_name(name: str) -> bool:
    """The mediatypes table, without building a PurePath per file."""
    dot = name.rfind(".")
    return dot > 0 and name[dot + 1 :].lower() in _MEDIA_EXTENSIONS


@dataclass
class _Walk:
    originals: dict[str, Stat]
    outside: dict[str, Stat]
    unlisted: list[str]
    unsupported: int = 0
    has_index: bool = False
    exhausted: bool = False


def _scan_dir(path: str) -> list[os.DirEntry[str]]:
    with os.scandir(path) as entries:
        return list(entries)


def _visit(
    walk: _Walk,
    entry: os.DirEntry[str],
    rel: str,
    top: bool,
    rules: tuple[tuple[str, IgnoreRules], ...],
    stack: list[tuple[str, str]],
    exclude: frozenset[str],
) -> None:
    try:
        is_dir = entry.is_dir(follow_symlinks=False)
        if rules and any(r.ignored(base + rel, is_dir) for base, r in rules):
            return
        if is_dir:
            if rel not in exclude:
                stack.append((entry.path, rel + "/"))
            return
        if not entry.is_file(follow_symlinks=False):
            return
        if not is_media_name(entry.name):
            if top and entry.name == INDEX_FILE:
                walk.has_index = True
            elif not top:
                walk.unsupported += 1
            return
        st = entry.stat(follow_symlinks=False)
    except OSError as exc:
        walk.unlisted.append(rel)
        walk.exhausted = walk.exhausted or out_of_fds(exc)
        return
    target = walk.originals if rel.startswith(_ORIGINALS_PREFIX) else walk.outside
    target[rel] = Stat(st.st_size, st.st_mtime_ns, st.st_ino)


def _fast_dir(
    walk: _Walk,
    entries: list[os.DirEntry[str]],
    prefix: str,
    stack: list[tuple[str, str]],
    exclude: frozenset[str],
) -> None:
    """The hot loop of a scan (no ignore rules): one lstat per media file, nothing else."""
    target = walk.originals if prefix.startswith(_ORIGINALS_PREFIX) else walk.outside
    ignored, media, new = _IGNORED_RE.match, _MEDIA_EXTENSIONS, tuple.__new__
    for entry in entries:
        name = entry.name
        if name[0] == "." or ignored(name):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                if prefix + name not in exclude:
                    stack.append((entry.path, prefix + name + "/"))
                continue
            dot = name.rfind(".")
            if dot <= 0 or name[dot + 1 :].lower() not in media:
                if entry.is_file(follow_symlinks=False):
                    walk.unsupported += 1
                continue
            if not entry.is_file(follow_symlinks=False):
                continue
            st = entry.stat(follow_symlinks=False)
        except OSError as exc:
            walk.unlisted.append(prefix + name)
            walk.exhausted = walk.exhausted or out_of_fds(exc)
            continue
        # tuple.__new__ makes the same Stat without NamedTuple's keyword handling (hot loop)
        target[prefix + name] = new(Stat, (st.st_size, st.st_mtime_ns, st.st_ino))


def list_project(
    root: Path, project: str, exclude: frozenset[str], root_rules: IgnoreRules | None = None
) -> ProjectListing:
    """Media files of one project, split into originals and files to relocate."""
    base = os.path.join(root, project)
    walk = _Walk({}, {}, [])
    try:
        top_entries = _scan_dir(base)
    except FileNotFoundError:
        return ProjectListing(exists=False)
    except OSError as exc:
        return ProjectListing(unlisted=("",), exhausted=out_of_fds(exc))
    rules: list[tuple[str, IgnoreRules]] = [(project + "/", root_rules)] if root_rules else []
    if any(e.name == IGNORE_FILE for e in top_entries):
        own = load_rules(Path(base))
        if own is not None:
            rules.append(("", own))
    frozen_rules = tuple(rules)
    stack: list[tuple[str, str]] = []
    for entry in top_entries:
        if not skip_name(entry.name):
            _visit(walk, entry, entry.name, True, frozen_rules, stack, exclude)
    while stack:
        path, prefix = stack.pop()
        try:
            entries = _scan_dir(path)
        except OSError as exc:
            walk.unlisted.append(prefix.rstrip("/"))
            walk.exhausted = walk.exhausted or out_of_fds(exc)
            continue
        if frozen_rules:
            for entry in entries:
                if not skip_name(entry.name):
                    _visit(walk, entry, prefix + entry.name, False, frozen_rules, stack, exclude)
        else:
            _fast_dir(walk, entries, prefix, stack, exclude)
    return ProjectListing(
        originals=walk.originals,
        outside=walk.outside,
        unsupported=walk.unsupported,
        unlisted=tuple(walk.unlisted),
        has_index=walk.has_index,
        exhausted=walk.exhausted,
    )


@dataclass(frozen=True)
class RootListing:
    """The top level of a source root."""

    reachable: bool
    error: str | None
    top_names: frozenset[str]
    projects: tuple[str, ...]
    loose: dict[str, Stat]
    rules: IgnoreRules | None
    marker: bool = False
    exhausted: bool = False


def _unlisted_root(error: str, exhausted: bool = False) -> RootListing:
    return RootListing(False, error, frozenset(), (), {}, None, exhausted=exhausted)


def _marker(root: Path, entries: list[os.DirEntry[str]]) -> bool:
    """Is the root's `_sources/` folder there and listable (a sign the real volume is mounted)?"""
    if not any(e.name == SOURCES_DIR for e in entries):
        return False
    try:
        _scan_dir(os.path.join(root, SOURCES_DIR))
    except OSError:
        return False
    return True


def list_root(root: Path) -> RootListing:
    """Project folders and loose media directly in a root; unreachable roots say why."""
    try:
        if not root.is_dir():
            return _unlisted_root(f"{root} is missing or not a directory")
        entries = _scan_dir(str(root))
    except OSError as exc:
        return _unlisted_root(f"{root} cannot be listed: {exc}", exhausted=out_of_fds(exc))
    rules = load_rules(root) if any(e.name == IGNORE_FILE for e in entries) else None
    projects, loose = [], {}
    for entry in entries:
        name = entry.name
        if skip_name(name) or name == SOURCES_DIR:
            continue
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
            if rules is not None and rules.ignored(name, is_dir):
                continue
            if is_dir:
                if is_project_name(name):
                    projects.append(name)
            elif entry.is_file(follow_symlinks=False) and is_media_name(name):
                st = entry.stat(follow_symlinks=False)
                loose[name] = Stat(st.st_size, st.st_mtime_ns, st.st_ino)
        except OSError:
            continue
    top = frozenset(e.name for e in entries)
    marker = _marker(root, entries)
    return RootListing(True, None, top, tuple(sorted(projects)), loose, rules, marker)


def list_source(
    root: Path,
    exclude: frozenset[str],
    projects: Collection[str] | None = None,
    include_root: bool = True,
) -> SourceListing:
    """List a root: every project (``projects=None``) or the named ones, plus loose files."""
    top = list_root(root)
    if not top.reachable:
        return SourceListing(reachable=False, error=top.error, exhausted=top.exhausted)
    wanted = top.projects if projects is None else tuple(p for p in projects if is_project_name(p))
    listed = {name: list_project(root, name, exclude, top.rules) for name in wanted}
    return SourceListing(
        reachable=True,
        top_names=top.top_names,
        projects=listed,
        loose=top.loose if include_root else None,
        marker=top.marker,
        complete=projects is None,
    )

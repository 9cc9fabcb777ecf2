"""`media-sync doctor`'s checks of the disk: each source root (exists, mount type, writable, free
space, the watch backend and why), the inotify limits, and the ownership and mode of stored media
as the NAS and the workstation see them. Each check is a ``Check``: a status, what was found
and, for a problem, the fix.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daemon.mediatypes import is_media
from daemon.settings import Settings
from daemon.storage.conventions import (
    MANIFEST_DIR,
    PREVIEWS,
    SOURCES_DIR,
    THUMBNAILS,
    is_ignored_name,
    open_locked_temp,
)
from daemon.storage.sources import Registry, Source
from daemon.watch import backends

OK, WARN, FAIL = "OK", "WARN", "FAIL"
GIB = 1024**3
LOW_SPACE_BYTES = 5 * GIB
LOW_SPACE_FRACTION = 0.05
INOTIFY_DIR = Path("/proc/sys/fs/inotify")
SPARE_INSTANCES = 8  # inotify instances left for other programs of the same user
SAMPLE_FILES = 500  # media files per root whose owner and mode are looked at
EXAMPLES = 3
_SKIPPED_DIRS = frozenset({MANIFEST_DIR, "ascmhl", SOURCES_DIR})
_SERVED_ONLY = (f"/{THUMBNAILS}", f"/{PREVIEWS}")  # derived files only the page reads (HTTP)


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    check: str
    status: str  # OK | WARN | FAIL
    found: str
    fix: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.check, "status": self.status, "found": self.found, "fix": self.fix}


def _size(count: int) -> str:
    return f"{count / GIB:.1f} GiB"


def _writable(root: Path) -> tuple[bool, str]:
    """Create and remove a temp file (a media-sync temp name: the watcher skips it)."""
    try:
        path, fd = open_locked_temp(root, ".doctor")
    except OSError as exc:
        return False, exc.strerror or str(exc)
    try:
        os.unlink(path)
    finally:
        os.close(fd)
    return True, "a temp file was created and removed"


def _write_fix(root: Path, reason: str) -> str:
    if "read-only" in reason.lower():
        return (
            f"the mount holding {root} is read-only: remount it read-write (the share's options "
            "in /etc/fstab, or drop ':ro' from the container's volume)"
        )
    return (
        f"give this user ({os.geteuid()}:{os.getegid()}) write access: chown -R "
        f'{os.geteuid()}:{os.getegid()} "{root}", or run media-sync as the folder\'s owner '
        "(PUID/PGID in deploy/.env: see `ls -ln` of the folder)"
    )


def _space(name: str, root: Path) -> Check:
    found = os.statvfs(root)
    free, total = found.f_bavail * found.f_frsize, found.f_blocks * found.f_frsize
    text = f"{_size(free)} free of {_size(total)}"
    if free < LOW_SPACE_BYTES or (total and free / total < LOW_SPACE_FRACTION):
        fix = f"free space on the volume holding {root}: uploads fail when it is full"
        return Check(f"root {name}: free space", WARN, text, fix)
    return Check(f"root {name}: free space", OK, text)


def _watch(settings: Settings, name: str, fstype: str | None) -> Check:
    choice = backends.choose(settings.watch, fstype)
    found = f"{choice.mode}: {choice.reason}"
    if choice.mode == "off":
        fix = "MEDIA_SYNC_WATCH=auto to see drops on the share as they land"
        return Check(f"root {name}: watch backend", WARN, found, fix)
    if choice.mode == "native" and settings.watch == "auto":
        found += " (a canary file confirms it at start; polling if no event arrives)"
    return Check(f"root {name}: watch backend", OK, found)


def root_checks(settings: Settings, source: Source) -> list[Check]:
    """Exists, is a directory, mount type, writable, free space and watch backend of one root."""
    name, root = source.name, source.root
    label = "MEDIA_SYNC_PROJECTS_ROOT" if name == "primary" else f"source {name!r}"
    if source.refused is not None:
        fix = "add its parent to MEDIA_SYNC_SOURCE_PARENTS, or remove the source"
        return [Check(f"root {name}: allowed", FAIL, source.refused, fix)]
    if not os.path.lexists(root):
        if name == "primary" and settings.default_root:
            found = f"{root} does not exist yet: the default root, which start-up creates"
            return [Check(f"root {name}: exists", OK, found)]
        fix = f'create it (mkdir -p "{root}") or mount the share there, or fix {label}'
        return [Check(f"root {name}: exists", FAIL, f"{root} does not exist", fix)]
    if not root.is_dir():
        fix = f"{label} must name a folder: move the file away or point {label} elsewhere"
        return [Check(f"root {name}: exists", FAIL, f"{root} is not a directory", fix)]
    checks = [Check(f"root {name}: exists", OK, f"{root} is a directory")]
    if not source.enabled:
        checks.append(Check(f"root {name}: enabled", OK, "disabled: neither watched nor served"))
    fstype = backends.mount_fstype(root)
    checks.append(Check(f"root {name}: mount", OK, f"on a {fstype or 'unknown'} filesystem"))
    writable, detail = _writable(root)
    if writable:
        checks.append(Check(f"root {name}: writable", OK, detail))
    else:
        text = f"cannot create a file in {root}: {detail}"
        checks.append(Check(f"root {name}: writable", FAIL, text, _write_fix(root, detail)))
    checks.append(_space(name, root))
    checks.append(_watch(settings, name, fstype))
    return checks


def _read_limit(proc: Path, name: str) -> int | None:
    try:
        return int((proc / name).read_text().strip())
    except (OSError, ValueError):
        return None


def count_dirs(root: Path, stop_after: int) -> int:
    """Directories under ``root`` (itself included), counting no further than ``stop_after``."""
    count = 0
    for _top, _dirs, _files in os.walk(root):  # symlinked folders are not descended into
        count += 1
        if count > stop_after:
            break
    return count


def inotify_checks(
    settings: Settings, sources: Iterable[Source], proc: Path = INOTIFY_DIR
) -> list[Check]:
    """max_user_watches against the directories of natively watched roots, and instances."""
    native = [
        s
        for s in sources
        if s.enabled
        and s.root.is_dir()
        and backends.choose(settings.watch, backends.mount_fstype(s.root)).mode == "native"
    ]
    watches, instances = (
        _read_limit(proc, "max_user_watches"),
        _read_limit(proc, "max_user_instances"),
    )
    if watches is None or instances is None:
        return [Check("inotify limits", OK, "no inotify here: roots are polled")]
    dirs = sum(count_dirs(s.root, watches) for s in native)
    counted = f"more than {watches:,}" if dirs > watches else f"{dirs:,}"
    found = f"max_user_watches={watches:,} for {counted} folder(s) under natively watched roots"
    checks = []
    if dirs > watches * 0.9:
        fix = (
            f"sysctl -w fs.inotify.max_user_watches={max(524288, dirs * 2)} and persist it in "
            "/etc/sysctl.d/60-media-sync.conf (on the host when in a container); until then "
            "the watcher falls back to polling"
        )
        checks.append(Check("inotify watches", WARN, found, fix))
    else:
        checks.append(Check("inotify watches", OK, found))
    found = f"max_user_instances={instances} for {len(native)} natively watched root(s)"
    if native and instances < len(native) + SPARE_INSTANCES:
        fix = (
            f"sysctl -w fs.inotify.max_user_instances={max(128, 2 * len(native) + 64)} and "
            "persist it in /etc/sysctl.d/60-media-sync.conf"
        )
        checks.append(Check("inotify instances", WARN, found, fix))
    else:
        checks.append(Check("inotify instances", OK, found))
    return checks


def sample_media(root: Path, limit: int = SAMPLE_FILES) -> Iterator[tuple[Path, os.stat_result]]:
    """Up to ``limit`` stored media files under the root (journals, manifests, thumbnails and
    browser previews left out: the workstation never reads those)."""
    seen = 0
    for top, dirs, names in os.walk(root):
        dirs[:] = sorted(
            d
            for d in dirs
            if d not in _SKIPPED_DIRS
            and not d.startswith(".")
            and not is_ignored_name(d)
            and not f"{top}/{d}".endswith(_SERVED_ONLY)
        )
        for name in sorted(names):
            if name.startswith(".") or is_ignored_name(name) or not is_media(name):
                continue
            path = Path(top, name)
            with contextlib.suppress(OSError):
                st = path.lstat()
                if stat.S_ISREG(st.st_mode):
                    yield path, st
                    seen += 1
                    if seen >= limit:
                        return


def _examples(root: Path, paths: list[Path]) -> str:
    shown = ", ".join(str(p.relative_to(root)) for p in paths[:EXAMPLES])
    return shown + (f" and {len(paths) - EXAMPLES} more" if len(paths) > EXAMPLES else "")


def _who(bits: int) -> str:
    return ("g" if bits & 0o040 else "") + ("o" if bits & 0o004 else "")


def ownership_checks(settings: Settings, sources: Iterable[Source]) -> list[Check]:
    """Stored media the NAS users and the workstation cannot read, owners, and the umask."""
    needed = settings.file_mode & 0o044
    mode_text = f"MEDIA_SYNC_FILE_MODE={settings.file_mode:04o}"
    checks = []
    if needed != 0o044:
        fix = "MEDIA_SYNC_FILE_MODE=0644 so the workstation (another user over SMB/NFS) can read"
        checks.append(Check("file mode setting", WARN, f"{mode_text}: not readable by all", fix))
    uid = os.geteuid()
    for source in sources:
        if not source.root.is_dir():
            continue
        sampled, unreadable, foreign = 0, [], []
        for path, st in sample_media(source.root):
            sampled += 1
            if needed and st.st_mode & needed != needed:
                unreadable.append(path)
            if st.st_uid != uid:
                foreign.append(path)
        checks.extend(_file_checks(source, sampled, unreadable, foreign, needed, mode_text))
    checks.append(_umask_check())
    return checks


def _file_checks(
    source: Source,
    sampled: int,
    unreadable: list[Path],
    foreign: list[Path],
    needed: int,
    mode_text: str,
) -> list[Check]:
    name, root = source.name, source.root
    if not sampled:
        return [Check(f"root {name}: media files", OK, "no stored media files yet")]
    checks = []
    if unreadable:
        found = (
            f"{len(unreadable)} of {sampled} sampled media files are not readable by "
            f"group/other as {mode_text} asks: {_examples(root, unreadable)}"
        )
        fix = f'find "{root}" -type f ! -perm -{needed:03o} -exec chmod {_who(needed)}+r {{}} +'
        checks.append(Check(f"root {name}: file modes", FAIL, found, fix))
    else:
        found = f"{sampled} sampled media files readable by group/other ({mode_text})"
        checks.append(Check(f"root {name}: file modes", OK, found))
    uid, gid = os.geteuid(), os.getegid()
    if foreign:
        owners = sorted({f.stat().st_uid for f in foreign if f.exists()})
        found = (
            f"{len(foreign)} of {sampled} sampled media files belong to uid "
            f"{', '.join(map(str, owners))}, not to this user ({uid}): {_examples(root, foreign)}"
        )
        fix = (
            f'chown -R {uid}:{gid} "{root}", or run media-sync as the files\' owner (PUID/PGID '
            "in deploy/.env; `ls -ln` shows the numbers)"
        )
        checks.append(Check(f"root {name}: file owners", WARN, found, fix))
    else:
        checks.append(Check(f"root {name}: file owners", OK, f"all owned by this user ({uid})"))
    return checks


def _umask_check() -> Check:
    mask = os.umask(0)
    os.umask(mask)
    found = f"umask {mask:04o}"
    if mask & 0o044:
        fix = (
            "umask 0022 for the service (systemd: UMask=0022; a container: its entrypoint), so "
            "folders and journals media-sync makes stay readable"
        )
        return Check("process umask", WARN, found + ": new folders unreadable by group/other", fix)
    return Check("process umask", OK, found)


def source_checks(settings: Settings, registry: Registry) -> list[Check]:
    """Every listed root's checks, the registry's own health, inotify and ownership."""
    checks = []
    if registry.error is not None:
        fix = "fix the JSON by hand or remove the file and register the extra sources again"
        checks.append(Check("source registry", FAIL, registry.error, fix))
    for source in registry.listed:
        checks.extend(root_checks(settings, source))
    served = [s for s in registry.sources if s.enabled]
    checks.extend(inotify_checks(settings, served))
    checks.extend(ownership_checks(settings, served))
    return checks

"""Moving a file into a folder without ever overwriting or losing bytes (across filesystems too)."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from daemon.storage.conventions import (
    fsync_dir,
    open_locked_temp,
    place_no_overwrite,
    writable_dir,
)
from daemon.storage.hashing import CHUNK, StreamHasher, hash_file


class CopyMismatch(OSError):
    """A cross-filesystem copy did not read back as the source's bytes; the source is kept."""


def copy_verify_move(src: Path, directory: Path, name: str) -> Path:
    """Move across filesystems: copy to a temp file, fsync, re-read and compare hashes, place
    without overwriting, and only then unlink the source."""
    writable_dir(directory)
    before = src.stat()
    temp, fd = open_locked_temp(directory, name)  # locked: start-up cleanup leaves it alone
    hasher = StreamHasher()
    try:
        with open(src, "rb") as reader, os.fdopen(os.dup(fd), "wb") as writer:
            while chunk := reader.read(CHUNK):
                hasher.update(chunk)
                writer.write(chunk)
            writer.flush()
            os.fsync(writer.fileno())
        shutil.copystat(src, temp)
        after = src.stat()
        if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
            raise CopyMismatch(f"{src} changed while it was copied")
        if hash_file(temp) != hasher.digest():
            raise CopyMismatch(f"copy of {src} does not match its source")
        final = place_no_overwrite(temp, directory, name)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    finally:
        os.close(fd)
    os.unlink(src)
    fsync_dir(src.parent)
    return final


def move_no_overwrite(src: Path, directory: Path, name: str) -> Path:
    """Move ``src`` to ``directory/name`` (or a suffixed name on a clash); the target folder is
    checked (no symlink inside its root) before anything moves."""
    writable_dir(directory)
    if os.stat(directory).st_dev != src.stat().st_dev:
        return copy_verify_move(src, directory, name)
    return place_no_overwrite(src, directory, name)

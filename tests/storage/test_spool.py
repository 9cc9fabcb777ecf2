"""TempWriter: several pieces per write (writev), hashed in order; nothing left after abort."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import blake3

from daemon.storage.conventions import TEMP_PREFIX
from daemon.storage.spool import TempWriter


def test_write_many_matches_the_joined_bytes(tmp_path: Path) -> None:
    pieces: list[bytes | memoryview] = [os.urandom(n) for n in (1, 0, 4096, 17, 70_000)]
    pieces.append(memoryview(os.urandom(1000))[10:900])
    # More pieces than one writev may take (IOV_MAX is 1024 on Linux): the rest is written too.
    pieces += [os.urandom(3) for _ in range(1500)]
    joined = b"".join(pieces)
    writer = TempWriter(tmp_path, "clip.mov")
    writer.write_many(pieces[:3])
    writer.write(b"middle")
    writer.write_many(pieces[3:])
    digest = writer.finish()
    expected = joined[: sum(len(p) for p in pieces[:3])] + b"middle"
    expected += joined[len(expected) - len(b"middle") :]
    assert writer.path.read_bytes() == expected
    assert digest.size == writer.size == len(expected)
    assert digest.sha256 == hashlib.sha256(expected).hexdigest()
    assert digest.blake3 == blake3.blake3(expected).hexdigest()


def test_abort_leaves_nothing(tmp_path: Path) -> None:
    writer = TempWriter(tmp_path, "clip.mov")
    writer.write_many([b"partial", b" data"])
    assert writer.path.name.startswith(TEMP_PREFIX)
    writer.abort()
    assert list(tmp_path.iterdir()) == []

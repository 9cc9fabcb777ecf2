"""Content hashing: blake3 (identity) and sha256 (compatibility) computed in one pass."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import blake3

CHUNK = 1 << 20


@dataclass(frozen=True)
class Digest:
    """The identity of a byte sequence."""

    blake3: str
    sha256: str
    size: int


class StreamHasher:
    """Feed bytes in order; ``digest()`` gives both hashes and the byte count."""

    def __init__(self) -> None:
        self._blake3 = blake3.blake3()
        self._sha256 = hashlib.sha256()
        self._size = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._blake3.update(data)
        self._sha256.update(data)
        self._size += len(data)

    def digest(self) -> Digest:
        return Digest(self._blake3.hexdigest(), self._sha256.hexdigest(), self._size)


def hash_file(path: Path) -> Digest:
    """Hash a file in 1 MiB chunks (one read of the file)."""
    hasher = StreamHasher()
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while True:
            count = handle.readinto(buffer)
            if not count:
                break
            hasher.update(view[:count])
    return hasher.digest()

"""ChunkReader: page-cache reads on the loop, disk reads in a thread, both byte-exact."""

from __future__ import annotations

import os
import time
from pathlib import Path

import anyio
import pytest

from ingress.filestream import ChunkReader
from tests.ingress.streaming.fileserver import pattern_bytes

CHUNK = 256 * 1024


def _evict(path: Path) -> None:
    """Drop the file's clean pages from the page cache."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def _read_all(reader: ChunkReader, size: int) -> bytes:
    async def run() -> bytes:
        parts = []
        for offset in range(0, size, CHUNK):
            parts.append(bytes(await reader.read(min(CHUNK, size - offset), offset)))
        return b"".join(parts)

    return anyio.run(run)


@pytest.fixture
def sample(tmp_path: Path) -> tuple[Path, bytes]:
    content = pattern_bytes(CHUNK * 5 + 17, seed=5)
    path = tmp_path / "sample.bin"
    path.write_bytes(content)
    return path, content


def test_cached_file_is_read_without_a_thread(sample: tuple[Path, bytes]) -> None:
    path, content = sample
    fd = os.open(path, os.O_RDONLY)
    try:
        reader = ChunkReader(fd)
        assert reader.try_cache, "Linux with preadv2(RWF_NOWAIT) is what media-sync serves from"
        cached = reader.read_cached(100, 10)
        assert cached is not None
        assert bytes(cached) == content[10:110]
        assert reader.read_cached(10, len(content)) is None  # at EOF
        assert _read_all(reader, len(content)) == content
    finally:
        os.close(fd)


def test_uncached_file_is_read_in_a_thread(sample: tuple[Path, bytes]) -> None:
    path, content = sample
    fd = os.open(path, os.O_RDONLY)
    try:
        reader = ChunkReader(fd)
        assert reader.try_cache
        for _ in range(50):  # a busy machine may read the pages back in: evict until they stay out
            _evict(path)
            if reader.read_cached(CHUNK, CHUNK * 3) is None:
                break
            time.sleep(0.02)
        else:
            raise AssertionError("the page cache kept the file: the uncached path was not reached")
        assert _read_all(reader, len(content)) == content
    finally:
        os.close(fd)


def test_without_the_cache_path_reads_are_the_same(sample: tuple[Path, bytes]) -> None:
    path, content = sample
    fd = os.open(path, os.O_RDONLY)
    try:
        reader = ChunkReader(fd)
        reader.try_cache = False
        assert reader.read_cached(10, 0) is None
        assert _read_all(reader, len(content)) == content
    finally:
        os.close(fd)

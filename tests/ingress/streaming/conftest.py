"""Fixtures for the streaming tests: the file server over a temp folder, a client, a file."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.ingress.streaming.fileserver import FileServer, pattern_bytes, serving_files


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[FileServer]:
    """The streaming app on real uvicorn over a fresh folder."""
    root = tmp_path / "served"
    root.mkdir()
    with serving_files(root) as server:
        yield server


@pytest.fixture
def file_client(file_server: FileServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=file_server.url, timeout=10) as http:
        yield http


@pytest.fixture
def served(file_server: FileServer) -> Iterator[tuple[str, bytes]]:
    """A 3 MiB + 1234 byte file (spans several chunks), its name and content."""
    content = pattern_bytes(3 * 1024 * 1024 + 1234)
    name = f"clip-{os.getpid()}-{time.monotonic_ns()}.mp4"
    path = file_server.root / name
    path.write_bytes(content)
    yield name, content
    path.unlink(missing_ok=True)

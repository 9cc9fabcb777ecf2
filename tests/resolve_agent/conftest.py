"""Fixtures for the agent tests: a job server, a mapped source root and an agent in a thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from daemon.resolve_agent.agent import Agent
from tests.resolve_agent.jobserver import JobServer, running_server


@pytest.fixture
def server() -> Iterator[JobServer]:
    with running_server(lease_seconds=30.0) as job_server:
        yield job_server


@pytest.fixture
def source_root(tmp_path: Path) -> Path:
    """The source root as this workstation sees it, with P1-Foo's originals on disk."""
    root = tmp_path / "Video Projects"
    originals = root / "P1-Foo" / "ingest" / "originals"
    originals.mkdir(parents=True)
    for name in ("a.mp4", "b.mov", "c.jpg"):
        (originals / name).write_bytes(name.encode() * 100)
    return root


def wait_for(condition: Callable[[], object], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.02)


@contextmanager
def agent_thread(agent: Agent) -> Iterator[threading.Thread]:
    """``agent.run()`` in a thread; on exit set its stop flag and prove it ends promptly."""
    thread = threading.Thread(target=agent.run, name="test-resolve-agent")
    thread.start()
    try:
        yield thread
    finally:
        agent.stop.set()
        started = time.monotonic()
        thread.join(timeout=15)
        assert not thread.is_alive(), "the agent did not stop"
        assert time.monotonic() - started < 12

"""A real `media-sync serve` subprocess on 127.0.0.1 and a free port, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveServer:
    """A running server; ``stop()`` sends SIGTERM and waits."""

    root: Path
    state: Path
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60, **kwargs)  # type: ignore[arg-type]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode


def start_server(
    root: Path,
    state: Path,
    *,
    args: list[str] | None = None,
    env: dict[str, str] | None = None,
    command: str = "serve",
) -> LiveServer:
    """Start `python -m ingress.cli <command>` on ``root`` (made if missing) and ``state``; a
    `serve` is returned once /healthz answers."""
    port = free_port()
    full_env = {
        **os.environ,
        "MEDIA_SYNC_PROJECTS_ROOT": str(root),
        "MEDIA_SYNC_STATE_DIR": str(state),
        "MEDIA_SYNC_HOST": "127.0.0.1",
        "MEDIA_SYNC_PORT": str(port),
        "MEDIA_SYNC_SETTLE_SECONDS": "0.3",
        "MEDIA_SYNC_LOG_LEVEL": "INFO",
        **(env or {}),
    }
    root.mkdir(parents=True, exist_ok=True)
    state.mkdir(parents=True, exist_ok=True)
    log_path = state / f"server-{port}.log"
    handle = open(log_path, "wb")  # noqa: SIM115 - owned by the process for its lifetime
    cmd = [sys.executable, "-m", "ingress.cli", command]
    if command == "serve":
        cmd += ["--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        cmd + (args or []), cwd=REPO, env=full_env, stdout=handle, stderr=subprocess.STDOUT
    )
    handle.close()
    server = LiveServer(root, state, port, process, log_path, full_env)
    if command != "serve":
        return server
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"server did not become healthy:\n{server.log()}")


@contextmanager
def serving(root: Path, state: Path, **kwargs: Any) -> Iterator[LiveServer]:
    """``start_server`` as a context manager: the server is stopped however the block ends."""
    server = start_server(root, state, **kwargs)
    try:
        yield server
    finally:
        server.stop()

"""A port another process listens on is refused before anything starts: one line naming the
port and how to choose another, exit 2 (uvicorn alone fails after start-up, exit 3, no hint)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.env import env_for
from tests.support.server import REPO, free_port

COMMAND = Path(sys.executable).with_name("media-sync")  # .venv/bin/media-sync


def run_serve(
    tmp_path: Path, *args: str, **env: str
) -> tuple[subprocess.CompletedProcess[str], float]:
    root = tmp_path / "projects"
    root.mkdir(exist_ok=True)
    base = {k: v for k, v in os.environ.items() if not k.startswith("MEDIA_SYNC_")}
    started = time.monotonic()
    done = subprocess.run(
        [str(COMMAND), "serve", *args],
        cwd=REPO,
        env={**base, **env_for(root, tmp_path / "state", **env)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done, time.monotonic() - started


@pytest.mark.parametrize("bind", ["127.0.0.1", "0.0.0.0"])
def test_a_port_in_use_is_refused_in_one_line(tmp_path: Path, bind: str) -> None:
    with socket.socket() as holder:
        holder.bind((bind, 0))
        holder.listen()
        port = holder.getsockname()[1]
        done, took = run_serve(
            tmp_path, "--no-watch", **{"MEDIA_SYNC_HOST": bind, "MEDIA_SYNC_PORT": str(port)}
        )
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = done.stderr.strip().splitlines()
    found = re.fullmatch(
        rf"media-sync: port {port} on {re.escape(bind)} is already in use \(another media-sync\?\); "
        r"choose another with --port (\d+) or MEDIA_SYNC_PORT=\1 \(make run PORT=\1\)",
        line,
    )
    assert found, line
    assert port < int(found.group(1)) <= port + 20
    assert "Uvicorn running" not in done.stdout + done.stderr
    assert took < 20


def test_the_port_flag_is_checked_too(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done, _took = run_serve(
            tmp_path,
            "--no-watch",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            MEDIA_SYNC_PORT=str(free_port()),
        )
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith(f"media-sync: port {port} on 127.0.0.1 is already in use")

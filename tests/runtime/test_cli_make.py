"""`make run PROJECTS=... STATE=... PORT=...` serves that root on that port (a NAS folder, a
second instance), and a plain `make run` still means ./data/projects on 8787."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.server import REPO, free_port

pytestmark = pytest.mark.e2e

VENV = Path(sys.executable).parent.parent


def make(*args: str) -> list[str]:
    """make in the checkout on this venv; -o: its install stamp counts as up to date."""
    stamp = f"{VENV}/.installed-run"
    return ["make", "--no-print-directory", "-C", str(REPO), f"VENV={VENV}", "-o", stamp, *args]


def clean_env() -> dict[str, str]:
    drop = ("MEDIA_SYNC_", "MAKE", "MFLAGS")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def test_make_run_serves_the_given_root_on_the_given_port(tmp_path: Path) -> None:
    root, state, port = tmp_path / "nas share" / "Projects", tmp_path / "state", free_port()
    root.mkdir(parents=True)
    log = tmp_path / "make-run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            make("run", f"PROJECTS={root}", f"STATE={state}", f"PORT={port}", "HOST=127.0.0.1"),
            env=clean_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # make, its shell and the server: one group to stop
        )
    try:
        health = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).json()
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert health is not None, log.read_text()
        assert health["projects_root"] == str(root)
        assert (state / "catalog.sqlite3").is_file()  # MEDIA_SYNC_* cleared: the sqlite catalog
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(60)


def test_plain_make_run_keeps_its_defaults() -> None:
    done = subprocess.run(
        make("-n", "run"), env=clean_env(), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == f"{VENV}/bin/media-sync serve"
    leaked = {**clean_env(), "PORT": "1", "HOST": "203.0.113.9"}  # from the environment: ignored
    again = subprocess.run(make("-n", "run"), env=leaked, capture_output=True, text=True)
    assert again.stdout.strip().splitlines()[-1] == f"{VENV}/bin/media-sync serve"

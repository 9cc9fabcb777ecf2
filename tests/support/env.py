"""MEDIA_SYNC_* environments over temp folders, the Settings they make, and the CLI run in one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from daemon.settings import Settings
from tests.support.server import REPO


def env_for(root: Path, state: Path, **extra: str) -> dict[str, str]:
    """MEDIA_SYNC_* variables pointing at temp dirs (plus overrides), on the catalog engine of
    the running test (the ``database_url`` fixture puts a PostgreSQL URL in the environment)."""
    env = {
        "MEDIA_SYNC_PROJECTS_ROOT": str(root),
        "MEDIA_SYNC_STATE_DIR": str(state),
        "MEDIA_SYNC_SETTLE_SECONDS": "0.2",
    }
    if os.environ.get("MEDIA_SYNC_DATABASE_URL"):  # the test's engine (``database_url``)
        env["MEDIA_SYNC_DATABASE_URL"] = os.environ["MEDIA_SYNC_DATABASE_URL"]
    env.update(extra)
    return env


def settings_for(root: Path, state: Path, **extra: str) -> Settings:
    return Settings.from_env(env_for(root, state, **extra))


def run_cli(
    args: list[str], env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m ingress.cli`` with only these MEDIA_SYNC_* variables set."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("MEDIA_SYNC_")}
    return subprocess.run(
        [sys.executable, "-m", "ingress.cli", *args],
        cwd=REPO,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )

"""A missing projects root is refused in one line (a typo or an unmounted NAS must not put footage
on the local disk), except the default ``./data/projects``; extra sources say the same."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from litestar.testing import TestClient

from daemon.errors import SettingsError
from daemon.runtime.startup import check_roots
from daemon.settings import Settings
from ingress.app import create_app
from tests.support.env import env_for, run_cli, settings_for


def refusal(root: Path) -> str:
    return (
        f"media-sync: MEDIA_SYNC_PROJECTS_ROOT={str(root)!r} does not exist: "
        f"create it (mkdir -p {shlex.quote(str(root))}) or mount the share"
    )


@pytest.mark.parametrize(
    "command",
    [
        ["serve", "--no-watch", "--host", "127.0.0.1", "--port", "1"],
        ["daemon"],
        ["rebuild"],
        ["reindex"],
    ],
)
def test_a_missing_root_is_refused_in_one_line(tmp_path: Path, command: list[str]) -> None:
    root = tmp_path / "nas mount" / "Projects"
    done = run_cli(command, env_for(root, tmp_path / "state"), timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == [refusal(root)]
    assert not root.exists() and not root.parent.exists()


def test_a_root_that_is_a_file_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "Projects"
    root.write_text("not a folder")
    with pytest.raises(SettingsError) as caught:
        check_roots(settings_for(root, tmp_path / "state"))
    assert caught.value.detail == (
        f"MEDIA_SYNC_PROJECTS_ROOT={str(root)!r} is not a folder: point it at a folder, "
        "or mount the share there"
    )


def test_the_default_root_is_created_with_the_state_dir(tmp_path: Path) -> None:
    """`make run` on a fresh clone: ./data/projects and ./data/state appear in the checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIA_SYNC_")}
    script = (
        "from daemon.runtime.startup import check_roots; from daemon.settings import Settings; "
        "check_roots(Settings.from_env())"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "data" / "projects").is_dir()
    assert (tmp_path / "data" / "state").is_dir()


def test_an_existing_root_starts_and_a_missing_state_dir_is_made(tmp_path: Path) -> None:
    root, state = tmp_path / "projects", tmp_path / "deep" / "state"
    root.mkdir()
    settings: Settings = settings_for(root, state)
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
    assert state.is_dir()


def test_an_extra_source_with_a_missing_root_says_the_same(roots: tuple[Path, Path]) -> None:
    missing = roots[0].parent / "card dump"
    with TestClient(create_app(settings_for(*roots))) as client:
        response = client.post("/api/sources", json={"name": "cards", "root": str(missing)})
    assert response.status_code == 400, response.text
    assert response.json()["detail"] == (
        f"source root {str(missing)!r} does not exist: "
        f"create it (mkdir -p {shlex.quote(str(missing))}) or mount the share"
    )

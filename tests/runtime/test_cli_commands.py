"""The `media-sync` command line: --version, help for every command pointing at the MEDIA_SYNC_*
variables, `reindex` (GET /reindex's sweep from a shell) and the progress of `rebuild`."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from litestar.testing import TestClient

from ingress.app import create_app
from tests.factories import make_jpeg
from tests.support.env import env_for, run_cli, settings_for
from tests.support.server import REPO

COMMANDS = ("serve", "daemon", "rebuild", "reindex", "catalog", "settings")


def listed(root: Path, state: Path, project: str) -> list[str]:
    with TestClient(create_app(settings_for(root, state))) as client:
        response = client.get(f"/api/projects/{project}/media")
        assert response.status_code == 200, response.text
        return sorted(item["relative_path"] for item in response.json()["media"])


def drop(root: Path, project: str, name: str) -> Path:
    """A photo of its own bytes dropped into a project's originals on the share."""
    path = root / project / "ingest" / "originals" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return make_jpeg(path, variant=sum(map(ord, project + name)))


def test_version_is_the_installed_distribution(tmp_path: Path) -> None:
    done = run_cli(["--version"], env_for(tmp_path / "p", tmp_path / "s"))
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"media-sync {metadata.version('media-sync')}\n"


def test_help_names_the_settings_and_every_command_explains_itself(tmp_path: Path) -> None:
    env = env_for(tmp_path / "p", tmp_path / "s")
    done = run_cli(["--help"], env)
    assert done.returncode == 0, done.stderr
    assert "MEDIA_SYNC_* environment variable" in done.stdout
    assert "`media-sync settings` lists them" in done.stdout
    assert "README's settings table" in done.stdout
    assert ".venv/bin/media-sync" in done.stdout
    for command in COMMANDS:
        sub = run_cli([command, "--help"], env)
        assert sub.returncode == 0, sub.stderr
        usage, _blank, description = sub.stdout.partition("\n\n")
        assert usage.startswith(f"usage: media-sync {command}")
        assert len(description.split("\n\n")[0].split()) >= 8, (command, description)


def test_reindex_catalogues_what_was_dropped_on_the_share(roots: tuple[Path, Path]) -> None:
    root, state = roots
    drop(root, "P1-Shoot", "a.jpg")
    drop(root, "P1-Shoot", "b.jpg")
    drop(root, "P2-Other", "c.jpg")
    done = run_cli(["reindex", "--project", "P2-Other"], env_for(root, state), timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith("primary: 1 indexed, 0 removed, ")
    assert listed(root, state, "P2-Other") == ["ingest/originals/c.jpg"]
    assert listed(root, state, "P1-Shoot") == []

    make_jpeg(root / "Wedding 2026" / "first dance.jpg")  # a folder that is not a project
    done = run_cli(["reindex"], env_for(root, state), timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "primary: 2 indexed, 0 removed, 0 renamed, 0 relocated, 1 unchanged, 0 settling, 0 held",
        "primary: folder 'Wedding 2026' holds 1 media file(s) but is not a project; adopt it as "
        "P3-Wedding-2026 from the page or with POST /api/folders/adopt",
    ]
    assert listed(root, state, "P1-Shoot") == ["ingest/originals/a.jpg", "ingest/originals/b.jpg"]


def test_reindex_of_an_unknown_project_is_one_line(roots: tuple[Path, Path]) -> None:
    done = run_cli(["reindex", "--project", "P9-Nowhere"], env_for(*roots), timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("media-sync: ") and "P9-Nowhere" in line


def test_rebuild_prints_one_line_per_project_into_a_pipe(roots: tuple[Path, Path]) -> None:
    root, state = roots
    drop(root, "P1-Shoot", "a.jpg")
    drop(root, "P2-Other", "c.jpg")
    done = run_cli(["rebuild"], env_for(root, state), timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "primary/P1-Shoot: 1 files (0 hashes reused from index.json)",
        "primary/P2-Other: 1 files (0 hashes reused from index.json)",
        "catalog rebuilt: 2 projects, 2 files, 0 Resolve jobs kept",
    ]


def test_rebuild_shows_a_progress_bar_on_a_terminal(roots: tuple[Path, Path]) -> None:
    root, state = roots
    for n in range(3):
        drop(root, f"P{n + 1}-Day{n + 1}", "a.jpg")
    base = {k: v for k, v in os.environ.items() if not k.startswith("MEDIA_SYNC_")}
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "ingress.cli", "rebuild"],
        cwd=REPO,
        env={**base, **env_for(root, state), "COLUMNS": "120", "TERM": "xterm"},
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=subprocess.PIPE,
    )
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert process.wait(120) == 0, process.stderr.read() if process.stderr else ""
    if process.stderr:
        process.stderr.close()
    text = shown.decode(errors="replace")
    assert "rebuilding the catalog" in text
    assert "━" in text  # the bar
    assert "3/3" in text
    assert "primary/P3-Day3: 1 files" in text
    assert "catalog rebuilt: 3 projects, 3 files" in text

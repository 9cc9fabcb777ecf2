"""`media-sync verify` through the real CLI on media uploaded through the real app: a clean
project passes and gains an ASC MHL history the `ascmhl` package's own verifier accepts; a
flipped byte is named "changed", a deleted file "missing"; media are never written."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from litestar.testing import TestClient

from daemon.settings import Settings
from ingress.app import create_app
from tests.factories import make_jpeg, make_video
from tests.support.api import create_project, upload
from tests.support.env import env_for, run_cli
from tests.support.server import REPO

ASCMHL_DEBUG = Path(sys.executable).with_name("ascmhl-debug")


def _project_with_media(settings: Settings, tmp_path: Path, name: str = "Shoot") -> Path:
    """A project holding a photo and a clip uploaded through the app (which is then stopped:
    nothing else touches the folder while the test runs)."""
    photo = make_jpeg(tmp_path / "made" / "beach.jpg", variant=1)
    clip = make_video(tmp_path / "made" / "waves.mp4", variant=2)
    with TestClient(create_app(settings)) as http:
        project = create_project(http, name)
        assert upload(http, project, photo)["status"] == "stored"
        assert upload(http, project, clip)["status"] == "stored"
    return settings.projects_root / project


def _originals(project: Path) -> dict[str, bytes]:
    folder = project / "ingest" / "originals"
    return {p.relative_to(project).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))}


def _ascmhl_verify(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ASCMHL_DEBUG), "verify", str(project)], capture_output=True, text=True, timeout=60
    )


def _verify(roots: tuple[Path, Path], *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(["verify", *args], env_for(*roots))


def _generations(project: Path) -> list[str]:
    return sorted(p.name for p in (project / "ascmhl").glob("*.mhl"))


def test_a_clean_project_passes_and_its_asc_mhl_verifies(
    settings: Settings, roots: tuple[Path, Path], tmp_path: Path
) -> None:
    project = _project_with_media(settings, tmp_path)
    before = _originals(project)

    result = _verify(roots)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{project.name} (primary): 2 of 2 catalogued files match" in result.stdout
    assert "0 changed, 0 missing, 0 unreadable, 0 not catalogued" in result.stdout
    assert "verify: all catalogued files match" in result.stdout
    assert _originals(project) == before
    (first,) = _generations(project)
    assert f"ASC MHL: ascmhl/{first} written (xxh128)" in result.stdout
    manifest = (project / "ascmhl" / first).read_text()
    for rel in before:
        assert f">{rel}</path>" in manifest
    assert "_manifest/" not in manifest.split("<ignore>")[0]  # only in the ignore patterns
    assert ">index.json</path>" not in manifest
    checked = _ascmhl_verify(project)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_second_run_adds_a_generation_that_still_verifies(
    settings: Settings, roots: tuple[Path, Path], tmp_path: Path
) -> None:
    project = _project_with_media(settings, tmp_path)
    assert _verify(roots).returncode == 0
    # media-sync rewrites its own files between runs: the manifest must not mind
    (project / "index.json").write_text('{"rewritten": true}\n')
    with (project / "_manifest" / "events.jsonl").open("a") as journal:
        journal.write('{"event": "later"}\n')

    again = _verify(roots)

    assert again.returncode == 0, again.stdout + again.stderr
    assert len(_generations(project)) == 2
    checked = _ascmhl_verify(project)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_flipped_byte_is_named_changed_and_left_alone(
    settings: Settings, roots: tuple[Path, Path], tmp_path: Path
) -> None:
    project = _project_with_media(settings, tmp_path)
    rel = next(r for r in _originals(project) if r.endswith("beach.jpg"))
    data = bytearray((project / rel).read_bytes())
    data[len(data) // 2] ^= 0x01
    (project / rel).write_bytes(bytes(data))

    result = _verify(roots)

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"CHANGED: {rel}: sha256 " in result.stdout
    assert f"{project.name} (primary): 1 of 2 catalogued files match" in result.stdout
    assert "1 changed, 0 missing" in result.stdout
    assert "ASC MHL: not written while files are changed or missing" in result.stdout
    assert not (project / "ascmhl").exists()
    assert (project / rel).read_bytes() == bytes(data)  # reported, never "repaired"
    assert "verify: FAILED" in result.stdout


def test_a_deleted_file_is_named_missing(
    settings: Settings, roots: tuple[Path, Path], tmp_path: Path
) -> None:
    project = _project_with_media(settings, tmp_path)
    rel = next(r for r in _originals(project) if r.endswith("waves.mp4"))
    (project / rel).unlink()

    result = _verify(roots, "--no-mhl")

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"MISSING: {rel}: catalogued but not on disk" in result.stdout
    assert "0 changed, 1 missing" in result.stdout


def test_a_change_after_a_generation_is_caught_by_ascmhl_too(
    settings: Settings, roots: tuple[Path, Path], tmp_path: Path
) -> None:
    project = _project_with_media(settings, tmp_path)
    assert _verify(roots).returncode == 0
    rel = next(r for r in _originals(project) if r.endswith("waves.mp4"))
    data = bytearray((project / rel).read_bytes())
    data[-10] ^= 0xFF
    (project / rel).write_bytes(bytes(data))

    checked = _ascmhl_verify(project)

    assert checked.returncode == 11, checked.stdout + checked.stderr  # VerificationFailed
    assert f"hash mismatch        for {rel}" in checked.stderr


def test_uncatalogued_media_is_listed_without_failing(
    settings: Settings, roots: tuple[Path, Path], tmp_path: Path
) -> None:
    project = _project_with_media(settings, tmp_path)
    make_jpeg(project / "ingest" / "originals" / "dropped.jpg", variant=5)
    make_jpeg(project / "ingest" / "thumbnails" / "derived.jpg", variant=6)  # media-sync's own

    result = _verify(roots, "--no-mhl")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "NOT CATALOGUED: ingest/originals/dropped.jpg: on disk" in result.stdout
    assert "derived.jpg" not in result.stdout
    assert not (project / "ascmhl").exists()


def test_project_option_picks_one_project_and_names_an_unknown_one(
    settings: Settings, roots: tuple[Path, Path], tmp_path: Path
) -> None:
    first = _project_with_media(settings, tmp_path / "a", "First")
    second = _project_with_media(settings, tmp_path / "b", "Second")

    result = _verify(roots, "--project", second.name)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "verifying 1 project(s): 2 files" in result.stdout
    assert (second / "ascmhl").is_dir() and not (first / "ascmhl").exists()
    unknown = _verify(roots, "--project", "P9-Nothing")
    assert unknown.returncode == 2
    assert "project 'P9-Nothing' is not in any enabled source" in unknown.stderr


@pytest.mark.parametrize("hidden", ["._beach.jpg", ".media-sync-tmp-abc-1-ff.jpg"])
def test_housekeeping_files_stay_out_of_the_manifest(
    settings: Settings, roots: tuple[Path, Path], tmp_path: Path, hidden: str
) -> None:
    project = _project_with_media(settings, tmp_path)
    (project / "ingest" / "originals" / hidden).write_bytes(b"not media")

    result = _verify(roots)

    assert result.returncode == 0, result.stdout + result.stderr
    (manifest,) = (project / "ascmhl").glob("*.mhl")
    assert f"{hidden}</path>" not in manifest.read_text()
    (project / "ingest" / "originals" / hidden).write_bytes(b"changed")
    checked = _ascmhl_verify(project)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_file_deleted_through_media_sync_after_a_generation(
    settings: Settings, roots: tuple[Path, Path], tmp_path: Path
) -> None:
    """Not a catalog failure (the catalog let it go), but the ASC MHL history is append-only:
    the next generation is written and says the file is gone, and ascmhl keeps reporting it."""
    project = _project_with_media(settings, tmp_path)
    assert _verify(roots).returncode == 0
    rel = next(r for r in _originals(project) if r.endswith("beach.jpg"))
    with TestClient(create_app(settings)) as http:
        deleted = http.post(
            f"/api/projects/{project.name}/media/delete", json={"relative_paths": [rel]}
        )
        assert deleted.status_code == 200 and deleted.json()["removed"] == [rel], deleted.text

    result = _verify(roots)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{project.name} (primary): 1 of 1 catalogued files match" in result.stdout
    assert "ASC MHL: Files referenced in the ASC MHL history are missing" in result.stdout
    assert len(_generations(project)) == 2
    assert _ascmhl_verify(project).returncode == 10  # CompletenessCheckFailed: gone for good


def test_progress_is_a_line_every_hundred_files_in_a_pipe(
    roots: tuple[Path, Path], tmp_path: Path
) -> None:
    originals = roots[0] / "P1-Cards" / "ingest" / "originals"
    for index in range(101):
        make_jpeg(originals / f"still-{index:03}.jpg", (16, 16), variant=index)
    assert run_cli(["rebuild"], env_for(*roots)).returncode == 0

    result = _verify(roots, "--no-mhl")

    assert result.returncode == 0, result.stdout + result.stderr
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("  ... ")]
    assert line.startswith("  ... 100/101 files read (")
    assert "P1-Cards (primary): 101 of 101 catalogued files match" in result.stdout


def test_progress_is_a_rich_bar_on_a_terminal(
    settings: Settings, roots: tuple[Path, Path], tmp_path: Path
) -> None:
    _project_with_media(settings, tmp_path)
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIA_SYNC_")}
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "ingress.cli", "verify", "--no-mhl"],
            cwd=REPO,
            env={**env, **env_for(*roots), "TERM": "xterm", "COLUMNS": "120"},
            stdout=follower,
            stderr=subprocess.PIPE,
        )
        os.close(follower)
        output = b""
        while chunk := _read_pty(leader):
            output += chunk
        assert process.wait(timeout=60) == 0, process.stderr.read() if process.stderr else ""
        if process.stderr:
            process.stderr.close()
    finally:
        os.close(leader)
    text = output.decode(errors="replace")
    assert "\x1b[" in text and "KiB" in text  # the bar's byte column, drawn in place
    assert "verify: all catalogued files match" in text


def _read_pty(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:  # EIO: the child closed the terminal
        return b""


@pytest.mark.parametrize("engine", ["postgresql"])
def test_verify_on_a_postgresql_catalog(
    settings: Settings, roots: tuple[Path, Path], tmp_path: Path, database_url: str
) -> None:
    project = _project_with_media(settings, tmp_path)
    assert _verify(roots).returncode == 0
    rel = next(r for r in _originals(project) if r.endswith("beach.jpg"))
    data = bytearray((project / rel).read_bytes())
    data[0] ^= 0x01
    (project / rel).write_bytes(bytes(data))

    result = _verify(roots)

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"CHANGED: {rel}: sha256 " in result.stdout

"""`media-sync doctor` through the real CLI: a healthy setup exits 0 with every check OK or WARN;
a missing root, a root that is a file, a root the service user cannot write, a corrupt catalog
and media files other users cannot read each exit 1 with the fix printed, and the printed fix
(where it is a command) really fixes it."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from daemon.runtime.diagnosis import inotify_checks
from daemon.runtime.phoneurl import in_container, phone_url
from daemon.settings import Settings
from daemon.storage.sources import load_registry
from ingress.app import create_app
from ingress.cli import main
from tests.factories import make_jpeg
from tests.support.api import create_project, upload
from tests.support.env import env_for, run_cli, settings_for
from tests.support.files import temp_files
from tests.support.privileges import file_modes_enforced

PUBLIC = {"MEDIA_SYNC_PUBLIC_URL": "http://192.168.1.20:8787"}


def _stored_photo(settings: Settings, tmp_path: Path) -> Path:
    """A project with one uploaded photo (the app is stopped afterwards); the photo's path."""
    photo = make_jpeg(tmp_path / "made" / "beach.jpg")
    with TestClient(create_app(settings)) as http:
        project = create_project(http, "Shoot")
        assert upload(http, project, photo)["status"] == "stored"
    return settings.projects_root / project / "ingest" / "originals" / "beach.jpg"


def _doctor(root: Path, state: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_cli(["doctor", *args], env_for(root, state, **{**PUBLIC, **env}))


def _lines(output: str, status: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(status)]


def test_a_healthy_setup_passes_with_every_check_listed(
    settings: Settings, roots: tuple[Path, Path], tmp_path: Path
) -> None:
    _stored_photo(settings, tmp_path)

    result = _doctor(*roots)

    assert result.returncode == 0, result.stdout + result.stderr
    assert not _lines(result.stdout, "FAIL")
    checks = result.stdout.splitlines()[:-1]
    assert all(line.startswith(("OK  ", "WARN", "      fix: ")) for line in checks), checks
    root = roots[0]
    assert f"OK    root primary: exists: {root} is a directory" in result.stdout
    assert "OK    root primary: mount: on a " in result.stdout
    assert "OK    root primary: writable: a temp file was created and removed" in result.stdout
    assert "root primary: free space: " in result.stdout
    assert "root primary: watch backend: native: inotify on " in result.stdout
    assert "OK    root primary: file modes: 1 sampled media files readable" in result.stdout
    assert "OK    catalog: sqlite catalog " in result.stdout
    assert ": schema 10, 1 files, integrity ok" in result.stdout
    assert "OK    phone URL: phones will use http://192.168.1.20:8787 (MEDIA_SYNC_PUBLIC_URL)" in (
        result.stdout
    )
    assert "port: " in result.stdout
    assert temp_files(root) == []  # the writability probe left nothing behind


def test_json_lists_every_check(
    settings: Settings, roots: tuple[Path, Path], tmp_path: Path
) -> None:
    _stored_photo(settings, tmp_path)

    result = _doctor(*roots, "--json")

    assert result.returncode == 0, result.stderr
    checks = json.loads(result.stdout)
    assert {c["status"] for c in checks} <= {"OK", "WARN"}
    assert all(set(c) == {"check", "status", "found", "fix"} for c in checks)
    names = [c["check"] for c in checks]
    for expected in (
        "root primary: exists",
        "root primary: mount",
        "root primary: writable",
        "root primary: free space",
        "root primary: watch backend",
        "inotify watches",
        "inotify instances",
        "root primary: file modes",
        "root primary: file owners",
        "process umask",
        "catalog",
        "phone URL",
        "port",
    ):
        assert expected in names


def test_a_missing_root_fails_with_how_to_make_it(tmp_path: Path) -> None:
    root = tmp_path / "nas" / "Projects"

    result = _doctor(root, tmp_path / "state")

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"FAIL  root primary: exists: {root} does not exist" in result.stdout
    assert f'fix: create it (mkdir -p "{root}") or mount the share there' in result.stdout
    assert not root.exists()  # the doctor looks; it does not create


def test_a_root_that_is_a_file_fails(tmp_path: Path) -> None:
    root = tmp_path / "Projects"
    root.write_text("not a folder")

    result = _doctor(root, tmp_path / "state")

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"FAIL  root primary: exists: {root} is not a directory" in result.stdout
    assert "fix: MEDIA_SYNC_PROJECTS_ROOT must name a folder" in result.stdout


@pytest.fixture
def environment(roots: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key, value in env_for(roots[0], roots[1], **PUBLIC).items():
        monkeypatch.setenv(key, value)
    yield


@pytest.mark.usefixtures("environment")
def test_a_root_the_user_cannot_write_fails(
    roots: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = roots[0]
    root.chmod(0o555)
    try:
        with file_modes_enforced():  # as an ordinary user (tests run as root)
            code = main(["doctor"])
    finally:
        root.chmod(0o755)

    out = capsys.readouterr().out
    assert code == 1, out
    assert f"FAIL  root primary: writable: cannot create a file in {root}: Permission denied" in out
    uid, gid = os.geteuid(), os.getegid()
    assert f'fix: give this user ({uid}:{gid}) write access: chown -R {uid}:{gid} "{root}"' in out


@pytest.mark.parametrize("damage", ["header", "pages"])
def test_a_corrupt_catalog_fails_and_rebuild_fixes_it(
    settings: Settings, roots: tuple[Path, Path], tmp_path: Path, damage: str
) -> None:
    _stored_photo(settings, tmp_path)
    catalog = settings.catalog_path
    with contextlib.closing(sqlite3.connect(catalog)) as db:  # every page into the file itself
        assert db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
    with catalog.open("r+b") as handle:
        if damage == "header":
            handle.write(b"\xff" * 100)
        else:  # every b-tree page after the first gets a broken cell pointer
            for page in range(1, catalog.stat().st_size // 4096):
                handle.seek(page * 4096 + 8)
                handle.write(b"\xff" * 32)

    result = _doctor(*roots)

    assert result.returncode == 1, result.stdout + result.stderr
    (line,) = _lines(result.stdout, "FAIL")
    assert line.startswith(f"FAIL  catalog: sqlite catalog {catalog}: ")
    assert "fix: stop media-sync, then `media-sync rebuild` makes the catalog again" in (
        result.stdout
    )
    assert run_cli(["rebuild"], env_for(*roots)).returncode == 0
    healed = _doctor(*roots)
    assert healed.returncode == 0, healed.stdout
    assert ": schema 10, 1 files, integrity ok" in healed.stdout


def test_media_other_users_cannot_read_fail_and_the_printed_fix_works(
    settings: Settings, roots: tuple[Path, Path], tmp_path: Path
) -> None:
    photo = _stored_photo(settings, tmp_path)
    photo.chmod(0o600)

    result = _doctor(*roots)

    assert result.returncode == 1, result.stdout + result.stderr
    root = roots[0]
    rel = photo.relative_to(root)
    assert (
        "FAIL  root primary: file modes: 1 of 1 sampled media files are not readable by "
        f"group/other as MEDIA_SYNC_FILE_MODE=0644 asks: {rel}"
    ) in result.stdout
    fix = f'find "{root}" -type f ! -perm -044 -exec chmod go+r {{}} +'
    assert f"      fix: {fix}" in result.stdout
    subprocess.run(fix, shell=True, check=True)
    assert photo.stat().st_mode & 0o777 == 0o644
    assert _doctor(*roots).returncode == 0


def test_a_private_file_mode_setting_is_a_warning(
    settings: Settings, roots: tuple[Path, Path], tmp_path: Path
) -> None:
    _stored_photo(settings, tmp_path)

    result = _doctor(*roots, MEDIA_SYNC_FILE_MODE="0600")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARN  file mode setting: MEDIA_SYNC_FILE_MODE=0600: not readable by all" in (
        result.stdout
    )
    assert "fix: MEDIA_SYNC_FILE_MODE=0644" in result.stdout


def test_a_busy_port_is_reported(roots: tuple[Path, Path]) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = _doctor(*roots, MEDIA_SYNC_PORT=str(port), MEDIA_SYNC_HOST="127.0.0.1")

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"OK    port: something listens on 127.0.0.1:{port}" in result.stdout
    free = _doctor(*roots, MEDIA_SYNC_PORT=str(port), MEDIA_SYNC_HOST="127.0.0.1")
    assert f"OK    port: nothing listens on 127.0.0.1:{port}" in free.stdout


def test_a_loopback_public_url_is_a_warning(roots: tuple[Path, Path]) -> None:
    result = _doctor(*roots, MEDIA_SYNC_PUBLIC_URL="http://localhost:8787")

    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "WARN  phone URL: phones will use http://localhost:8787 (MEDIA_SYNC_PUBLIC_URL): "
        "MEDIA_SYNC_PUBLIC_URL='http://localhost:8787' is a loopback address"
    ) in result.stdout
    assert "fix: set MEDIA_SYNC_PUBLIC_URL=http://<this machine's LAN address>:8787" in (
        result.stdout
    )


def test_a_guessed_url_inside_a_container_says_what_to_set(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, tmp_path / "state", MEDIA_SYNC_PORT="8790")
    docker, podman, host = tmp_path / "docker", tmp_path / "podman", tmp_path / "host"
    (docker / ".dockerenv").parent.mkdir()
    (docker / ".dockerenv").write_text("")
    (podman / "run").mkdir(parents=True)
    (podman / "run" / ".containerenv").write_text("")
    host.mkdir()
    assert in_container(docker) and in_container(podman) and not in_container(host)

    inside = phone_url(settings, address="172.17.0.5", container=True)
    outside = phone_url(settings, address="192.168.1.20", container=False)
    offline = phone_url(settings, address="127.0.0.1", container=False)

    assert inside.url == "http://172.17.0.5:8790"
    assert inside.note == (
        "media-sync runs in a container, so 172.17.0.5 is the container's own address, which "
        "phones cannot reach; set MEDIA_SYNC_PUBLIC_URL=http://<this machine's LAN address>:8790 "
        "(the host's LAN address and the published port)"
    )
    assert outside.note is None and outside.url == "http://192.168.1.20:8790"
    assert offline.problem == "no LAN address was found (127.0.0.1 is loopback)"


def test_inotify_limits_below_the_folders_warn_with_the_sysctl_fix(tmp_path: Path) -> None:
    root = tmp_path / "projects"
    for index in range(12):
        (root / f"P{index + 1}-Day" / "ingest" / "originals").mkdir(parents=True)
    proc = tmp_path / "inotify"
    proc.mkdir()
    (proc / "max_user_watches").write_text("20\n")
    (proc / "max_user_instances").write_text("4\n")
    settings = settings_for(root, tmp_path / "state", MEDIA_SYNC_WATCH="native")

    watches, instances = inotify_checks(settings, [load_registry(settings).listed[0]], proc)

    assert watches.status == "WARN"
    assert watches.found == (
        "max_user_watches=20 for more than 20 folder(s) under natively watched roots"
    )
    assert watches.fix is not None
    assert watches.fix.startswith("sysctl -w fs.inotify.max_user_watches=524288 and persist")
    assert instances.status == "WARN"
    assert instances.fix is not None
    assert instances.fix.startswith("sysctl -w fs.inotify.max_user_instances=128")


@pytest.mark.parametrize("engine", ["postgresql"])
def test_a_postgresql_catalog_is_checked_and_an_unreachable_one_fails(
    settings: Settings, roots: tuple[Path, Path], tmp_path: Path, database_url: str
) -> None:
    _stored_photo(settings, tmp_path)

    result = _doctor(*roots)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK    catalog: postgresql catalog postgresql://" in result.stdout
    assert ": schema 10, 1 files, integrity ok" in result.stdout
    gone = _doctor(*roots, MEDIA_SYNC_DATABASE_URL="postgresql://me:secret@127.0.0.1:1/media")
    assert gone.returncode == 1, gone.stdout
    assert (
        "FAIL  catalog: postgresql catalog postgresql://me:***@127.0.0.1:1/media: cannot open:"
        in (gone.stdout)
    )
    assert "secret" not in gone.stdout
    assert "fix: check that the PostgreSQL server is up and MEDIA_SYNC_DATABASE_URL is right" in (
        gone.stdout
    )

"""Settings: defaults, validation naming the variable, and the CLI's handling of both."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from daemon.errors import SettingsError
from daemon.settings import SETTINGS, Settings
from tests.support.env import env_for, run_cli
from tests.support.server import REPO, free_port

EXPECTED_DEFAULTS = {
    "database_url": "",
    "host": "0.0.0.0",
    "port": 8787,
    "public_url": "",
    "max_upload_mb": 20480,
    "cors_origins": (),
    "file_mode": 0o644,
    "watch": "auto",
    "poll_interval_seconds": 5.0,
    "settle_seconds": 2.0,
    "reconcile_interval_seconds": 900.0,
    "watch_takeover_seconds": 5.0,
    "relocate_exclude": (),
    "thumbnail_workers": 2,
    "preview_workers": 1,
    "resolve_proxies": "off",
    "resolve_lease_seconds": 120.0,
    "resolve_max_attempts": 3,
    "trash_days": 30,
    "allowed_hosts": (),
    "source_parents": (),
    "api_token": "",
    "read_token": "",
    "decode_memory_mb": 768,
    "max_parts": 1000,
    "max_connections": 0,
    "header_timeout_seconds": 30.0,
    "body_timeout_seconds": 60.0,
    "keepalive_seconds": 5.0,
    "log_level": "INFO",
    "upload_expiry_hours": 24.0,
    "log_format": "text",
    "access_log": True,
}


def test_every_variable_has_its_default() -> None:
    settings = Settings.from_env({})
    assert settings.projects_root == (Path.cwd() / "data/projects").absolute()
    assert settings.state_dir == (Path.cwd() / "data/state").absolute()
    for attr, value in EXPECTED_DEFAULTS.items():
        assert getattr(settings, attr) == value, attr
    assert {s.attr for s in SETTINGS} == set(EXPECTED_DEFAULTS) | {"projects_root", "state_dir"}


def test_every_variable_is_parsed(tmp_path: Path) -> None:
    env = {
        "MEDIA_SYNC_PROJECTS_ROOT": str(tmp_path / "p"),
        "MEDIA_SYNC_STATE_DIR": str(tmp_path / "s"),
        "MEDIA_SYNC_DATABASE_URL": " postgresql://media:pw@db.local:5433/media ",
        "MEDIA_SYNC_HOST": " 127.0.0.1 ",
        "MEDIA_SYNC_PORT": "9000",
        "MEDIA_SYNC_PUBLIC_URL": "http://nas.local:9000",
        "MEDIA_SYNC_MAX_UPLOAD_MB": "5",
        "MEDIA_SYNC_CORS_ORIGINS": "http://a.example, http://b.example,",
        "MEDIA_SYNC_FILE_MODE": "0640",
        "MEDIA_SYNC_WATCH": "Polling",
        "MEDIA_SYNC_POLL_INTERVAL_SECONDS": "0.5",
        "MEDIA_SYNC_SETTLE_SECONDS": "0",
        "MEDIA_SYNC_RECONCILE_INTERVAL_SECONDS": "60",
        "MEDIA_SYNC_WATCH_TAKEOVER_SECONDS": "1.5",
        "MEDIA_SYNC_RELOCATE_EXCLUDE": "edits,grades",
        "MEDIA_SYNC_THUMBNAIL_WORKERS": "4",
        "MEDIA_SYNC_PREVIEW_WORKERS": "3",
        "MEDIA_SYNC_RESOLVE_PROXIES": " DNxHR ",
        "MEDIA_SYNC_RESOLVE_LEASE_SECONDS": "30",
        "MEDIA_SYNC_RESOLVE_MAX_ATTEMPTS": "7",
        "MEDIA_SYNC_TRASH_DAYS": "0",
        "MEDIA_SYNC_ALLOWED_HOSTS": "nas.local, media.example",
        "MEDIA_SYNC_SOURCE_PARENTS": f"{tmp_path / 'mnt'},{tmp_path / 'media'}",
        "MEDIA_SYNC_API_TOKEN": "s3cret-token-0123456789",
        "MEDIA_SYNC_READ_TOKEN": "read-only-token-0123456789",
        "MEDIA_SYNC_DECODE_MEMORY_MB": "256",
        "MEDIA_SYNC_MAX_PARTS": "10",
        "MEDIA_SYNC_UPLOAD_EXPIRY_HOURS": "1.5",
        "MEDIA_SYNC_MAX_CONNECTIONS": "100",
        "MEDIA_SYNC_HEADER_TIMEOUT_SECONDS": "5",
        "MEDIA_SYNC_BODY_TIMEOUT_SECONDS": "7.5",
        "MEDIA_SYNC_KEEPALIVE_SECONDS": "2",
        "MEDIA_SYNC_LOG_LEVEL": "debug",
        "MEDIA_SYNC_LOG_FORMAT": " JSON ",
        "MEDIA_SYNC_ACCESS_LOG": "off",
    }
    assert set(env) == {s.env for s in SETTINGS}
    s = Settings.from_env(env)
    assert s.projects_root == tmp_path / "p"
    assert s.state_dir == tmp_path / "s"
    assert s.database_url == "postgresql://media:pw@db.local:5433/media"
    assert s.catalog_location == "postgresql://media:***@db.local:5433/media"
    assert (s.host, s.port, s.public_url) == ("127.0.0.1", 9000, "http://nas.local:9000")
    assert s.max_upload_mb == 5 and s.max_upload_bytes == 5 * 1024 * 1024
    assert s.cors_origins == ("http://a.example", "http://b.example")
    assert s.file_mode == 0o640
    assert s.watch == "polling"
    assert (s.poll_interval_seconds, s.settle_seconds, s.reconcile_interval_seconds) == (
        0.5,
        0.0,
        60.0,
    )
    assert s.watch_takeover_seconds == 1.5
    assert s.relocate_exclude == ("edits", "grades")
    assert (s.thumbnail_workers, s.resolve_lease_seconds, s.resolve_max_attempts) == (4, 30.0, 7)
    assert s.preview_workers == 3
    assert s.resolve_proxies == "dnxhr"
    assert s.trash_days == 0
    assert s.allowed_hosts == ("nas.local", "media.example")
    assert s.source_parents == (tmp_path / "mnt", tmp_path / "media")
    assert s.allowed_source_parents == s.source_parents
    assert (s.api_token, s.read_token) == ("s3cret-token-0123456789", "read-only-token-0123456789")
    assert (s.decode_memory_mb, s.max_parts, s.max_connections) == (256, 10, 100)
    assert (s.header_timeout_seconds, s.body_timeout_seconds, s.keepalive_seconds) == (
        5.0,
        7.5,
        2.0,
    )
    assert s.log_level == "DEBUG"
    assert s.log_format == "json"
    assert s.access_log is False
    assert s.upload_expiry_hours == 1.5


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("MEDIA_SYNC_PORT", "abc"),
        ("MEDIA_SYNC_PORT", "70000"),
        ("MEDIA_SYNC_PORT", "0"),
        ("MEDIA_SYNC_FILE_MODE", "999"),
        ("MEDIA_SYNC_FILE_MODE", "0200"),
        ("MEDIA_SYNC_FILE_MODE", "rw-r--r--"),
        ("MEDIA_SYNC_WATCH", "bogus"),
        ("MEDIA_SYNC_SETTLE_SECONDS", "-1"),
        ("MEDIA_SYNC_SETTLE_SECONDS", "nan"),
        ("MEDIA_SYNC_POLL_INTERVAL_SECONDS", "0"),
        ("MEDIA_SYNC_RECONCILE_INTERVAL_SECONDS", "inf"),
        ("MEDIA_SYNC_MAX_UPLOAD_MB", "0"),
        ("MEDIA_SYNC_MAX_UPLOAD_MB", "1.5"),
        ("MEDIA_SYNC_THUMBNAIL_WORKERS", "-2"),
        ("MEDIA_SYNC_RESOLVE_MAX_ATTEMPTS", "x"),
        ("MEDIA_SYNC_API_TOKEN", "short"),
        ("MEDIA_SYNC_API_TOKEN", "has a space in it 0123"),
        ("MEDIA_SYNC_MAX_PARTS", "0"),
        ("MEDIA_SYNC_HEADER_TIMEOUT_SECONDS", "0"),
        ("MEDIA_SYNC_LOG_LEVEL", "LOUD"),
        ("MEDIA_SYNC_RESOLVE_PROXIES", "h264"),
        ("MEDIA_SYNC_DATABASE_URL", "sqlite:///catalog.db"),
        ("MEDIA_SYNC_DATABASE_URL", "postgresql://db.local:99999/media"),
        ("MEDIA_SYNC_DATABASE_URL", "postgresql://db.local:5432"),
    ],
)
def test_bad_value_names_the_variable(var: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({var: value})
    assert var in caught.value.detail
    assert "\n" not in caught.value.detail


def test_serve_with_bad_env_exits_2_with_one_line(tmp_path: Path) -> None:
    env = env_for(tmp_path / "p", tmp_path / "s", MEDIA_SYNC_PORT="abc")
    done = run_cli(["serve", "--no-watch"], env)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "MEDIA_SYNC_PORT" in lines[0]


def test_settings_command_prints_every_variable(tmp_path: Path) -> None:
    env = env_for(tmp_path / "p", tmp_path / "s", MEDIA_SYNC_PORT="9123")
    done = run_cli(["settings", "--env"], env)
    assert done.returncode == 0, done.stderr
    printed = dict(line.split("=", 1) for line in done.stdout.strip().splitlines())
    assert set(printed) == {s.env for s in SETTINGS}
    assert printed["MEDIA_SYNC_PORT"] == "9123"


def test_port_flag_overrides_environment(tmp_path: Path) -> None:
    flag_port, env_port = free_port(), free_port()
    while env_port == flag_port:
        env_port = free_port()
    root = tmp_path / "p"
    root.mkdir()
    env = env_for(root, tmp_path / "s", MEDIA_SYNC_PORT=str(env_port))
    base = {k: v for k, v in os.environ.items() if not k.startswith("MEDIA_SYNC_")}
    log = (tmp_path / "serve.log").open("wb")
    serve = ["serve", "--no-watch", "--host", "127.0.0.1", "--port", str(flag_port)]
    process = subprocess.Popen(
        [sys.executable, "-m", "ingress.cli", *serve],
        cwd=REPO,
        env={**base, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    try:
        deadline = time.monotonic() + 30
        answered = False
        while time.monotonic() < deadline and process.poll() is None:
            try:
                answered = httpx.get(f"http://127.0.0.1:{flag_port}/healthz", timeout=1).is_success
            except httpx.HTTPError:
                time.sleep(0.1)
            if answered:
                break
        assert answered, (tmp_path / "serve.log").read_text()
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{env_port}/healthz", timeout=1)
    finally:
        process.send_signal(signal.SIGTERM)
        # uvicorn re-raises the captured SIGTERM after its graceful shutdown
        assert process.wait(30) in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in (tmp_path / "serve.log").read_text()


@pytest.mark.parametrize("port", ["70000", "0", "-1"])
def test_out_of_range_port_flag_is_refused(tmp_path: Path, port: str) -> None:
    done = run_cli(
        ["serve", "--no-watch", "--host", "127.0.0.1", f"--port={port}"],
        env_for(tmp_path / "p", tmp_path / "s"),
        timeout=30,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--port" in done.stderr
    assert "Uvicorn running" not in done.stdout + done.stderr


def test_unusable_state_dir_stops_serve_with_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    (tmp_path / "p").mkdir()
    env = env_for(tmp_path / "p", blocker / "state")
    done = run_cli(["serve", "--no-watch", "--host", "127.0.0.1", "--port", "1"], env, timeout=30)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "MEDIA_SYNC_STATE_DIR" in lines[0]


def test_corrupt_catalog_stops_serve_with_one_line(tmp_path: Path) -> None:
    state = tmp_path / "s"
    state.mkdir()
    (tmp_path / "p").mkdir()
    (state / "catalog.sqlite3").write_bytes(b"this is not an sqlite database" * 100)
    done = run_cli(
        ["serve", "--no-watch", "--host", "127.0.0.1", "--port", "1"],
        env_for(tmp_path / "p", state),
        timeout=30,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "catalog" in lines[0]


def test_help_lists_every_command(tmp_path: Path) -> None:
    done = run_cli(["--help"], env_for(tmp_path / "p", tmp_path / "s"))
    assert done.returncode == 0, done.stderr
    for command in (
        "serve",
        "daemon",
        "rebuild",
        "reindex",
        "catalog",
        "settings",
        "resolve-agent",
    ):
        assert f"    {command} " in done.stdout, command
    for command in ("serve", "daemon", "rebuild", "reindex", "catalog", "settings"):
        sub = run_cli([command, "--help"], env_for(tmp_path / "p", tmp_path / "s"))
        assert sub.returncode == 0, sub.stderr
        assert sub.stdout.startswith(f"usage: media-sync {command}"), sub.stdout


def test_unusable_state_dir_stops_the_daemon_with_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    (tmp_path / "p").mkdir()
    done = run_cli(["daemon"], env_for(tmp_path / "p", blocker / "state"), timeout=30)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "MEDIA_SYNC_STATE_DIR" in lines[0]

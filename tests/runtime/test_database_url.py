"""MEDIA_SYNC_DATABASE_URL: checked with a clear message, its password never shown (errors,
`media-sync settings`, the catalog's health facts, a catalog that cannot be opened)."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.catalog import Catalog
from daemon.errors import CatalogError, SettingsError
from daemon.settings import Settings
from daemon.settings.database import redact
from tests.support.env import env_for, run_cli

SECRET = "Very-s3cret"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"postgresql://me:{SECRET}@db:5432/media", "postgresql://me:***@db:5432/media"),
        (
            f"postgres://me:{SECRET}@db/media?sslmode=require",
            "postgres://me:***@db/media?sslmode=require",
        ),
        (
            f"postgresql://db/media?user=me&password={SECRET}",
            "postgresql://db/media?user=me&password=***",
        ),
        ("postgresql://me@db/media", "postgresql://me@db/media"),
        ("", ""),
    ],
)
def test_redact_hides_the_password_and_nothing_else(url: str, shown: str) -> None:
    assert redact(url) == shown


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (
            f"mysql://me:{SECRET}@db/media",
            "must be empty (the sqlite catalog in MEDIA_SYNC_STATE_DIR)",
        ),
        (f"postgresql://me:{SECRET}@db:port/media", "has a port that is not a number"),
        (f"postgresql://me:{SECRET}@:5432/media", "names no host"),
        (f"postgresql://me:{SECRET}@db:5432/", "names no database"),
        (f"postgresql://me:{SECRET}@db:5432/a/b", "names no database"),
    ],
)
def test_a_bad_url_is_named_with_its_reason_and_without_its_password(
    value: str, reason: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"MEDIA_SYNC_DATABASE_URL": value})
    message = str(caught.value.detail)
    assert message.startswith("MEDIA_SYNC_DATABASE_URL=") and reason in message
    assert SECRET not in message


def test_empty_means_the_sqlite_file_in_the_state_dir(tmp_path: Path) -> None:
    settings = Settings.from_env({"MEDIA_SYNC_STATE_DIR": str(tmp_path)})
    assert (settings.database_url, settings.catalog_engine) == ("", "sqlite")
    assert settings.catalog_location == str(tmp_path / "catalog.sqlite3")


def test_the_settings_command_hides_the_password(tmp_path: Path) -> None:
    url = f"postgresql://me:{SECRET}@db.local:5432/media"
    env = env_for(tmp_path / "p", tmp_path / "s", MEDIA_SYNC_DATABASE_URL=url)
    done = run_cli(["settings"], env)
    assert done.returncode == 0, done.stderr
    assert "postgresql://me:***@db.local:5432/media" in done.stdout
    assert SECRET not in done.stdout + done.stderr


def test_an_unreachable_server_is_one_line_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql://me:{SECRET}@127.0.0.1:1/media"
    with pytest.raises(CatalogError) as caught:
        Catalog.open(url)
    message = str(caught.value.detail)
    assert message.startswith("cannot open catalog postgresql://me:***@127.0.0.1:1/media: ")
    assert SECRET not in message and "\n" not in message
    (tmp_path / "p").mkdir()
    done = run_cli(["daemon"], env_for(tmp_path / "p", tmp_path / "s", MEDIA_SYNC_DATABASE_URL=url))
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("media-sync: cannot open catalog postgresql://me:***@127.0.0.1:1/media")
    assert SECRET not in done.stderr


def test_the_settings_repr_never_shows_the_url() -> None:
    settings = Settings.from_env({"MEDIA_SYNC_DATABASE_URL": f"postgresql://me:{SECRET}@db/m"})
    assert SECRET not in repr(settings)
    assert settings.catalog_location == "postgresql://me:***@db/m"

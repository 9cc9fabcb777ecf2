"""`media-sync settings`: empty means the default, refusals in words, the public URL and the file
mode checked, the table of env values, and `--env` lines that give the same Settings back."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.errors import SettingsError
from daemon.settings import SETTINGS, Settings
from tests.support.env import env_for, run_cli

TOKEN = "s3cret-token-0123456789"
PASSWORD = "pw-never-shown-1234"

NON_DEFAULT = {
    "MEDIA_SYNC_DATABASE_URL": f"postgresql://media:{PASSWORD}@db.local:5433/media",
    "MEDIA_SYNC_HOST": "127.0.0.1",
    "MEDIA_SYNC_PORT": "9000",
    "MEDIA_SYNC_PUBLIC_URL": "https://nas.local:9000/media/",
    "MEDIA_SYNC_MAX_UPLOAD_MB": "5",
    "MEDIA_SYNC_CORS_ORIGINS": "http://a.example, http://b.example",
    "MEDIA_SYNC_FILE_MODE": "0o640",
    "MEDIA_SYNC_WATCH": "Polling",
    "MEDIA_SYNC_POLL_INTERVAL_SECONDS": "0.25",
    "MEDIA_SYNC_SETTLE_SECONDS": "0",
    "MEDIA_SYNC_RECONCILE_INTERVAL_SECONDS": "60",
    "MEDIA_SYNC_RELOCATE_EXCLUDE": "edits,grades",
    "MEDIA_SYNC_RESOLVE_PROXIES": "dnxhr",
    "MEDIA_SYNC_TRASH_DAYS": "0",
    "MEDIA_SYNC_API_TOKEN": TOKEN,
    "MEDIA_SYNC_READ_TOKEN": "read-only-token-0123456789",
    "MEDIA_SYNC_UPLOAD_EXPIRY_HOURS": "1.5",
    "MEDIA_SYNC_LOG_LEVEL": "debug",
    "MEDIA_SYNC_LOG_FORMAT": "json",
    "MEDIA_SYNC_ACCESS_LOG": "no",
}


def parse_env_lines(text: str) -> dict[str, str]:
    """What an env file reader makes of the lines: comments skipped, NAME=value split once."""
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


@pytest.mark.parametrize("blank", ["", "   "])
def test_an_empty_value_means_the_default_for_every_setting(blank: str) -> None:
    env = {s.env: blank for s in SETTINGS if s.env != "MEDIA_SYNC_PROJECTS_ROOT"}
    assert Settings.from_env(env) == Settings.from_env({})


@pytest.mark.parametrize("blank", ["", "   "])
def test_an_empty_projects_root_is_refused_not_defaulted(blank: str) -> None:
    """`MEDIA_SYNC_PROJECTS_ROOT=${NAS}` with NAS unset must not land footage in ./data/projects."""
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"MEDIA_SYNC_PROJECTS_ROOT": blank})
    assert caught.value.detail == (
        "MEDIA_SYNC_PROJECTS_ROOT is set but empty: set it to the folder that holds your "
        "projects (e.g. /mnt/nas/projects), or remove the line to use ./data/projects"
    )


@pytest.mark.parametrize(
    ("var", "value", "says"),
    [
        ("MEDIA_SYNC_MAX_UPLOAD_MB", "abc", "must be a whole number of MiB (e.g. 20480)"),
        ("MEDIA_SYNC_MAX_UPLOAD_MB", "0", "must be a whole number of MiB, at least 1"),
        ("MEDIA_SYNC_PORT", "http", "must be a port number between 1 and 65535 (e.g. 8787)"),
        ("MEDIA_SYNC_SETTLE_SECONDS", "soon", "must be a number of seconds (e.g. 2)"),
        ("MEDIA_SYNC_SETTLE_SECONDS", "nan", "must be a finite number of seconds"),
        ("MEDIA_SYNC_POLL_INTERVAL_SECONDS", "0", "must be a number of seconds, greater than 0"),
        ("MEDIA_SYNC_UPLOAD_EXPIRY_HOURS", "a day", "must be a number of hours (e.g. 24)"),
        ("MEDIA_SYNC_TRASH_DAYS", "-1", "must be a whole number of days, at least 0"),
        ("MEDIA_SYNC_THUMBNAIL_WORKERS", "two", "must be a whole number of threads"),
        ("MEDIA_SYNC_FILE_MODE", "rw-r--r--", "must be an octal file mode like 0644"),
        ("MEDIA_SYNC_FILE_MODE", "420", "420 looks like a decimal number: did you mean 0644?"),
        ("MEDIA_SYNC_FILE_MODE", "1644", "must be an octal file mode like 0644"),
        ("MEDIA_SYNC_FILE_MODE", "0200", "must be an octal file mode like 0644"),
        ("MEDIA_SYNC_FILE_MODE", "0466", "group and others get no more than the owner"),
        ("MEDIA_SYNC_ACCESS_LOG", "maybe", "must be on or off"),
        ("MEDIA_SYNC_WATCH", "inotify", "must be one of auto, native, polling, off"),
    ],
)
def test_a_refusal_says_in_words_what_the_value_must_be(var: str, value: str, says: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({var: value})
    detail = caught.value.detail
    assert detail.startswith(f"{var}={value!r} is invalid: ")
    assert says in detail
    for python in ("invalid literal", "could not convert", "base 8", "int()", "float()"):
        assert python not in detail


def test_every_parser_refuses_in_words() -> None:
    """Each numeric and choice setting, given text: never a raw Python message."""
    for setting in SETTINGS:
        try:
            Settings.from_env({setting.env: "not-a-value ½"})
        except SettingsError as exc:
            assert exc.detail.startswith(f"{setting.env}=")
            assert "must" in exc.detail, exc.detail
            assert "invalid literal" not in exc.detail and "could not convert" not in exc.detail


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("http://192.168.0.25:8787", "http://192.168.0.25:8787"),
        ("http://192.168.0.25:8787/", "http://192.168.0.25:8787"),
        ("https://media.example/sync/", "https://media.example/sync"),
        ("HTTP://NAS.local", "HTTP://NAS.local"),
        ("http://[fd00::25]:8787", "http://[fd00::25]:8787"),
    ],
)
def test_a_public_url_is_kept_without_its_trailing_slash(value: str, kept: str) -> None:
    assert Settings.from_env({"MEDIA_SYNC_PUBLIC_URL": value}).public_url == kept


@pytest.mark.parametrize(
    "value",
    [
        "192.168.0.25:8787",
        "nas.local",
        "ftp://nas.local",
        "http://",
        "http://:8787",
        "http://nas.local:99999",
        "http://nas.local:port",
        "http://user:pw@nas.local",
        "http://nas.local/?x=1",
        "http://nas.local/#top",
    ],
)
def test_a_public_url_without_scheme_or_host_is_refused_with_an_example(value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"MEDIA_SYNC_PUBLIC_URL": value})
    detail = caught.value.detail
    assert detail.startswith(f"MEDIA_SYNC_PUBLIC_URL={value!r} is invalid: must be the http:// ")
    assert "such as http://192.168.0.25:8787" in detail
    assert "\n" not in detail


@pytest.mark.parametrize(("value", "mode"), [("0644", 0o644), ("644", 0o644), ("0o640", 0o640)])
def test_the_file_mode_is_read_as_octal_in_each_spelling(value: str, mode: int) -> None:
    assert Settings.from_env({"MEDIA_SYNC_FILE_MODE": value}).file_mode == mode


def test_a_secret_is_never_quoted_in_a_refusal() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"MEDIA_SYNC_API_TOKEN": "short secret"})
    assert "short secret" not in caught.value.detail
    assert caught.value.detail.startswith("MEDIA_SYNC_API_TOKEN=(hidden) is invalid: ")


def test_the_table_shows_env_values_and_which_are_defaults(tmp_path: Path) -> None:
    env = env_for(tmp_path / "p", tmp_path / "s", **NON_DEFAULT)
    done = run_cli(["settings"], env)
    assert done.returncode == 0, done.stderr
    rows = {
        cells[0]: cells[1:]
        for line in done.stdout.splitlines()
        if (cells := [c.strip() for c in line.strip("│ ").split("│")])[0].startswith("MEDIA_SYNC_")
    }
    assert set(rows) == {s.env for s in SETTINGS}
    assert rows["MEDIA_SYNC_FILE_MODE"] == ["0640", "set"]
    assert rows["MEDIA_SYNC_MAX_UPLOAD_MB"] == ["5", "set"]
    assert rows["MEDIA_SYNC_ACCESS_LOG"] == ["off", "set"]
    assert rows["MEDIA_SYNC_CORS_ORIGINS"] == ["http://a.example,http://b.example", "set"]
    assert rows["MEDIA_SYNC_PUBLIC_URL"] == ["https://nas.local:9000/media", "set"]
    assert rows["MEDIA_SYNC_API_TOKEN"] == ["(set, hidden)", "set"]
    assert rows["MEDIA_SYNC_DATABASE_URL"] == ["postgresql://media:***@db.local:5433/media", "set"]
    assert rows["MEDIA_SYNC_KEEPALIVE_SECONDS"] == ["5", "default"]
    assert rows["MEDIA_SYNC_PROJECTS_ROOT"] == [str(tmp_path / "p"), "set"]
    assert TOKEN not in done.stdout and PASSWORD not in done.stdout


def test_env_lines_of_the_defaults_give_the_same_settings(tmp_path: Path) -> None:
    done = run_cli(["settings", "--env"], {})
    assert done.returncode == 0, done.stderr
    printed = parse_env_lines(done.stdout)
    assert list(printed) == [s.env for s in SETTINGS]
    assert printed["MEDIA_SYNC_FILE_MODE"] == "0644"
    assert printed["MEDIA_SYNC_ACCESS_LOG"] == "on"
    assert printed["MEDIA_SYNC_SETTLE_SECONDS"] == "2"
    assert Settings.from_env(printed) == Settings.from_env({})


def test_env_lines_of_changed_settings_give_the_same_settings(tmp_path: Path) -> None:
    env = env_for(tmp_path / "p", tmp_path / "s", **NON_DEFAULT)
    done = run_cli(["settings", "--env", "--show-secrets"], env)
    assert done.returncode == 0, done.stderr
    printed = parse_env_lines(done.stdout)
    assert printed["MEDIA_SYNC_FILE_MODE"] == "0640"
    assert printed["MEDIA_SYNC_POLL_INTERVAL_SECONDS"] == "0.25"
    assert printed["MEDIA_SYNC_CORS_ORIGINS"] == "http://a.example,http://b.example"
    assert Settings.from_env(printed) == Settings.from_env(env)


def test_env_lines_leave_secrets_out_as_comments(tmp_path: Path) -> None:
    env = env_for(tmp_path / "p", tmp_path / "s", **NON_DEFAULT)
    done = run_cli(["settings", "--env"], env)
    assert done.returncode == 0, done.stderr
    assert TOKEN not in done.stdout and PASSWORD not in done.stdout
    commented = [line for line in done.stdout.splitlines() if line.startswith("# ")]
    assert [line.split("=", 1)[0] for line in commented] == [
        "# MEDIA_SYNC_DATABASE_URL",
        "# MEDIA_SYNC_API_TOKEN",
        "# MEDIA_SYNC_READ_TOKEN",
    ]
    assert all(line.endswith("(add --show-secrets to print it)") for line in commented)
    again = Settings.from_env(parse_env_lines(done.stdout))
    assert (again.api_token, again.read_token, again.database_url) == ("", "", "")
    assert again.with_overrides(
        api_token=TOKEN,
        read_token=NON_DEFAULT["MEDIA_SYNC_READ_TOKEN"],
        database_url=NON_DEFAULT["MEDIA_SYNC_DATABASE_URL"],
    ) == Settings.from_env(env)

"""The systemd units: `systemd-analyze verify` and `security`, hardening that still lets them write.

`verify` insists that ExecStart's binary exists. The units name the documented install path
/opt/media-sync/bin/media-sync, which is not installed on a test machine, so each check runs on
a copy in tmp_path whose ExecStart points at this venv's real `media-sync` script instead;
nothing else in the copy changes (a test asserts that).
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.settings import SETTINGS, Settings, setting_names
from ingress.server import FD_RESERVE, connection_cap
from tests.deploy.files import (
    DEPLOY,
    SETTING_NAME,
    app_graceful_timeout,
    read_dotenv,
    seconds,
    unit_values,
)

UNITS = {"media-sync.service": "serve", "media-sync-daemon.service": "daemon"}
INSTALLED = "/opt/media-sync/bin/media-sync"
ENV_FILE = DEPLOY / "systemd" / "media-sync.env"
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.usefixtures("systemd_analyze")


@pytest.fixture
def systemd_analyze() -> None:
    assert ANALYZE is not None, "systemd-analyze missing: apt-get install systemd"


def local_copy(unit: str, tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this venv's media-sync (see the module docstring)."""
    script = Path(sys.executable).parent / "media-sync"
    assert script.is_file(), "the media-sync console script is not installed in this venv"
    text = (DEPLOY / "systemd" / unit).read_text()
    assert text.count(f"ExecStart={INSTALLED} ") == 1
    copy = tmp_path / unit
    copy.write_text(text.replace(f"ExecStart={INSTALLED} ", f"ExecStart={script} "))
    return copy


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    assert ANALYZE
    return subprocess.run([ANALYZE, *args], capture_output=True, text=True, timeout=60, check=False)


def complaints(result: subprocess.CompletedProcess[str], unit: Path) -> list[str]:
    """Lines of verify's output about our unit (the host's own units may add noise)."""
    lines = (result.stdout + result.stderr).splitlines()
    return [line for line in lines if unit.name in line or str(unit) in line]


@needs_analyze
@pytest.mark.parametrize("unit", UNITS)
def test_systemd_analyze_verify_is_clean(unit: str, tmp_path: Path) -> None:
    copy = local_copy(unit, tmp_path)
    result = analyze("verify", "--man=no", str(copy))
    assert result.returncode == 0, result.stderr
    assert complaints(result, copy) == []


@needs_analyze
def test_verify_reports_a_broken_unit(tmp_path: Path) -> None:
    copy = local_copy("media-sync.service", tmp_path)
    copy.write_text(copy.read_text().replace("ProtectSystem=strict", "ProtectSystm=strict"))
    assert any(
        "ProtectSystm" in line
        for line in complaints(analyze("verify", "--man=no", str(copy)), copy)
    )


@needs_analyze
@pytest.mark.parametrize("unit", UNITS)
def test_security_exposure_is_low(unit: str, tmp_path: Path) -> None:
    copy = local_copy(unit, tmp_path)
    # The threshold is on systemd's 0-100 scale: 25 is an exposure of 2.5 ("OK").
    result = analyze("security", "--offline=yes", "--threshold=25", str(copy))
    assert result.returncode == 0, result.stdout[-2000:]


@pytest.mark.parametrize(("unit", "command"), UNITS.items())
def test_unit_runs_the_command_as_a_dedicated_user(unit: str, command: str) -> None:
    path = DEPLOY / "systemd" / unit
    assert unit_values(path, "ExecStart") == [f"{INSTALLED} {command}"]
    assert unit_values(path, "User") == ["media-sync"]
    assert unit_values(path, "EnvironmentFile") == ["-/etc/media-sync/media-sync.env"]
    assert unit_values(path, "Restart") == ["on-failure"]
    assert unit_values(path, "KillSignal") == ["SIGTERM"]
    (timeout,) = unit_values(path, "TimeoutStopSec")
    assert seconds(timeout) > app_graceful_timeout()
    assert unit_values(path, "WantedBy", "Install") == ["multi-user.target"]


@pytest.mark.parametrize("unit", UNITS)
def test_hardening_still_allows_writing_both_roots(unit: str) -> None:
    path = DEPLOY / "systemd" / unit
    for key, value in [
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("NoNewPrivileges", "yes"),
    ]:
        assert unit_values(path, key) == [value], key
    environment = dict(v.split("=", 1) for v in unit_values(path, "Environment"))
    assert set(environment) <= set(setting_names())
    root, state = environment["MEDIA_SYNC_PROJECTS_ROOT"], environment["MEDIA_SYNC_STATE_DIR"]
    writable = " ".join(unit_values(path, "ReadWritePaths")).split()
    assert root in writable, "ProtectSystem=strict would make the projects root read-only"
    assert unit_values(path, "RequiresMountsFor", "Unit") == [root]
    (state_directory,) = unit_values(path, "StateDirectory")
    assert state == f"/var/lib/{state_directory}", "the state dir must be the StateDirectory="
    assert not root.startswith("/home"), "ProtectHome=yes hides /home"


def test_environment_file_matches_the_units() -> None:
    env = read_dotenv(ENV_FILE)
    assert set(SETTING_NAME.findall(ENV_FILE.read_text())) <= set(setting_names())
    assert set(env) <= set(setting_names())
    for setting in SETTINGS:
        if setting.env in env:
            setting.parse(env[setting.env])
    for unit in UNITS:
        environment = dict(
            v.split("=", 1) for v in unit_values(DEPLOY / "systemd" / unit, "Environment")
        )
        for name in ("MEDIA_SYNC_PROJECTS_ROOT", "MEDIA_SYNC_STATE_DIR"):
            assert env[name] == environment[name], f"{unit}: {name}"


@pytest.mark.parametrize("unit", UNITS)
def test_open_file_limit_is_raised_above_the_connection_cap(
    unit: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """systemd's default of 1024 let 600 stalled clients starve the watcher of descriptors."""
    (value,) = unit_values(DEPLOY / "systemd" / unit, "LimitNOFILE")
    limit = int(value)
    assert limit >= 8192
    if UNITS[unit] == "serve":  # the limit systemd gives the process, as getrlimit reports it
        monkeypatch.setattr(resource, "getrlimit", lambda _kind: (limit, limit))
        cap = connection_cap(Settings.from_env({}, max_connections=0))
        assert cap == limit // 2 - FD_RESERVE
        assert cap + FD_RESERVE < limit  # the watcher and the catalog keep their share

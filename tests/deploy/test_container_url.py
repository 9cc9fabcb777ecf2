"""Inside a container the guessed LAN URL is the container's own address: the container is
detected (from real marker files under a temp root), /health says what to set, start-up warns."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from daemon.settings import Settings
from ingress.app import create_app
from ingress.urls import in_container, lan_url_note, warn_if_phones_cannot_reach
from tests.support.env import settings_for

SET_THIS = "MEDIA_SYNC_PUBLIC_URL=http://<NAS-IP>:<port>"


def docker_root(tmp_path: Path) -> Path:
    root = tmp_path / "docker-root"
    root.mkdir()
    (root / ".dockerenv").touch()
    return root


def test_a_plain_root_is_no_container(tmp_path: Path) -> None:
    (tmp_path / "proc" / "1").mkdir(parents=True)
    (tmp_path / "proc" / "1" / "cgroup").write_text("0::/init.scope\n")  # systemd, cgroup v2
    assert in_container(tmp_path) is False
    assert in_container(tmp_path / "missing") is False


@pytest.mark.parametrize(
    ("path", "content"),
    [
        (".dockerenv", ""),  # Docker
        ("run/.containerenv", 'engine="podman-4.9"\n'),  # Podman
        ("proc/1/cgroup", "12:memory:/docker/3f2a9c\n11:pids:/docker/3f2a9c\n"),  # cgroup v1
        ("proc/1/cgroup", "1:name=systemd:/kubepods/besteffort/pod1\n"),
    ],
    ids=["docker", "podman", "cgroup-docker", "cgroup-kubepods"],
)
def test_container_markers_are_found(tmp_path: Path, path: str, content: str) -> None:
    (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / path).write_text(content)
    assert in_container(tmp_path) is True


def test_in_a_container_the_note_says_what_to_set(roots: tuple[Path, Path], tmp_path: Path) -> None:
    note = lan_url_note(settings_for(*roots), docker_root(tmp_path))
    assert note is not None
    assert SET_THIS in note and "deploy/.env" in note and "container's own address" in note


def test_no_note_when_the_public_url_is_set_or_outside_a_container(
    roots: tuple[Path, Path], tmp_path: Path
) -> None:
    public = settings_for(*roots, MEDIA_SYNC_PUBLIC_URL="http://192.168.0.25:8787")
    assert lan_url_note(public, docker_root(tmp_path)) is None
    plain = tmp_path / "plain-root"
    plain.mkdir()
    assert lan_url_note(settings_for(*roots), plain) is None


def test_start_up_warns_inside_a_container(
    roots: tuple[Path, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = docker_root(tmp_path)
    with caplog.at_level(logging.WARNING, logger="media_sync.ingress"):
        warn_if_phones_cannot_reach(
            settings_for(*roots, MEDIA_SYNC_PUBLIC_URL="http://nas:8787"), root
        )
        assert caplog.records == []
        warn_if_phones_cannot_reach(settings_for(*roots), root)
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert SET_THIS in caplog.records[0].getMessage()


def health(settings: Settings) -> dict[str, Any]:
    with TestClient(create_app(settings)) as http:
        body: dict[str, Any] = http.get("/health").json()
    return body


def test_health_carries_the_note(roots: tuple[Path, Path]) -> None:
    public = health(settings_for(*roots, MEDIA_SYNC_PUBLIC_URL="http://192.168.0.25:8787"))
    assert public["lan_url"] == "http://192.168.0.25:8787" and public["lan_url_note"] is None
    guessed = settings_for(*roots)
    assert health(guessed)["lan_url_note"] == lan_url_note(guessed, Path("/"))  # this machine

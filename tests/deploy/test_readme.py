"""deploy/README.md documents the same command, commands and files that deploy/ ships."""

from __future__ import annotations

import json

from tests.deploy.files import DEPLOY, dockerfile_stages, unit_values

README = (DEPLOY / "README.md").read_text()


def test_readme_shows_the_command_the_image_and_the_unit_run() -> None:
    assert "media-sync serve" in README.splitlines(), "a line reading just `media-sync serve`"
    (cmd,) = [i.args for i in dockerfile_stages(DEPLOY / "Dockerfile")[-1] if i.keyword == "CMD"]
    assert " ".join(json.loads(cmd)) == "media-sync serve"
    (exec_start,) = unit_values(DEPLOY / "systemd" / "media-sync.service", "ExecStart")
    assert exec_start.endswith("/media-sync serve")


def test_readme_has_the_deploy_sections() -> None:
    headings = [line for line in README.splitlines() if line.startswith("#")]
    assert headings[0] == "# Deploy"
    for words in (
        "NAS",
        "Docker Desktop on Windows",
        "systemd",
        "Upgrading",
        "Where the state lives",
        "resolve-agent",
        "Bake",
    ):
        assert any(words in heading for heading in headings), words


def test_readme_gives_the_quick_start_and_rebuild_commands() -> None:
    for command in (
        "docker compose -f deploy/docker-compose.yaml up -d --build",
        "docker buildx bake -f deploy/docker-bake.hcl",
        "media-sync rebuild",
        "systemctl enable --now media-sync",
        "pip install --no-deps",
        "B:\\Video\\Projects",
        "MEDIA_SYNC_WATCH=polling",
    ):
        assert command in README, command


def test_readme_mentions_every_deploy_file() -> None:
    shipped = [
        p.relative_to(DEPLOY).as_posix()
        for p in DEPLOY.rglob("*")
        if p.is_file() and p.name not in ("README.md", ".env", "compose.override.yml")
    ]
    assert shipped
    missing = [name for name in shipped if f"`{name}`" not in README]
    assert missing == []

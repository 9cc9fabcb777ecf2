"""deploy/unraid/media-sync.xml: a Community Applications template that names only real
settings and mounts the container paths the compose file pins."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import yaml

from daemon.settings import SETTINGS, setting_names
from tests.deploy.files import DEPLOY, SETTING_NAME, read_dotenv, seconds

TEMPLATE = DEPLOY / "unraid" / "media-sync.xml"
COMPOSE = DEPLOY / "docker-compose.yaml"


def template() -> ET.Element:
    root = ET.parse(TEMPLATE).getroot()
    assert root.tag == "Container" and root.get("version") == "2"
    return root


def configs(kind: str) -> list[ET.Element]:
    return [c for c in template().iter("Config") if c.get("Type") == kind]


def compose_service() -> dict[str, Any]:
    env = read_dotenv(DEPLOY / ".env.example")
    text = COMPOSE.read_text().replace("${HOST_PORT:-8787}", env["HOST_PORT"])
    service: dict[str, Any] = yaml.safe_load(text)["services"]["media-sync"]
    return service


def test_every_setting_it_names_exists_with_a_valid_default() -> None:
    known = set(setting_names())
    named = set(SETTING_NAME.findall(TEMPLATE.read_text()))
    assert named and named <= known, sorted(named - known)
    by_name = {s.env: s for s in SETTINGS}
    for config in configs("Variable"):
        target = config.get("Target", "")
        assert target in known, target
        for value in (config.get("Default", ""), config.text or ""):
            by_name[target].parse(value)  # raises ValueError on a value the app would reject


def test_paths_and_port_are_the_compose_files() -> None:
    service = compose_service()
    mounts = {volume["target"] for volume in service["volumes"]}
    paths = {config.get("Target") for config in configs("Path")}
    assert paths == mounts == {"/data/projects", "/data/state"}
    pinned = service["environment"]
    assert pinned["MEDIA_SYNC_PROJECTS_ROOT"] in paths and pinned["MEDIA_SYNC_STATE_DIR"] in paths
    (port,) = configs("Port")
    assert port.get("Target") == pinned["MEDIA_SYNC_PORT"] == "8787" and port.get("Mode") == "tcp"
    assert service["ports"] == [f"8787:{port.get('Target')}"]


def test_container_basics() -> None:
    root = template()
    assert root.findtext("Repository") == compose_service()["image"]
    assert root.findtext("Network") == "bridge"
    assert root.findtext("WebUI") == "http://[IP]:[PORT:8787]/"
    assert root.findtext("Privileged") == "false"
    extra = root.findtext("ExtraParams") or ""
    assert re.search(r"--user 99:100\b", extra), "runs as Unraid's nobody:users"
    stop = re.search(r"--stop-timeout (\d+)", extra)
    grace = seconds(compose_service()["stop_grace_period"])
    assert stop and int(stop.group(1)) == grace, "as long as compose's stop_grace_period"
    requires = root.findtext("Requires") or ""
    assert "--build-arg UID=99 --build-arg GID=100 -t media-sync:latest" in requires


def test_tokens_are_masked_and_the_public_url_is_shown() -> None:
    variables = {c.get("Target"): c for c in configs("Variable")}
    for secret in ("MEDIA_SYNC_API_TOKEN", "MEDIA_SYNC_READ_TOKEN"):
        assert variables[secret].get("Mask") == "true", secret
    public = variables["MEDIA_SYNC_PUBLIC_URL"]
    assert public.get("Display") == "always" and public.get("Mask") == "false"

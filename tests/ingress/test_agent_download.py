"""The server hands out the Resolve agent: `/agent/resolve-agent.pyz`, downloaded over HTTP from
a real `media-sync serve`, runs in a clean Python (one that has no media-sync) and does a job.

Only DaVinci Resolve is a fake: tests/resolve_agent/fake_resolve.py, put where Resolve's own
scripting module would be (RESOLVE_SCRIPT_API), as on a workstation.
"""

from __future__ import annotations

import ast
import io
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from ingress.routes.agent import build_zipapp
from tests.support.server import REPO, LiveServer, serving

WRITE_TOKEN = "agent-write-token-0123456789"
READ_TOKEN = "agent-read-token-0123456789"
AGENT_DIR = REPO / "daemon" / "resolve_agent"
FAKE_RESOLVE = REPO / "tests" / "resolve_agent" / "fake_resolve.py"
# The interpreter beneath the venv (no media-sync in it); CLEAN_PYTHON=... tries another one.
CLEAN_PYTHON = Path(os.environ.get("CLEAN_PYTHON", Path(sys.base_prefix) / "bin" / "python3"))
CLIPS = ("a.mp4", "b.mov")


@pytest.fixture
def server(roots: tuple[Path, Path]) -> Iterator[LiveServer]:
    env = {"MEDIA_SYNC_API_TOKEN": WRITE_TOKEN, "MEDIA_SYNC_READ_TOKEN": READ_TOKEN}
    with serving(*roots, args=["--no-watch"], env=env) as live:
        yield live


def reader(server: LiveServer) -> httpx.Client:
    return server.client(headers={"Authorization": f"Bearer {READ_TOKEN}"})


def download(server: LiveServer, target: Path) -> httpx.Response:
    with reader(server) as http:
        response = http.get("/agent/resolve-agent.pyz")
    assert response.status_code == 200, response.text
    target.write_bytes(response.content)
    return response


def clean_python(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Any:
    """The base interpreter in isolated mode (-I: no PYTHONPATH, no user site, no cwd)."""
    return subprocess.run(
        [str(CLEAN_PYTHON), "-I", *args],
        cwd=cwd,
        env=env if env is not None else {"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_download_is_a_zipapp_of_the_agent_alone(server: LiveServer) -> None:
    with server.client() as anonymous:
        refused = anonymous.get("/agent/resolve-agent.pyz")
    assert refused.status_code == 401  # a read like any other: the read token is enough
    with reader(server) as http:
        first = http.get("/agent/resolve-agent.pyz")
        again = http.get("/agent/resolve-agent.pyz")
        unchanged = http.get(
            "/agent/resolve-agent.pyz", headers={"If-None-Match": first.headers["etag"]}
        )
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/octet-stream"
    assert first.headers["content-disposition"] == 'attachment; filename="resolve-agent.pyz"'
    assert first.content.startswith(b"#!/usr/bin/env python3\n")
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
    assert build_zipapp().data == first.content  # built again in this process: same bytes
    assert unchanged.status_code == 304 and unchanged.content == b""

    with zipfile.ZipFile(io.BytesIO(first.content)) as archive:
        names = archive.namelist()
        package_init = archive.read("daemon/__init__.py").decode()
        shipped = {n: archive.read(n) for n in names if n.startswith("daemon/resolve_agent/")}
        stamps = {info.date_time for info in archive.infolist()}
    agent_modules = {f"daemon/resolve_agent/{p.name}" for p in AGENT_DIR.glob("*.py")}
    assert sorted(names) == sorted({"__main__.py", "daemon/__init__.py"} | agent_modules)
    assert shipped == {
        f"daemon/resolve_agent/{p.name}": p.read_bytes() for p in AGENT_DIR.glob("*.py")
    }
    imports = [
        n for n in ast.walk(ast.parse(package_init)) if isinstance(n, ast.Import | ast.ImportFrom)
    ]
    assert imports == []  # not the server's daemon/__init__: nothing to import
    assert stamps == {(1980, 1, 1, 0, 0, 0)}


def test_the_downloaded_agent_runs_a_job_in_a_clean_python(
    server: LiveServer, tmp_path: Path
) -> None:
    assert clean_python("-c", "import daemon", cwd=tmp_path).returncode == 1, (
        "the clean interpreter must not have media-sync installed"
    )
    workstation = tmp_path / "workstation"
    workstation.mkdir()
    pyz = workstation / "resolve-agent.pyz"
    download(server, pyz)

    helped = clean_python(pyz.name, "--help", cwd=workstation)
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith("usage: resolve-agent.pyz "), helped.stdout
    for option in ("--server", "--map", "--once", "--token"):
        assert option in helped.stdout

    with server.client(headers={"Authorization": f"Bearer {WRITE_TOKEN}"}) as http:
        created = http.post("/api/projects", json={"name": "Foo"})
        assert created.status_code == 201, created.text
        project = created.json()["name"]
        for clip in CLIPS:
            (server.root / project / "ingest" / "originals" / clip).write_bytes(b"x" * 100)
        paths = [f"ingest/originals/{clip}" for clip in CLIPS]
        opened = http.post("/api/resolve/open", json={"project": project, "media_rel_paths": paths})
        assert opened.status_code == 200, opened.text
        job_id = opened.json()["job_id"]

    scripting = workstation / "Scripting"  # Resolve's Developer/Scripting folder, faked
    (scripting / "Modules").mkdir(parents=True)
    shutil.copyfile(FAKE_RESOLVE, scripting / "Modules" / "DaVinciResolveScript.py")
    env = {
        "PATH": os.environ["PATH"],
        "RESOLVE_SCRIPT_API": str(scripting),
        "MEDIA_SYNC_API_TOKEN": WRITE_TOKEN,  # as the page says: the agent reads it from here
    }
    ran = clean_python(
        pyz.name, "--server", server.url, "--name", "pyz-bay", "--map",
        f"primary={server.root}", "--once", cwd=workstation, env=env,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr

    with reader(server) as http:
        job = http.get(f"/api/resolve/jobs/{job_id}").json()
    assert job["status"] == "done" and job["claimed_by"] == "pyz-bay", job
    assert {r["path"].rsplit("/", 1)[-1]: r["status"] for r in job["result"]["results"]} == {
        "a.mp4": "imported",
        "b.mov": "imported",
    }


def test_an_old_python_is_told_what_to_install(tmp_path: Path) -> None:
    pyz = tmp_path / "resolve-agent.pyz"
    pyz.write_bytes(build_zipapp().data)
    old = tmp_path / "old.py"  # what the archive's __main__ sees on Python 3.9
    with zipfile.ZipFile(pyz) as archive:
        main = archive.read("__main__.py").decode()
    old.write_text(main.replace("sys.version_info <", "(3, 9, 18) <"))
    said = clean_python(str(old), cwd=tmp_path)
    assert said.returncode == 1
    assert "needs Python 3.10 or newer" in said.stderr and "python.org" in said.stderr


def test_the_page_gives_the_commands_with_this_servers_url(
    client_with: Callable[..., TestClient[Any]],
) -> None:
    page = client_with(MEDIA_SYNC_PUBLIC_URL="http://nas.lan:8787").get("/agent")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = page.text
    assert "py resolve-agent.pyz --server http://nas.lan:8787" in text
    assert "python3 resolve-agent.pyz --server http://nas.lan:8787" in text
    assert "--map primary=B:\\Video\\Projects" in text
    assert "--map primary=/Volumes/Video/Projects" in text
    assert 'href="http://nas.lan:8787/agent/resolve-agent.pyz"' in text
    assert "MEDIA_SYNC_API_TOKEN" not in text  # no token on this server: nothing to set


def test_the_page_says_which_token_the_agent_needs(
    client_with: Callable[..., TestClient[Any]],
) -> None:
    http = client_with(MEDIA_SYNC_API_TOKEN=WRITE_TOKEN, MEDIA_SYNC_READ_TOKEN=READ_TOKEN)
    assert http.get("/agent").status_code == 401
    page = http.get("/agent", headers={"Authorization": f"Bearer {READ_TOKEN}"})
    assert page.status_code == 200
    assert "$env:MEDIA_SYNC_API_TOKEN = " in page.text  # Windows
    assert "export MEDIA_SYNC_API_TOKEN=" in page.text  # macOS
    assert "Authorization: Bearer $MEDIA_SYNC_API_TOKEN" in page.text
    assert WRITE_TOKEN not in page.text and READ_TOKEN not in page.text

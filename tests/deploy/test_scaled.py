"""compose.scaled.yml + nginx/media-sync.conf: the Compose schema, PostgreSQL with a volume and
a health check, two replicas on one projects root, and an nginx that `nginx -t` accepts and
that streams uploads through to a real `media-sync serve`."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from jsonschema import Draft202012Validator

from daemon.settings import setting_names
from tests.deploy.files import (
    DATA,
    DEPLOY,
    REPO,
    SETTING_NAME,
    app_graceful_timeout,
    interpolate,
    read_dotenv,
    seconds,
)
from tests.support.api import create_project
from tests.support.files import temp_files
from tests.support.server import LiveServer, free_port
from tests.support.waiting import wait_until

SCALED = DEPLOY / "compose.scaled.yml"
NGINX_CONF = DEPLOY / "nginx" / "media-sync.conf"
REPLICAS = ("media-sync-a", "media-sync-b")
PASSWORD = "0123456789abcdef"


def env() -> dict[str, str]:
    return {**read_dotenv(DEPLOY / ".env.example"), "POSTGRES_PASSWORD": PASSWORD}


def scaled(values: dict[str, str] | None = None) -> dict[str, Any]:
    text = SCALED.read_text()
    loaded: dict[str, Any] = yaml.safe_load(text if values is None else interpolate(text, values))
    return loaded


def test_scaled_compose_file_matches_the_compose_specification() -> None:
    validator = Draft202012Validator(json.loads((DATA / "compose-spec.json").read_text()))
    for document in (scaled(), scaled(env())):
        assert [e.message for e in validator.iter_errors(document)] == []
    assert set(scaled()["services"]) == {"postgres", *REPLICAS, "nginx"}


def test_the_database_password_must_be_set() -> None:
    values = env()
    del values["POSTGRES_PASSWORD"]
    with pytest.raises(KeyError, match="POSTGRES_PASSWORD"):
        scaled(values)


def test_postgresql_keeps_its_data_in_a_volume_and_says_when_it_is_ready() -> None:
    document = scaled(env())
    postgres = document["services"]["postgres"]
    (data,) = postgres["volumes"]
    assert data["type"] == "volume" and data["target"] == "/var/lib/postgresql/data"
    assert data["source"] in document["volumes"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert postgres["environment"]["POSTGRES_PASSWORD"] == PASSWORD


def test_two_replicas_share_the_projects_root_and_the_postgresql_catalog() -> None:
    document = scaled(env())
    services = document["services"]
    replicas = [services[name] for name in REPLICAS]
    url = f"postgresql://media_sync:{PASSWORD}@postgres:5432/media_sync"
    for app in replicas:
        environment = app["environment"]
        assert environment["MEDIA_SYNC_DATABASE_URL"] == url
        assert environment["MEDIA_SYNC_PROJECTS_ROOT"] == "/data/projects"
        assert app["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert "ports" not in app, "only nginx is published"
        assert app["stop_signal"] == "SIGTERM"
        assert seconds(app["stop_grace_period"]) > app_graceful_timeout()
        context = (SCALED.parent / app["build"]["context"]).resolve()
        assert context == REPO and (context / app["build"]["dockerfile"]).is_file()
    mounts = [{m["target"]: m for m in app["volumes"]} for app in replicas]
    assert mounts[0] == mounts[1]
    assert mounts[0]["/data/projects"]["source"] == env()["HOST_PROJECTS_DIR"]
    assert mounts[0]["/data/state"]["source"] in document["volumes"]
    assert {app["hostname"] for app in replicas} == set(REPLICAS)


def test_nginx_is_the_published_door_with_the_shipped_config() -> None:
    nginx = scaled(env())["services"]["nginx"]
    assert nginx["ports"] == ["8787:8787"]
    (config,) = nginx["volumes"]
    assert (SCALED.parent / config["source"]).resolve() == NGINX_CONF
    assert config["read_only"] is True
    assert set(nginx["depends_on"]) == set(REPLICAS)


def test_every_media_sync_variable_is_a_setting() -> None:
    used = set(SETTING_NAME.findall(SCALED.read_text()))
    assert "MEDIA_SYNC_DATABASE_URL" in used
    assert used <= set(setting_names())


def directives(text: str) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [" ".join(line.rstrip(";").split()) for line in lines if line]


def test_nginx_streams_uploads_and_keeps_upstream_connections() -> None:
    found = directives(NGINX_CONF.read_text())
    for wanted in (
        "client_max_body_size 0",
        "proxy_request_buffering off",
        "proxy_buffering off",
        "proxy_http_version 1.1",
        'proxy_set_header Connection ""',
        "proxy_read_timeout 1h",
        "proxy_send_timeout 1h",
        "client_body_timeout 1h",
        "keepalive 32",
        "proxy_next_upstream error timeout",
    ):
        assert wanted in found, wanted
    servers = [d for d in found if d.startswith("server media-sync-")]
    assert sorted({d.split()[1] for d in servers}) == [f"{r}:8787" for r in REPLICAS]
    assert not any("proxy_hide_header" in d or "proxy_pass_request_headers off" in d for d in found)


def nginx_binary() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").is_file() else ""
    )
    if not found:
        pytest.fail("nginx not found: .ci/run installs it")
    return found


def local_config(tmp_path: Path, upstreams: list[int], port: int) -> Path:
    """The shipped config with the replicas replaced by local ports, in a runnable nginx.conf."""
    text = NGINX_CONF.read_text()
    for replica, upstream in zip(REPLICAS, upstreams, strict=True):
        text = text.replace(f"{replica}:8787", f"127.0.0.1:{upstream}")
    text = text.replace("listen 8787;", f"listen 127.0.0.1:{port};")
    tmp_path.mkdir(parents=True, exist_ok=True)
    site = tmp_path / "media-sync.conf"
    site.write_text(text)
    temps = "\n".join(
        f"    {kind}_temp_path {tmp_path / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"worker_processes 1;\npid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'error.log'};\n"
        f"events {{ worker_connections 64; }}\n"
        f"http {{\n    access_log off;\n{temps}\n    include {site};\n}}\n"
    )
    return main


def nginx(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    prefix = config.parent
    return subprocess.run(
        [nginx_binary(), "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(config),
         *args],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


def test_nginx_accepts_the_config(tmp_path: Path) -> None:
    config = local_config(tmp_path, [free_port(), free_port()], free_port())
    result = nginx(config, "-t")
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_nginx_t_can_fail(tmp_path: Path) -> None:
    config = local_config(tmp_path, [free_port(), free_port()], free_port())
    site = tmp_path / "media-sync.conf"
    site.write_text(site.read_text().replace("proxy_request_buffering off;", "proxy_buffering x;"))
    assert nginx(config, "-t").returncode != 0


@contextmanager
def running_nginx(config: Path, port: int) -> Iterator[str]:
    started = nginx(config, "-g", "daemon on;")
    assert started.returncode == 0, started.stderr
    pid_file = config.parent / "nginx.pid"
    try:
        wait_until(pid_file.is_file, 10, what="nginx's pid file")
        yield f"http://127.0.0.1:{port}"
    finally:
        if pid_file.is_file():
            nginx(config, "-s", "stop")
            deadline = time.monotonic() + 10
            while pid_file.exists() and time.monotonic() < deadline:
                time.sleep(0.05)


@pytest.mark.e2e
def test_a_large_upload_and_the_resumable_headers_pass_through_nginx(
    tmp_path: Path, quiet_server: LiveServer
) -> None:
    port = free_port()
    config = local_config(tmp_path / "nginx", [quiet_server.port, quiet_server.port], port)
    with running_nginx(config, port) as url, httpx.Client(base_url=url, timeout=60) as http:
        project = create_project(http, "Through nginx")
        data = bytes(range(256)) * (12 * 4096)  # 12 MiB: past nginx's default 1 MiB body cap
        response = http.post(
            f"/api/projects/{project}/upload", files={"file": ("big.mov", data, "video/quicktime")}
        )
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "stored"
        stored = quiet_server.root / project / "ingest" / "originals" / "big.mov"
        assert stored.read_bytes() == data
        _tus_round_trip(http, project, data[: 3 * 1024 * 1024])
        assert (stored.parent / "tus.mov").read_bytes() == data[: 3 * 1024 * 1024]


def _tus_round_trip(http: httpx.Client, project: str, data: bytes) -> None:
    """tus 1.0 through nginx: its request headers reach the server, its answers come back."""
    tus = {"Tus-Resumable": "1.0.0"}
    name = base64.b64encode(b"tus.mov").decode()
    created = http.post(
        f"/api/projects/{project}/uploads",
        headers={**tus, "Upload-Length": str(len(data)), "Upload-Metadata": f"filename {name}"},
    )
    assert created.status_code == 201, created.text
    assert created.headers["tus-resumable"] == "1.0.0"
    location = created.headers["location"]
    headers = {**tus, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
    patched = http.patch(location, headers=headers, content=data)
    assert patched.status_code == 204, patched.text
    assert patched.headers["upload-offset"] == str(len(data))


@pytest.mark.e2e
def test_nginx_passes_an_upload_on_while_it_is_still_being_sent(
    tmp_path: Path, quiet_server: LiveServer
) -> None:
    """Unbuffered: the replica is writing the upload before the client has sent all of it
    (nginx buffering the body would hold it back until the last byte)."""
    port = free_port()
    config = local_config(tmp_path / "nginx", [quiet_server.port, quiet_server.port], port)
    with running_nginx(config, port), quiet_server.client() as http:
        project = create_project(http, "Streamed")
        originals = quiet_server.root / project / "ingest" / "originals"
        boundary = "streamedthroughnginx"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            'filename="slow.mov"\r\n\r\n'
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        data = bytes(range(256)) * 16384  # 4 MiB
        request = (
            f"POST /api/projects/{project}/upload HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {len(head) + len(data) + len(tail)}\r\nConnection: close\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(request + head + data[: len(data) // 2])
            wait_until(lambda: temp_files(originals), 20, what="the replica writing the upload")
            sock.sendall(data[len(data) // 2 :] + tail)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
        assert (originals / "slow.mov").read_bytes() == data

"""The log of a real `media-sync serve`: event lines under `media_sync_api.*` (project created,
upload stored, duplicate, refused, a drop, a relocation, a reindex) with their fields in the
JSON format, the access log and MEDIA_SYNC_ACCESS_LOG=off, the text format, and no token."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from daemon.runtime.logsetup import JsonFormatter, configure_logging
from ingress.observe import safe_target
from tests.factories import jpeg_bytes
from tests.support.api import create_project, listing, upload_bytes
from tests.support.env import settings_for
from tests.support.files import sha256_of, write
from tests.support.server import LiveServer, serving
from tests.support.waiting import wait_until

TOKEN = "a-long-secret-token-0123456789"


def records(server: LiveServer) -> list[dict[str, Any]]:
    """Every line of the server's output, each one JSON object."""
    return [json.loads(line) for line in server.log().splitlines() if line.strip()]


def one(found: list[dict[str, Any]], **wanted: Any) -> dict[str, Any]:
    """The one record carrying all of ``wanted``."""
    matches = [r for r in found if all(r.get(k) == v for k, v in wanted.items())]
    assert len(matches) == 1, (wanted, matches)
    return matches[0]


@pytest.mark.e2e
def test_json_event_lines_carry_their_fields_and_never_the_token(
    roots: tuple[Path, Path],
) -> None:
    photo, dropped, loose = jpeg_bytes(variant=1), jpeg_bytes(variant=2), jpeg_bytes(variant=3)
    env = {"MEDIA_SYNC_LOG_FORMAT": "json", "MEDIA_SYNC_API_TOKEN": TOKEN}
    with serving(*roots, env=env) as server:
        with server.client(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
            project = create_project(http, "Logs")
            upload_bytes(http, project, "beach.jpg", photo)
            upload_bytes(http, project, "again.jpg", photo)
            refused = http.put(f"/api/projects/{project}/files/notes.txt", content=b"not media")
            assert refused.status_code == 415
            write(server.root / project / "ingest" / "originals" / "drop.jpg", dropped)
            wait_until(lambda: len(listing(http, project)) == 2, what="the drop listed")
            write(server.root / "loose.jpg", loose)
            wait_until(lambda: "relocated loose.jpg" in server.log(), what="the relocation")
            assert http.get("/reindex").status_code == 200
        with server.client() as anonymous:
            assert anonymous.get("/api/projects", params={"token": TOKEN}).status_code == 200
            assert anonymous.get("/health", headers={"Host": "evil.example"}).status_code == 421
            foreign = {"Origin": "http://evil.example", "Authorization": f"Bearer {TOKEN}"}
            cross = anonymous.post("/api/projects", json={"name": "X"}, headers=foreign)
            assert cross.status_code == 403
            wrong = anonymous.get("/api/projects", headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
        server.stop()
        text = server.log()
        found = records(server)

    assert TOKEN not in text
    for record in found:
        assert {"time", "level", "logger", "message"} <= set(record), record
        assert record["time"].endswith("Z") and datetime.fromisoformat(record["time"])
    created = one(found, logger="media_sync_api.projects", project=project)
    assert (created["how"], created["client"], created["level"]) == ("request", "127.0.0.1", "INFO")
    stored = one(found, logger="media_sync_api.upload", outcome="stored")
    assert stored["project"] == project and stored["path"] == "ingest/originals/beach.jpg"
    assert (stored["size"], stored["sha256"]) == (len(photo), sha256_of(photo))
    assert stored["client"] == "127.0.0.1" and stored["source"] == "primary"
    duplicate = one(found, logger="media_sync_api.upload", outcome="duplicate")
    assert duplicate["path"] == "ingest/originals/beach.jpg" and duplicate["size"] == len(photo)
    no = one(found, logger="media_sync_api.upload", outcome="refused")
    assert (no["project"], no["path"], no["size"], no["status"]) == (project, "notes.txt", 9, 415)
    assert no["reason"].startswith("415 'notes.txt' is not a supported media file")
    assert no["client"] == "127.0.0.1"
    drop = one(found, logger="media_sync_api.watch", path="ingest/originals/drop.jpg")
    assert (drop["outcome"], drop["project"], drop["size"]) == ("catalogued", project, len(dropped))
    moved = one(found, logger="media_sync_api.watch", outcome="relocated")
    assert moved["moved_from"] == "loose.jpg"
    assert moved["path"] == "Unsorted-Loose/ingest/originals/loose.jpg"
    loose_project = one(found, logger="media_sync_api.projects", project="Unsorted-Loose")
    assert loose_project["how"] == "relocation"
    reindex = one(found, logger="media_sync_api.reindex")
    assert (reindex["source"], reindex["scope"], reindex["indexed"]) == (
        "primary",
        "all projects",
        0,
    )
    assert reindex["duration_ms"] >= 0 and reindex["client"] == "127.0.0.1"
    access = one(found, logger="media_sync_api.access", path="/api/projects?token=***")
    assert (access["method"], access["status"], access["client"]) == ("GET", 200, "127.0.0.1")
    assert access["bytes"] > 0 and access["duration_ms"] >= 0
    one(found, logger="media_sync_api.access", method="PUT", status=415)
    probes = [
        r for r in found if r["logger"] == "media_sync_api.access" and r["path"] == "/healthz"
    ]
    assert probes == []  # the health probes `serving` made: at DEBUG only
    host = one(found, logger="media_sync_api.refusal", host="evil.example")
    assert host["message"].startswith("refused Host 'evil.example'")
    assert host["client"] == "127.0.0.1"
    cross = one(found, logger="media_sync_api.refusal", status=403)
    assert (cross["method"], cross["path"]) == ("POST", "/api/projects")
    assert (cross["reason"], cross["client"]) == ("Origin 'http://evil.example'", "127.0.0.1")
    bad = one(found, logger="media_sync_api.refusal", status=401)  # the error mapping's reason
    assert bad["path"] == "/api/projects" and bad["reason"].startswith(
        "the token sent is not valid"
    )


@pytest.mark.e2e
def test_text_lines_and_no_access_log_when_it_is_off(roots: tuple[Path, Path]) -> None:
    photo = jpeg_bytes()
    env = {"MEDIA_SYNC_LOG_FORMAT": "text", "MEDIA_SYNC_ACCESS_LOG": "off"}
    with serving(*roots, env=env) as server, server.client() as http:
        project = create_project(http, "Text")
        upload_bytes(http, project, "a.jpg", photo)
        server.stop()
        lines = server.log().splitlines()
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}"
    wanted = (
        rf"{stamp} INFO media_sync_api\.upload: upload stored: {project}/ingest/originals/a\.jpg "
        rf"\({len(photo)} bytes\) from 127\.0\.0\.1"
    )
    assert sum(bool(re.fullmatch(wanted, line)) for line in lines) == 1, lines
    assert any(
        re.fullmatch(rf"{stamp} INFO uvicorn\.error: Application startup complete\.", x)
        for x in lines
    )
    assert not [line for line in lines if "media_sync_api.access" in line]


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """Whatever a test does to the root logger and uvicorn's is undone after it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    uvicorn = logging.getLogger("uvicorn.error")
    kept = (list(uvicorn.handlers), uvicorn.propagate)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    uvicorn.handlers[:], uvicorn.propagate = kept


@pytest.mark.usefixtures("restored_logging")
def test_uvicorn_and_tracebacks_go_through_the_json_format(roots: tuple[Path, Path]) -> None:
    stream = io.StringIO()
    configure_logging(settings_for(*roots, MEDIA_SYNC_LOG_FORMAT="json"), stream)
    configure_logging(settings_for(*roots, MEDIA_SYNC_LOG_FORMAT="json"), stream)  # replaced
    logging.getLogger("uvicorn.error").handlers.append(logging.NullHandler())
    configure_logging(settings_for(*roots, MEDIA_SYNC_LOG_FORMAT="json"), stream)
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 7)
    try:
        raise ValueError("broken")
    except ValueError:
        logging.getLogger("media_sync.test").exception("it failed", extra={"project": "P1-x"})
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (first["logger"], first["message"]) == ("uvicorn.error", "Started server process [7]")
    assert (second["level"], second["project"]) == ("ERROR", "P1-x")
    assert (
        second["exception"].startswith("Traceback") and "ValueError: broken" in second["exception"]
    )
    assert JsonFormatter().format(logging.makeLogRecord({"msg": "x"})).startswith('{"time": ')


def test_a_logged_target_shows_no_token_however_it_is_spelt() -> None:
    scope = {"path": "/media/P1-x/a\nb.jpg", "query_string": b"a=1&%74oken=s1&TOKEN=s2&tokens=3"}
    assert safe_target(scope) == "/media/P1-x/a\\x0ab.jpg?a=1&%74oken=***&TOKEN=***&tokens=3"
    assert safe_target({"path": "/health", "query_string": b""}) == "/health"

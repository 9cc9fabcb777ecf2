"""`media-sync catalog copy --to postgresql://...`: a real sqlite catalog (made through the API)
copied into a real PostgreSQL database, then served from there the same; a non-empty target is
refused unless --force; a bad URL is a clear error; the password never shows.

The source is sqlite by design (the command copies a sqlite catalog), so these tests do not
take the ``engine`` fixture: they run once, against the session's PostgreSQL server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from daemon.catalog import events
from daemon.settings import Settings
from ingress.app import create_app
from tests.factories import make_jpeg, make_video
from tests.support.api import create_project, listing, upload
from tests.support.env import env_for, run_cli, settings_for
from tests.support.postgres import PostgresServer
from tests.support.waiting import wait_until

SECRET = "s3cret-Pa55"


def _scene(settings: Settings, tmp_path: Path) -> dict[str, Any]:
    """A catalog with projects, files (one tagged, metadata read), a Resolve job and events;
    what the API says of it comes back."""
    with TestClient(create_app(settings)) as http:
        first = create_project(http, "Shoot")
        second = create_project(http, "Other")
        clip = upload(http, first, make_video(tmp_path / "clip.mp4", variant=1))["path"]
        upload(http, first, make_jpeg(tmp_path / "still.jpg", (64, 48), variant=2))
        upload(http, second, make_jpeg(tmp_path / "other.jpg", (32, 24), variant=3))
        tagged = http.post(
            f"/api/projects/{first}/media/tags",
            json={"relative_paths": [clip], "add_tags": ["hero"]},
        )
        assert tagged.status_code == 200, tagged.text
        opened = http.post(
            "/api/resolve/open",
            json={"project": first, "media_rel_paths": [clip], "mode": "import"},
        )
        assert opened.status_code == 200, opened.text
        for project in (first, second):  # metadata read before the copy: nothing changes after
            wait_until(lambda p=project: _metadata_read(http, p), 30, what="metadata read")
        return _seen(http, [first, second])


def _metadata_read(http: TestClient[Any], project: str) -> bool:
    return all(item["meta_status"] == "ok" for item in listing(http, project))


def _seen(http: TestClient[Any], projects: list[str]) -> dict[str, Any]:
    def essentials(item: dict[str, Any]) -> tuple[Any, ...]:
        keep = ("relative_path", "sha256", "blake3", "size", "uploaded_at", "tags", "kind")
        keep += ("width", "duration", "meta_status")
        return tuple(item[key] for key in keep)

    jobs = http.get("/api/resolve/jobs").json()
    return {
        "media": {p: sorted(essentials(i) for i in listing(http, p)) for p in projects},
        "projects": sorted(p["name"] for p in http.get("/api/projects").json()),
        "jobs": [(j["id"], j["status"], j["project"]) for j in jobs["jobs"]],
        "events": [
            (e.id, e.type, e.project, e.rel_path, e.data)
            for e in events.after(http.app.state.library.catalog, 0, 1000)
        ],
    }


@pytest.fixture
def target(postgres_server: PostgresServer) -> Any:
    name = postgres_server.create_database()
    try:
        yield postgres_server.url(name, password=SECRET)
    finally:
        postgres_server.drop_database(name)


def test_a_copied_catalog_serves_the_same_media_jobs_and_projects(
    tmp_path: Path, target: str
) -> None:
    root, state = tmp_path / "projects", tmp_path / "state"
    root.mkdir()
    before = _scene(settings_for(root, state), tmp_path)
    done = run_cli(["catalog", "copy", "--to", target], env_for(root, state), timeout=120)
    assert done.returncode == 0, done.stderr
    assert "file: 3 of 3 rows" in done.stdout and "job: 1 of 1 rows" in done.stdout
    assert "3 file" in done.stdout.splitlines()[-2]
    assert SECRET not in done.stdout + done.stderr and "***" in done.stdout
    on_postgresql = settings_for(root, state, MEDIA_SYNC_DATABASE_URL=target)
    with TestClient(create_app(on_postgresql)) as http:
        after = _seen(http, sorted(before["media"]))
        health = http.get("/health").json()
    assert after == before
    assert health["catalog"]["engine"] == "postgresql"
    assert SECRET not in str(health) and "***" in health["catalog"]["path"]


def test_a_target_holding_a_catalog_is_refused_unless_forced(tmp_path: Path, target: str) -> None:
    root, state = tmp_path / "projects", tmp_path / "state"
    root.mkdir()
    _scene(settings_for(root, state), tmp_path)
    env = env_for(root, state)
    assert run_cli(["catalog", "copy", "--to", target], env, timeout=120).returncode == 0
    again = run_cli(["catalog", "copy", "--to", target], env, timeout=120)
    assert again.returncode == 2
    assert again.stderr.strip().splitlines() == [
        f"media-sync: {target.replace(SECRET, '***')} already holds a catalog (2 project rows, "
        "3 content rows, 3 file rows, 1 job rows, "
        f"{_events(target)} event rows); copy into an empty database, or pass --force to "
        "replace its rows"
    ]
    forced = run_cli(["catalog", "copy", "--to", target, "--force"], env, timeout=120)
    assert forced.returncode == 0, forced.stderr
    assert "file: 3 of 3 rows" in forced.stdout


def _events(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as connection:
        row = connection.execute("SELECT COUNT(*) FROM event").fetchone()
        assert row is not None
        return int(row[0])


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (f"mysql://me:{SECRET}@host/db", "must be empty (the sqlite catalog"),
        (f"postgresql://me:{SECRET}@host:99999/db", "port that is not a number"),
        (f"postgresql://me:{SECRET}@host:5432/", "names no database"),
    ],
)
def test_a_bad_target_url_is_a_clear_error_without_the_password(
    tmp_path: Path, url: str, reason: str
) -> None:
    root, state = tmp_path / "projects", tmp_path / "state"
    root.mkdir()
    done = run_cli(["catalog", "copy", "--to", url], env_for(root, state), timeout=60)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("media-sync: --to ") and reason in line
    assert SECRET not in line and "***" in line


def test_no_sqlite_catalog_to_copy_is_a_clear_error(tmp_path: Path, target: str) -> None:
    root, state = tmp_path / "projects", tmp_path / "state"
    root.mkdir()
    done = run_cli(["catalog", "copy", "--to", target], env_for(root, state), timeout=60)
    assert done.returncode == 2
    assert (
        done.stderr.strip() == f"media-sync: no sqlite catalog at {state}/catalog.sqlite3 to copy"
    )

"""Delete and restore over real HTTP against a `media-sync serve` subprocess (uvicorn)."""

from __future__ import annotations

from pathlib import Path

from tests.factories import make_video
from tests.support.files import index_entries
from tests.support.server import serving


def test_delete_then_restore_over_http(roots: tuple[Path, Path], tmp_path: Path) -> None:
    root, state = roots
    clip = make_video(tmp_path / "clip.mp4", variant=3)
    with serving(root, state) as server, server.client() as http:
        created = http.post("/api/projects", json={"name": "Live"})
        assert created.status_code == 201, created.text
        project = created.json()["name"]
        folder = root / project
        upload = http.post(
            f"/api/projects/{project}/upload", files={"file": ("clip.mp4", clip.read_bytes())}
        )
        rel = upload.json()["path"]
        uploaded_at = index_entries(folder)[rel]["uploaded_at"]
        tagged = http.post(
            f"/api/projects/{project}/media/tags",
            json={"relative_paths": [rel], "add_tags": ["Keep"]},
        )
        assert tagged.status_code == 200, tagged.text

        deleted = http.post(f"/api/projects/{project}/media/delete", json={"relative_paths": [rel]})
        assert deleted.status_code == 200, deleted.text
        assert deleted.json()["removed"] == [rel]
        assert not (folder / rel).exists()
        trash = http.get(f"/api/projects/{project}/trash").json()["items"]
        assert [i["relative_path"] for i in trash] == [rel]

        restored = http.post(
            f"/api/projects/{project}/media/restore", json={"relative_paths": [rel]}
        )
        assert restored.status_code == 200, restored.text
        assert restored.json()["restored"][0]["relative_path"] == rel
        assert (folder / rel).read_bytes() == clip.read_bytes()
        entry = index_entries(folder)[rel]
        assert (entry["uploaded_at"], entry["tags"]) == (uploaded_at, ["keep"])
        assert http.get(f"/api/projects/{project}/trash").json()["items"] == []

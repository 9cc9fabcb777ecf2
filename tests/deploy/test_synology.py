"""docs/synology.md's promise: the `@eaDir` folders DSM writes beside media (its thumbnails,
`SYNOFILE_THUMB_*.jpg`) and the `#recycle` bin are never ingested, moved or counted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from tests.support.files import write

ORIG = "ingest/originals"
THUMB = b"\xff\xd8\xff\xe0 a DSM thumbnail \xff\xd9"


def test_a_reindex_leaves_synology_housekeeping_alone(
    client: TestClient[Any], roots: tuple[Path, Path]
) -> None:
    root, _ = roots
    project = root / "P1-Wedding"
    write(project / ORIG / "clip.mp4", b"real footage")
    write(project / ORIG / "still.jpg", b"real still")
    dsm = [  # what Synology's indexing and thumbnailing add to a share
        project / ORIG / "@eaDir" / "still.jpg" / "SYNOFILE_THUMB_XL.jpg",
        project / ORIG / "@eaDir" / "clip.mp4" / "SYNOVIDEO_VIDEO_SCREENSHOT.jpg",
        project / "@eaDir" / "SYNOFILE_THUMB_M.jpg",
        root / "@eaDir" / "P1-Wedding" / "SYNOFILE_THUMB_S.jpg",
        root / "#recycle" / "old.mp4",
    ]
    for path in dsm:
        write(path, THUMB)

    response = client.post("/api/projects/P1-Wedding/reindex")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["indexed"], body["relocated"]) == (2, 0)
    assert {f["relative_path"] for f in body["files"]} == {f"{ORIG}/clip.mp4", f"{ORIG}/still.jpg"}
    assert all(path.read_bytes() == THUMB for path in dsm)  # neither moved nor touched
    assert [p["name"] for p in client.get("/api/projects").json()] == ["P1-Wedding"]

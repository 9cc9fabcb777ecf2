"""file_response against real uvicorn over loopback: ranges, HEAD, 304s, If-Range, 416, downloads."""

from __future__ import annotations

import os
import socket
import time
from email.utils import formatdate
from pathlib import Path

import httpx
import pytest
from litestar.testing import TestClient

from ingress.filestream import file_response
from tests.ingress.streaming.fileserver import FileServer, make_app, pattern_bytes

pytestmark = pytest.mark.e2e

Served = tuple[str, bytes]
NON_ASCII_NAME = "Füße clip 🎬.mov"


def _assert_validators(response: httpx.Response) -> None:
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["etag"].startswith('"')
    assert response.headers["etag"].endswith('"')
    assert response.headers["last-modified"].endswith(" GMT")


def test_full_get_is_byte_exact(file_client: httpx.Client, served: Served) -> None:
    name, content = served
    response = file_client.get(f"/media/{name}")
    assert response.status_code == 200
    assert response.content == content
    assert response.headers["content-length"] == str(len(content))
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["cache-control"] == "no-cache"
    assert "content-range" not in response.headers
    assert "content-disposition" not in response.headers
    _assert_validators(response)


def test_file_not_in_the_page_cache_is_byte_exact(
    file_client: httpx.Client, served: Served, file_server: FileServer
) -> None:
    name, content = served
    fd = os.open(file_server.root / name, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    assert (
        file_client.get(f"/media/{name}", headers={"Range": "bytes=-1500000"}).content
        == (content[-1500000:])
    )
    assert file_client.get(f"/media/{name}").content == content


def test_app_level_headers_are_kept_and_ours_win(file_client: httpx.Client, served: Served) -> None:
    name, _ = served
    response = file_client.get(f"/media/{name}", headers={"Range": "bytes=0-9"})
    assert response.headers["x-served-by"] == "streaming-tests"
    assert response.headers.get_list("cache-control") == ["no-cache"]
    assert len(response.headers.get_list("content-length")) == 1


@pytest.mark.parametrize(
    ("spec", "wanted"),
    [
        ("0-0", slice(0, 1)),
        ("100-199", slice(100, 200)),
        ("1048570-2097160", slice(1048570, 2097161)),  # crosses chunk boundaries
        ("3000000-", slice(3000000, None)),
        ("-500", slice(-500, None)),
        ("-99999999", slice(0, None)),  # longer than the file: the whole file
        ("10-999999999", slice(10, None)),  # end clamped to the last byte
    ],
)
def test_single_ranges_give_206(
    file_client: httpx.Client, served: Served, spec: str, wanted: slice
) -> None:
    name, content = served
    indexes = range(len(content))[wanted]
    response = file_client.get(f"/media/{name}", headers={"Range": f"bytes={spec}"})
    assert response.status_code == 206
    assert response.content == content[wanted]
    assert response.headers["content-length"] == str(len(indexes))
    expected_range = f"bytes {indexes[0]}-{indexes[-1]}/{len(content)}"
    assert response.headers["content-range"] == expected_range
    _assert_validators(response)


@pytest.mark.parametrize("spec", ["bytes=3146962-", "bytes=99999999-", "bytes=-0"])
def test_unsatisfiable_ranges_give_416(
    file_client: httpx.Client, served: Served, spec: str
) -> None:
    name, content = served
    response = file_client.get(f"/media/{name}", headers={"Range": spec})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(content)}"
    assert response.content == b""


@pytest.mark.parametrize("spec", ["bytes=0-1,5-9", "bytes=9-1", "lines=1-2", "bytes=x-"])
def test_invalid_or_multiple_ranges_give_the_whole_file(
    file_client: httpx.Client, served: Served, spec: str
) -> None:
    name, content = served
    response = file_client.get(f"/media/{name}", headers={"Range": spec})
    assert response.status_code == 200
    assert response.content == content


@pytest.mark.parametrize("prefix", ["/media", "/split"])
@pytest.mark.parametrize("range_header", [None, "bytes=10-19", "bytes=-7"])
def test_head_has_the_get_headers_and_no_body(
    file_client: httpx.Client, served: Served, prefix: str, range_header: str | None
) -> None:
    name, _ = served
    headers = {"Range": range_header} if range_header else {}
    got = file_client.get(f"{prefix}/{name}", headers=headers)
    headed = file_client.head(f"{prefix}/{name}", headers=headers)
    assert headed.status_code == got.status_code
    assert headed.content == b""
    for field in ("content-length", "content-range", "etag", "last-modified", "content-type"):
        assert headed.headers.get(field) == got.headers.get(field)
    assert int(headed.headers["content-length"]) == len(got.content)


def test_if_none_match_gives_304_and_wins_over_if_modified_since(
    file_client: httpx.Client, served: Served
) -> None:
    name, _ = served
    first = file_client.get(f"/media/{name}")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    again = file_client.get(f"/media/{name}", headers={"If-None-Match": f'"nope", {etag}'})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["last-modified"] == modified
    stale = file_client.get(
        f"/media/{name}", headers={"If-None-Match": '"nope"', "If-Modified-Since": modified}
    )
    assert stale.status_code == 200
    head = file_client.head(f"/media/{name}", headers={"If-None-Match": etag})
    assert head.status_code == 304


def test_if_modified_since(file_client: httpx.Client, served: Served) -> None:
    name, content = served
    modified = file_client.head(f"/media/{name}").headers["last-modified"]
    assert (
        file_client.get(f"/media/{name}", headers={"If-Modified-Since": modified}).status_code
        == 304
    )
    earlier = formatdate(time.time() - 86400 * 30, usegmt=True)
    older = file_client.get(f"/media/{name}", headers={"If-Modified-Since": earlier})
    assert older.status_code == 200
    assert older.content == content
    broken = file_client.get(f"/media/{name}", headers={"If-Modified-Since": "last tuesday"})
    assert broken.status_code == 200


def test_if_range_honoured_only_when_it_matches(file_client: httpx.Client, served: Served) -> None:
    name, content = served
    first = file_client.head(f"/media/{name}")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    for validator in (etag, modified):
        ranged = file_client.get(
            f"/media/{name}", headers={"Range": "bytes=5-9", "If-Range": validator}
        )
        assert ranged.status_code == 206
        assert ranged.content == content[5:10]
    earlier = formatdate(time.time() - 86400, usegmt=True)
    for validator in ('"old-version"', f"W/{etag}", earlier):
        full = file_client.get(
            f"/media/{name}", headers={"Range": "bytes=5-9", "If-Range": validator}
        )
        assert full.status_code == 200
        assert full.content == content


def test_changed_file_gets_a_new_etag(
    file_client: httpx.Client, served: Served, file_server: FileServer
) -> None:
    name, content = served
    etag = file_client.head(f"/media/{name}").headers["etag"]
    path = file_server.root / name
    path.write_bytes(content[:-1] + b"!")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 5_000_000_000))
    response = file_client.get(f"/media/{name}", headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response.headers["etag"] != etag
    assert response.content.endswith(b"!")


def test_zero_length_file(file_client: httpx.Client, file_server: FileServer) -> None:
    (file_server.root / "empty.mp4").write_bytes(b"")
    full = file_client.get("/media/empty.mp4")
    assert full.status_code == 200
    assert full.content == b""
    assert full.headers["content-length"] == "0"
    _assert_validators(full)
    assert file_client.head("/media/empty.mp4").headers["content-length"] == "0"
    ranged = file_client.get("/media/empty.mp4", headers={"Range": "bytes=0-"})
    assert ranged.status_code == 416
    assert ranged.headers["content-range"] == "bytes */0"


def test_download_has_rfc_6266_names(file_client: httpx.Client, file_server: FileServer) -> None:
    content = pattern_bytes(4096, seed=3)
    (file_server.root / NON_ASCII_NAME).write_bytes(content)
    response = file_client.get(f"/download/{NON_ASCII_NAME}")
    assert response.status_code == 200
    assert response.content == content
    assert response.headers["content-type"] == "video/quicktime"
    assert response.headers["content-disposition"] == (
        'attachment; filename="Fu_e clip _.mov"; '
        "filename*=UTF-8''F%C3%BC%C3%9Fe%20clip%20%F0%9F%8E%AC.mov"
    )
    ranged = file_client.get(f"/download/{NON_ASCII_NAME}", headers={"Range": "bytes=-10"})
    assert ranged.status_code == 206
    assert ranged.content == content[-10:]


def test_missing_file_and_symlink_are_refused(
    file_client: httpx.Client, file_server: FileServer, tmp_path: Path
) -> None:
    outside = tmp_path / "secret.mp4"
    outside.write_bytes(b"secret")
    (file_server.root / "link.mp4").symlink_to(outside)
    assert file_client.get("/media/nothing-here.mp4").status_code == 404
    linked = file_client.get("/media/link.mp4")
    assert linked.status_code == 403
    assert b"secret" not in linked.content
    os.mkfifo(file_server.root / "pipe.mp4")
    assert file_client.get("/media/pipe.mp4").status_code == 404
    (file_server.root / "folder.mp4").mkdir()
    assert file_client.get("/media/folder.mp4").status_code == 404


def test_open_file_survives_a_rename_during_streaming(file_server: FileServer) -> None:
    size = 32 * 1024 * 1024  # more than the loopback socket buffers hold
    content, replacement = pattern_bytes(size, seed=1), pattern_bytes(size, seed=99)
    path = file_server.root / "renamed.bin"
    path.write_bytes(content)
    with (
        httpx.Client(base_url=file_server.url, timeout=10) as http,
        http.stream("GET", "/media/renamed.bin") as response,
    ):
        chunks = response.iter_raw(64 * 1024)
        received = next(chunks)
        fresh = file_server.root / "renamed.bin.new"
        fresh.write_bytes(replacement)
        fresh.replace(path)
        received += b"".join(chunks)
    assert received == content
    path.unlink()


def _bytes_read_by_this_process() -> int:
    fields = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    return int(fields["rchar"])


def _settled_bytes_read() -> int:
    before = _bytes_read_by_this_process()
    for _ in range(50):
        time.sleep(0.05)
        now = _bytes_read_by_this_process()
        if now - before < 64 * 1024:
            return now
        before = now
    return before


def test_client_going_away_mid_body_stops_reading_the_file(file_server: FileServer) -> None:
    size = 64 * 1024 * 1024
    big = file_server.root / "big.bin"
    big.write_bytes(pattern_bytes(size))
    host, port = file_server.url.removeprefix("http://").split(":")
    before = _settled_bytes_read()
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.sendall(b"GET /media/big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        time.sleep(0.2)  # the server fills the socket buffers, then waits for us
    read = _settled_bytes_read() - before
    assert read < size // 2, f"server read {read} bytes of a file nobody was receiving"
    with httpx.Client(base_url=file_server.url, timeout=10) as http:
        assert http.get("/media/big.bin", headers={"Range": "bytes=-3"}).status_code == 206
    big.unlink()


def test_methods_other_than_get_and_head_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="GET and HEAD"):
        file_response(tmp_path / "x", method="POST", headers={}, media_type="video/mp4")


def test_in_process_client_sees_the_same_answers(tmp_path: Path) -> None:
    (tmp_path / "a.mp4").write_bytes(b"0123456789")
    app = make_app(tmp_path)
    with TestClient(app) as http:
        assert http.get("/media/a.mp4", headers={"Range": "bytes=2-4"}).content == b"234"
        assert http.get("/media/a.mp4").content == b"0123456789"

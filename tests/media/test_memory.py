"""Memory stays bounded: every decode runs on the pool within the decode budget, big PNGs decode
in bands, and the server's peak RSS stays under the stated bound (issue 11)."""

from __future__ import annotations

import io
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from PIL import Image

from daemon.media.budget import DecodeBudget
from daemon.media.pngbands import decode_reduced, read_layout
from tests.factories import LEFT, RIGHT, load_image, make_huge_png, photo_like
from tests.support.api import create_project, upload
from tests.support.server import LiveServer, serving
from tests.support.waiting import wait_until

MiB = 1024 * 1024
BUDGET_MB = 256
# The stated bound: peak RSS <= RSS at rest + MEDIA_SYNC_DECODE_MEMORY_MB + OVERHEAD, where
# OVERHEAD covers what no estimate counts: allocator arenas per decoding thread, request and
# response buffers, Python objects (README "Memory").
OVERHEAD = 160 * MiB
HUGE = (13_000, 13_000)
PHOTO_200MP = (16_320, 12_240)


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} missing from /proc/{pid}/status")


def _thumbnail(server: LiveServer, project: str, sha256: str) -> httpx.Response:
    with server.client() as http:
        return http.get(f"/thumbnails/{project}/{sha256}.jpg", timeout=120)


def _media(http: httpx.Client, project: str) -> dict[str, dict[str, object]]:
    items = http.get(f"/api/projects/{project}/media").json()["media"]
    return {str(item["sha256"]): item for item in items}


def _assert_pattern_jpeg(response: httpx.Response, size: tuple[int, int]) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg"
    image = load_image(io.BytesIO(response.content))
    assert image.format == "JPEG" and image.size == size
    r, _, b = image.convert("RGB").getpixel((image.width // 4, image.height - 5))
    assert r > 180 and b < 90  # the left half is LEFT (red): decoded, not blank
    r, _, b = image.convert("RGB").getpixel((image.width * 3 // 4, image.height - 5))
    assert b > 180 and r < 90


def test_six_huge_pngs_and_a_200_mp_photo_stay_within_the_stated_bound(tmp_path: Path) -> None:
    pngs = [make_huge_png(tmp_path / "in" / f"bomb{i}.png", HUGE, variant=i + 1) for i in range(6)]
    photo = make_huge_png(tmp_path / "in" / "galaxy.png", PHOTO_200MP, variant=9)
    env = {"MEDIA_SYNC_DECODE_MEMORY_MB": str(BUDGET_MB), "MEDIA_SYNC_THUMBNAIL_WORKERS": "2"}
    root, state = tmp_path / "projects", tmp_path / "state"
    with serving(root, state, args=["--no-watch"], env=env) as server, server.client() as http:
        pid = server.process.pid
        resting = _status_kib(pid, "VmRSS") * 1024
        project = create_project(http, "Bombs")
        shas = [upload(http, project, png)["sha256"] for png in pngs]
        with ThreadPoolExecutor(len(shas)) as pool:  # all at once, as a page of tiles asks
            answers = list(pool.map(lambda sha: _thumbnail(server, project, sha), shas))
        big = _thumbnail(server, project, upload(http, project, photo)["sha256"])
        peak = _status_kib(pid, "VmHWM") * 1024
        media = _media(http, project)
        assert server.process.poll() is None
    for answer in answers:
        _assert_pattern_jpeg(answer, (640, 640))
    _assert_pattern_jpeg(big, (640, 480))
    assert media[shas[0]]["width"] == HUGE[0] and media[shas[0]]["meta_status"] == "ok"
    bound = resting + BUDGET_MB * MiB + OVERHEAD
    print(f"peak RSS {peak / MiB:.0f} MiB, bound {bound / MiB:.0f} MiB (rest {resting / MiB:.0f})")
    assert peak <= bound, f"peak RSS {peak / MiB:.0f} MiB > bound {bound / MiB:.0f} MiB"


def test_a_png_past_the_hard_cap_is_refused_with_a_reason_and_the_server_goes_on(
    tmp_path: Path,
) -> None:
    # 16-bit RGB decodes whole: 22,000 x 22,000 px would need ~2.3 GiB, past the 2 GiB cap.
    huge = make_huge_png(tmp_path / "in" / "giant.png", (22_000, 22_000), sixteen_bit=True)
    root, state = tmp_path / "projects", tmp_path / "state"
    with serving(root, state, args=["--no-watch"]) as server, server.client() as http:
        project = create_project(http, "Giant")
        sha = upload(http, project, huge)["sha256"]
        assert _thumbnail(server, project, sha).status_code == 404

        def read() -> dict[str, object] | None:
            found = _media(http, project)[sha]
            return None if found["meta_status"] == "pending" else found

        item = wait_until(read, 30, what="the metadata worker to be done with the giant")
        assert http.get("/healthz").status_code == 200
    assert item["meta_status"] == "error"
    assert "giant.png: 22000x22000 px would need about" in str(item["meta_error"])
    assert "decodes at most 2,048 MiB" in str(item["meta_error"])


def test_budget_admits_decodes_up_to_its_capacity_and_a_bigger_one_alone() -> None:
    budget = DecodeBudget(100)
    lock = threading.Lock()
    running: list[int] = []
    seen: list[tuple[int, ...]] = []

    def decode(nbytes: int) -> None:
        with budget.hold(nbytes):
            with lock:
                running.append(nbytes)
                seen.append(tuple(running))
            time.sleep(0.02)
            with lock:
                running.remove(nbytes)

    sizes = [40, 40, 250, 30, 60, 40, 10, 250, 50]
    threads = [threading.Thread(target=decode, args=(n,)) for n in sizes]
    for thread in threads:
        thread.start()
        time.sleep(0.002)
    for thread in threads:
        thread.join(10)
    assert not any(thread.is_alive() for thread in threads)
    assert len(seen) == len(sizes)
    for moment in seen:
        assert sum(moment) <= 100 or moment in {(250,)}, moment
    assert budget.held == 0 and budget.peak == 250


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P"])
def test_band_decode_matches_a_whole_decode(tmp_path: Path, mode: str) -> None:
    picture = photo_like((1500, 900), seed=7).convert(mode)
    path = tmp_path / f"p-{mode}.png"
    options = {"transparency": 5} if mode == "P" else {}
    picture.save(path, "PNG", **options)  # Pillow filters rows (Sub, Up, Paeth): bands chain
    with Image.open(path) as whole:
        whole.load()
        flat = whole.convert("RGBA") if mode == "P" else whole
        expected = flat.reduce(3)
    with path.open("rb") as fp:
        layout = read_layout(fp)
        assert layout is not None
        got = decode_reduced(fp, layout, 3)
    assert got.mode == expected.mode and got.size == expected.size == (500, 300)
    assert got.tobytes() == expected.tobytes()


def test_huge_png_factory_is_the_pattern_it_says(tmp_path: Path) -> None:
    path = make_huge_png(tmp_path / "h.png", (3001, 2000), variant=4)
    assert path.stat().st_size < 64 * 1024
    with Image.open(path) as image:
        image.load()
        assert image.size == (3001, 2000)
        assert image.getpixel((10, 1999)) == LEFT and image.getpixel((2990, 0)) == RIGHT
        assert image.getpixel((10, 0)) != LEFT  # the variant's mark, top left
    rng = random.Random(4)
    assert image.getpixel((0, 0)) == (rng.randrange(256), rng.randrange(256), rng.randrange(256))

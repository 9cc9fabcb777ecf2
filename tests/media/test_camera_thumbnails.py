"""Thumbnails of files real cameras and phones make (issue 15): which way up, which frame, which
grey, what a cut file still shows, and the memory a 200 MP photo takes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import pytest
from PIL import Image, ImageChops, ImageStat

from daemon.errors import CorruptFile
from daemon.media.decodeplan import MiB, plan_image
from daemon.media.images import image_file, open_image
from daemon.media.thumbnails import make_thumbnail
from tests.factories import (
    corrupt_copy,
    make_grey16,
    make_heic_exif_rotated,
    make_huge_heic,
    make_jpeg,
    make_sparse_keyframes,
    make_tiff,
    photo_like,
)
from tests.factories import load_image as load
from tests.media.colours import is_blue, is_red, rgb
from tests.support.server import REPO

# A 16,320 x 12,240 HEIC decodes a tile at a time: the stated bound on what it adds to a
# process's peak RSS (the reduced picture, a few tiles, FFmpeg's decoder, the thumbnail).
HUGE_HEIC_BOUND = 96 * MiB


def test_heic_rotated_only_by_exif_orientation_is_shown_upright(tmp_path: Path) -> None:
    photo = make_heic_exif_rotated(tmp_path / "iphone.heic", (400, 200), orientation=6)
    image = load(make_thumbnail(photo, tmp_path / "t.jpg").path)
    assert image.size == (200, 400)
    assert is_red(image, (100, 50)) and is_blue(image, (100, 350))  # the left half on top


def test_tiff_orientation_thumbnail_matches_its_listing(tmp_path: Path) -> None:
    scan = make_tiff(tmp_path / "scan.tif", (400, 200), orientation=6)
    image = load(make_thumbnail(scan, tmp_path / "t.jpg").path)
    assert image.size == (200, 400)
    assert is_red(image, (100, 50)) and is_blue(image, (100, 350))


@pytest.mark.parametrize("name", ["grey16.png", "grey16.tif"])
def test_16_bit_greyscale_keeps_its_greys(tmp_path: Path, name: str) -> None:
    picture = make_grey16(tmp_path / name, (320, 240))
    image = load(make_thumbnail(picture, tmp_path / "t.jpg").path)
    dark, light = rgb(image, (40, 120)), rgb(image, (280, 120))
    assert all(abs(v - 32) <= 3 for v in dark), dark  # 0x2000 / 256
    assert all(abs(v - 192) <= 3 for v in light), light  # 0xC000 / 256


def test_a_truncated_jpeg_shows_what_is_there(tmp_path: Path) -> None:
    whole = make_jpeg(tmp_path / "p.jpg", image=photo_like((800, 600), seed=3))
    cut = corrupt_copy(whole, tmp_path / "cut.jpg", keep=0.9)
    full = load(make_thumbnail(whole, tmp_path / "full.jpg").path)
    part = load(make_thumbnail(cut, tmp_path / "part.jpg").path)
    assert part.size == full.size == (640, 480)
    top = (0, 0, 640, 240)
    assert max(ImageStat.Stat(ImageChops.difference(full.crop(top), part.crop(top))).mean) < 3
    assert all(abs(v - 128) <= 4 for v in rgb(part, (320, 478)))  # the missing rows are grey


def test_a_jpeg_cut_before_its_picture_is_still_corrupt(tmp_path: Path) -> None:
    data = make_jpeg(tmp_path / "p.jpg", image=photo_like((800, 600))).read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: data.index(b"\xff\xda")])  # headers only: no start of scan
    with pytest.raises(CorruptFile):
        make_thumbnail(cut, tmp_path / "t.jpg")


def test_sparse_keyframes_thumbnail_is_taken_at_ten_percent(tmp_path: Path) -> None:
    """One keyframe in 40 s: the frame at 4 s (pattern) and not one short of it (green)."""
    clip = make_sparse_keyframes(tmp_path / "screen.mp4", seconds=40, fps=25, switch_at=3.5)
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        keys = [packet.pts for packet in container.demux(stream) if packet.is_keyframe]
    assert keys == [0]  # one keyframe, as ``ffprobe -skip_frame nokey`` shows too
    image = load(make_thumbnail(clip, tmp_path / "t.jpg").path)
    assert is_red(image, (10, 24)) and is_blue(image, (54, 24))


def test_a_200_mp_heic_is_planned_at_reduced_size(tmp_path: Path) -> None:
    photo = make_huge_heic(tmp_path / "galaxy.heic")
    with open_image(photo) as image:
        plan = plan_image(image, image_file(image), 640)
    assert plan.grid is not None and plan.factor == 8
    assert plan.size == (2040, 1530)
    assert plan.peak <= 64 * MiB  # a whole decode was planned at ~1.7 GiB


def test_a_200_mp_heic_thumbnail_within_the_stated_memory(tmp_path: Path) -> None:
    photo = make_huge_heic(tmp_path / "galaxy.heic")
    # VmHWM, not ru_maxrss: a child's ru_maxrss starts at its parent's (pytest's) peak
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from daemon.media.thumbnails import make_thumbnail\n"
        "from daemon.media.images import register_heif\n"
        "def hwm():\n"
        "    for line in Path('/proc/self/status').read_text().splitlines():\n"
        "        if line.startswith('VmHWM:'):\n"
        "            return int(line.split()[1]) * 1024\n"
        "register_heif()\n"
        "before = hwm()\n"
        "thumb = make_thumbnail(Path(sys.argv[1]), Path(sys.argv[2]))\n"
        "print(hwm() - before, thumb.width, thumb.height)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(photo), str(tmp_path / "t.jpg")],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    grown, width, height = (int(v) for v in done.stdout.split())
    assert (width, height) == (640, 480)
    assert grown <= HUGE_HEIC_BOUND, f"peak RSS grew {grown / MiB:.0f} MiB"
    image = load(tmp_path / "t.jpg")
    assert is_red(image, (100, 240)) and is_blue(image, (540, 240))
    print(f"200 MP HEIC thumbnail: peak RSS +{grown / MiB:.0f} MiB")


def test_greyscale_conversion_is_exact_for_wide_modes() -> None:
    """The scaling itself: 16-bit 0x8000 is 8-bit 128 (Pillow's own convert clips it to 255)."""
    from daemon.media.thumbnails import to_rgb

    for mode in ("I;16", "I;16B", "I"):
        assert to_rgb(Image.new(mode, (4, 4), 0x8000)).getpixel((0, 0)) == (128, 128, 128), mode
    assert to_rgb(Image.new("I", (4, 4), 200)).getpixel((0, 0)) == (200, 200, 200)

"""make_thumbnail on real files: sizes, which way up, which frame, and what is left on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.errors import CorruptFile, UnsupportedMediaType
from daemon.media.thumbnails import make_thumbnail
from daemon.storage.conventions import TEMP_PREFIX
from tests.factories import (
    corrupt_copy,
    make_audio,
    make_heic,
    make_image,
    make_jpeg,
    make_video,
    photo_like,
)
from tests.factories import (
    load_image as load,
)
from tests.media.colours import is_black, is_blue, is_red, is_white


def test_jpeg_orientation_6_is_shown_upright(tmp_path: Path) -> None:
    photo = make_jpeg(tmp_path / "p.jpg", (400, 200), orientation=6)
    thumb = make_thumbnail(photo, tmp_path / "t.jpg")
    image = load(thumb.path)
    assert image.format == "JPEG" and image.size == (200, 400) == (thumb.width, thumb.height)
    # Orientation 6 means "turn 90 degrees clockwise to view": the red left half ends on top.
    assert is_red(image, (100, 50)) and is_blue(image, (100, 350))


@pytest.mark.parametrize(
    ("orientation", "size", "red_at", "blue_at"),
    [
        (3, (400, 200), (350, 100), (50, 100)),  # upside down: red on the right
        (8, (200, 400), (100, 350), (100, 50)),  # 90 counter-clockwise: red at the bottom
    ],
)
def test_other_orientations(
    tmp_path: Path,
    orientation: int,
    size: tuple[int, int],
    red_at: tuple[int, int],
    blue_at: tuple[int, int],
) -> None:
    photo = make_jpeg(tmp_path / "p.jpg", (400, 200), orientation=orientation)
    image = load(make_thumbnail(photo, tmp_path / "t.jpg").path)
    assert image.size == size and is_red(image, red_at) and is_blue(image, blue_at)


def test_big_jpeg_gets_longest_side_exactly_640(tmp_path: Path) -> None:
    photo = make_jpeg(tmp_path / "big.jpg", (4000, 3000), orientation=6)
    thumb = make_thumbnail(photo, tmp_path / "t.jpg")
    image = load(thumb.path)
    assert image.size == (480, 640) == (thumb.width, thumb.height)
    assert is_red(image, (240, 100)) and is_blue(image, (240, 540))


def test_multi_picture_jpeg_uses_its_first_picture(tmp_path: Path) -> None:
    photo = make_jpeg(tmp_path / "p.jpg", (1600, 800), orientation=6, mpo=True)
    image = load(make_thumbnail(photo, tmp_path / "t.jpg").path)
    assert image.size == (320, 640)
    assert is_red(image, (160, 100)) and is_blue(image, (160, 540))


def test_textured_jpeg_at_odd_size(tmp_path: Path) -> None:
    photo = make_jpeg(tmp_path / "p.jpg", image=photo_like((3001, 1999), seed=3))
    assert load(make_thumbnail(photo, tmp_path / "t.jpg").path).size == (640, 426)


def test_small_pictures_are_not_enlarged(tmp_path: Path) -> None:
    photo = make_jpeg(tmp_path / "p.jpg", (320, 240))
    assert load(make_thumbnail(photo, tmp_path / "t.jpg").path).size == (320, 240)


def test_max_side_and_quality_are_honoured(tmp_path: Path) -> None:
    photo = make_jpeg(tmp_path / "p.jpg", image=photo_like((1200, 900)))
    small = make_thumbnail(photo, tmp_path / "s.jpg", max_side=200, quality=30)
    large = make_thumbnail(photo, tmp_path / "l.jpg", max_side=200, quality=95)
    assert (small.width, small.height) == (200, 150) == load(small.path).size
    assert small.path.stat().st_size < large.path.stat().st_size


def test_heic(tmp_path: Path) -> None:
    photo = make_heic(tmp_path / "p.heic", (1280, 960))
    image = load(make_thumbnail(photo, tmp_path / "t.jpg").path)
    assert image.size == (640, 480)
    assert is_red(image, (100, 240)) and is_blue(image, (540, 240))


def test_heic_with_rotation_is_upright_and_not_turned_twice(tmp_path: Path) -> None:
    photo = make_heic(tmp_path / "p.heic", (400, 200), orientation=6)
    image = load(make_thumbnail(photo, tmp_path / "t.jpg").path)
    assert image.size == (200, 400)
    assert is_red(image, (100, 50)) and is_blue(image, (100, 350))


def test_png_transparency_becomes_white(tmp_path: Path) -> None:
    picture = make_image(tmp_path / "p.png", (1280, 640), alpha=True)
    image = load(make_thumbnail(picture, tmp_path / "t.jpg").path)
    assert image.size == (640, 320) and image.mode == "RGB"
    assert is_red(image, (100, 160)) and is_white(image, (540, 160))


@pytest.mark.parametrize("name", ["a.gif", "a.webp", "a.tiff"])
def test_first_frame_of_animations_and_other_stills(tmp_path: Path, name: str) -> None:
    picture = make_image(tmp_path / name, (800, 400), frames=3)
    image = load(make_thumbnail(picture, tmp_path / "t.jpg").path)
    assert image.size == (640, 320)
    assert is_red(image, (100, 160)) and is_blue(image, (540, 160))


def test_h264_frame_at_ten_percent_is_not_the_black_first_frame(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "c.mp4", seconds=4, fps=10, audio=True)
    image = load(make_thumbnail(clip, tmp_path / "t.jpg").path)
    assert image.size == (320, 240)
    assert is_red(image, (60, 120)) and is_blue(image, (260, 120))


def test_short_black_leader_in_a_one_keyframe_clip(tmp_path: Path) -> None:
    """x264 puts one keyframe at 0 (black): the thumbnail must decode forward from it."""
    clip = make_video(tmp_path / "c.mp4", seconds=1, fps=30)
    image = load(make_thumbnail(clip, tmp_path / "t.jpg").path)
    assert not is_black(image, (60, 120)) and is_red(image, (60, 120))


def test_hd_video_is_scaled_to_640(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "c.mkv", size=(1280, 720), seconds=1)
    image = load(make_thumbnail(clip, tmp_path / "t.jpg").path)
    assert image.size == (640, 360)
    assert is_red(image, (100, 180)) and is_blue(image, (540, 180))


@pytest.mark.parametrize(
    ("rotation", "size", "red_at", "blue_at"),
    [
        (90, (240, 320), (120, 60), (120, 260)),  # iPhone portrait: the left edge goes on top
        (270, (240, 320), (120, 260), (120, 60)),
        (180, (320, 240), (260, 120), (60, 120)),
    ],
)
def test_hevc_mov_rotation_is_applied(
    tmp_path: Path,
    rotation: int,
    size: tuple[int, int],
    red_at: tuple[int, int],
    blue_at: tuple[int, int],
) -> None:
    clip = make_video(tmp_path / "c.mov", codec="hevc", size=(320, 240), rotation=rotation)
    image = load(make_thumbnail(clip, tmp_path / "t.jpg").path)
    assert image.size == size
    assert is_red(image, red_at) and is_blue(image, blue_at)


def test_audio_has_no_thumbnail(tmp_path: Path) -> None:
    sound = make_audio(tmp_path / "s.m4a")
    with pytest.raises(UnsupportedMediaType):
        make_thumbnail(sound, tmp_path / "thumbs" / "t.jpg")
    assert not (tmp_path / "thumbs" / "t.jpg").exists()


@pytest.mark.parametrize("name", ["bad.jpg", "bad.png", "bad.heic", "bad.mov", "bad.mp4"])
def test_garbage_is_corrupt_and_leaves_nothing(tmp_path: Path, name: str) -> None:
    bad = tmp_path / name
    bad.write_bytes(b"\x00\x01 this is not media " * 50)
    thumbs = tmp_path / "thumbs"
    thumbs.mkdir()
    with pytest.raises(CorruptFile, match=name):
        make_thumbnail(bad, thumbs / "t.jpg")
    assert list(thumbs.iterdir()) == []


def test_truncated_jpeg_shows_what_is_there(tmp_path: Path) -> None:
    """Issue 15: a JPEG cut short is decoded as far as it goes, the rest grey."""
    photo = make_jpeg(tmp_path / "p.jpg", image=photo_like((800, 600)))
    make_thumbnail(corrupt_copy(photo, tmp_path / "cut.jpg", keep=0.5), tmp_path / "t.jpg")
    pixel = load(tmp_path / "t.jpg").convert("RGB").getpixel((320, 478))
    assert isinstance(pixel, tuple) and all(abs(v - 128) <= 4 for v in pixel)  # missing: grey


def test_written_atomically_over_an_old_one(tmp_path: Path) -> None:
    dest = tmp_path / "thumbs" / "deep" / "t.jpg"
    make_thumbnail(make_jpeg(tmp_path / "a.jpg", (100, 50)), dest)
    make_thumbnail(make_jpeg(tmp_path / "b.jpg", (60, 90)), dest, file_mode=0o640)
    assert load(dest).size == (60, 90)
    assert dest.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in dest.parent.iterdir()] == ["t.jpg"]
    assert not any(p.name.startswith(TEMP_PREFIX) for p in tmp_path.rglob("*"))

"""Metadata and thumbnails from real files made by the test factories."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from daemon.errors import CorruptFile, InvalidInput, PayloadTooLarge, UnsupportedMediaType
from daemon.media.metadata import extract_metadata
from daemon.media.thumbnails import make_thumbnail, validate_client_thumbnail
from tests.factories import make_audio, make_heic, make_jpeg, make_png, make_video


def _load(source: object) -> Image.Image:
    """Open, decode and close (keeps format); no file handle left behind."""
    with Image.open(source) as image:  # type: ignore[arg-type]
        image.load()
        copy = image.copy()
        copy.format = image.format
        return copy


def _is_red(pixel: tuple[int, ...]) -> bool:
    r, g, b = pixel[:3]
    return r > 150 and g < 100 and b < 100


def _is_blue(pixel: tuple[int, ...]) -> bool:
    r, _, b = pixel[:3]
    return b > 150 and r < 100


def test_jpeg_with_exif_orientation_and_capture_time(tmp_path: Path) -> None:
    photo = make_jpeg(
        tmp_path / "p.jpg",
        (400, 200),
        orientation=6,
        exif_datetime="2024:05:01 10:30:00",
        offset="+02:00",
    )
    info = extract_metadata(photo)
    assert (info.kind, info.width, info.height, info.rotation) == ("image", 400, 200, 90)
    assert info.captured_at == "2024-05-01T10:30:00+02:00" and info.captured_from == "exif"
    thumb = make_thumbnail(photo, tmp_path / "t.jpg")
    image = _load(thumb.path)
    assert image.format == "JPEG" and image.size == (200, 400) == (thumb.width, thumb.height)
    # Orientation 6 means "rotate 90 degrees clockwise to view": the red left half is on top.
    assert _is_red(image.getpixel((100, 50))) and _is_blue(image.getpixel((100, 350)))


def test_large_jpeg_longest_side_is_640(tmp_path: Path) -> None:
    photo = make_jpeg(tmp_path / "big.jpg", (3000, 2000))
    image = _load(make_thumbnail(photo, tmp_path / "t.jpg").path)
    assert image.size == (640, 427)
    assert _is_red(image.getpixel((100, 200))) and _is_blue(image.getpixel((540, 200)))


def test_heic_metadata_and_thumbnail(tmp_path: Path) -> None:
    photo = make_heic(tmp_path / "p.heic", (1280, 960), exif_datetime="2023:12:24 18:00:00")
    info = extract_metadata(photo)
    assert (info.kind, info.width, info.height) == ("image", 1280, 960)
    assert info.captured_at == "2023-12-24T18:00:00" and info.captured_from == "exif"
    image = _load(make_thumbnail(photo, tmp_path / "t.jpg").path)
    assert image.size == (640, 480)
    assert _is_red(image.getpixel((100, 240))) and _is_blue(image.getpixel((540, 240)))


def test_png_without_exif_falls_back_to_mtime(tmp_path: Path) -> None:
    picture = make_png(tmp_path / "p.png")
    os.utime(picture, (1_700_000_000, 1_700_000_000))
    info = extract_metadata(picture)
    assert info.captured_from == "mtime" and info.captured_at == "2023-11-14T22:13:20Z"


def test_h264_mp4_metadata(tmp_path: Path) -> None:
    clip = make_video(
        tmp_path / "c.mp4", codec="h264", size=(320, 240), seconds=2, fps=10, audio=True
    )
    info = extract_metadata(clip)
    assert info.kind == "video" and info.video_codec == "h264" and info.audio_codec == "aac"
    assert (info.width, info.height, info.rotation) == (320, 240, 0)
    assert info.frame_rate == pytest.approx(10.0)
    assert info.duration == pytest.approx(2.0, abs=0.1)


def test_hevc_mov_with_rotation_and_creation_time(tmp_path: Path) -> None:
    clip = make_video(
        tmp_path / "c.mov",
        codec="hevc",
        size=(320, 240),
        seconds=1,
        rotation=90,
        creation_time="2024-05-01T10:30:00Z",
    )
    info = extract_metadata(clip)
    assert info.video_codec == "hevc" and info.rotation == 90
    assert info.captured_at == "2024-05-01T10:30:00Z" and info.captured_from == "quicktime"
    image = _load(make_thumbnail(clip, tmp_path / "t.jpg").path)
    assert image.size == (240, 320)  # portrait, as an iPhone shows it
    assert _is_red(image.getpixel((120, 60))) and _is_blue(image.getpixel((120, 260)))


def test_video_thumbnail_is_not_the_black_first_frame(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "c.mp4", seconds=4, fps=10)
    image = _load(make_thumbnail(clip, tmp_path / "t.jpg").path)
    assert _is_red(image.getpixel((60, 120))) and _is_blue(image.getpixel((260, 120)))


def test_audio_metadata_and_no_thumbnail(tmp_path: Path) -> None:
    sound = make_audio(tmp_path / "s.m4a", seconds=1.5)
    info = extract_metadata(sound)
    assert info.kind == "audio" and info.audio_codec == "aac" and info.video_codec is None
    assert info.duration == pytest.approx(1.5, abs=0.1)
    with pytest.raises(UnsupportedMediaType):
        make_thumbnail(sound, tmp_path / "t.jpg")


@pytest.mark.parametrize("name", ["broken.jpg", "broken.mov", "broken.heic"])
def test_corrupt_files_raise_corrupt_file_and_leave_nothing(tmp_path: Path, name: str) -> None:
    bad = tmp_path / name
    bad.write_bytes(b"\x00\x01 this is not media " * 50)
    with pytest.raises(CorruptFile):
        extract_metadata(bad)
    with pytest.raises(CorruptFile):
        make_thumbnail(bad, tmp_path / "thumbs" / "t.jpg")
    assert not (tmp_path / "thumbs" / "t.jpg").exists()
    assert not list((tmp_path / "thumbs").glob("*")) if (tmp_path / "thumbs").exists() else True


def test_client_thumbnail_validation(tmp_path: Path) -> None:
    png = make_png(tmp_path / "c.png", (1200, 600)).read_bytes()
    jpeg = validate_client_thumbnail(png, 5_000_000)
    out = tmp_path / "o.jpg"
    out.write_bytes(jpeg)
    assert _load(out).format == "JPEG" and _load(out).size == (640, 320)
    with pytest.raises(PayloadTooLarge):
        validate_client_thumbnail(png, 100)
    with pytest.raises(InvalidInput):
        validate_client_thumbnail(b"GIF89a not really", 5_000_000)
    with pytest.raises(InvalidInput):
        validate_client_thumbnail(png[: len(png) // 2], 5_000_000)


def test_factories_are_deterministic_per_variant(tmp_path: Path) -> None:
    one = make_jpeg(tmp_path / "a.jpg").read_bytes()
    two = make_jpeg(tmp_path / "b.jpg").read_bytes()
    other = make_jpeg(tmp_path / "c.jpg", variant=1).read_bytes()
    assert one == two != other
    clip_a = make_video(tmp_path / "a.mp4").read_bytes()
    clip_b = make_video(tmp_path / "b.mp4").read_bytes()
    assert clip_a == clip_b

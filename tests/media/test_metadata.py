"""extract_metadata on real files made by the test factories."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from daemon.errors import CorruptFile, UnsupportedMediaType
from daemon.media.metadata import MediaInfo, extract_metadata
from tests.factories import (
    corrupt_copy,
    make_audio,
    make_heic,
    make_image,
    make_jpeg,
    make_video,
)


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
    assert info.display_size == (200, 400)
    assert info.captured_at == "2024-05-01T08:30:00Z" and info.captured_from == "exif"
    assert (info.duration, info.video_codec, info.audio_codec, info.frame_rate) == (None,) * 4


def test_exif_time_without_offset_is_this_hosts_local_time(tmp_path: Path) -> None:
    photo = make_jpeg(tmp_path / "p.jpg", exif_datetime="2023:12:24 18:00:00")
    expected = datetime(2023, 12, 24, 18, 0, 0).astimezone(UTC)
    info = extract_metadata(photo)
    assert info.captured_at == expected.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert info.captured_from == "exif"


@pytest.mark.parametrize(("orientation", "rotation"), [(None, 0), (1, 0), (3, 180), (8, 270)])
def test_exif_orientation_becomes_clockwise_degrees(
    tmp_path: Path, orientation: int | None, rotation: int
) -> None:
    info = extract_metadata(make_jpeg(tmp_path / "p.jpg", (64, 32), orientation=orientation))
    assert (info.width, info.height, info.rotation) == (64, 32, rotation)


def test_heic_metadata(tmp_path: Path) -> None:
    photo = make_heic(
        tmp_path / "p.heic", (1280, 960), exif_datetime="2023:12:24 18:00:00", offset="-05:00"
    )
    info = extract_metadata(photo)
    assert (info.kind, info.width, info.height, info.rotation) == ("image", 1280, 960, 0)
    assert info.captured_at == "2023-12-24T23:00:00Z" and info.captured_from == "exif"


def test_heic_rotation_reported_like_a_jpeg(tmp_path: Path) -> None:
    """libheif rotates while decoding; metadata still says what the file stores."""
    photo = make_heic(tmp_path / "p.heic", (400, 200), orientation=6)
    info = extract_metadata(photo)
    assert (info.width, info.height, info.rotation) == (400, 200, 90)
    assert info.display_size == (200, 400)


@pytest.mark.parametrize("name", ["p.png", "p.gif", "p.webp", "p.tiff"])
def test_picture_without_exif_falls_back_to_mtime(tmp_path: Path, name: str) -> None:
    picture = make_image(tmp_path / name, (120, 80))
    os.utime(picture, (1_700_000_000, 1_700_000_000))
    info = extract_metadata(picture)
    assert (info.kind, info.width, info.height, info.rotation) == ("image", 120, 80, 0)
    assert info.captured_from == "mtime" and info.captured_at == "2023-11-14T22:13:20Z"


def test_h264_mp4_metadata(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "c.mp4", size=(320, 240), seconds=2, fps=10, audio=True)
    os.utime(clip, (1_700_000_000, 1_700_000_000))
    info = extract_metadata(clip)
    assert (info.kind, info.video_codec, info.audio_codec) == ("video", "h264", "aac")
    assert (info.width, info.height, info.rotation) == (320, 240, 0)
    assert info.frame_rate == pytest.approx(10.0)
    assert info.duration == pytest.approx(2.0, abs=0.1)
    assert info.captured_from == "mtime" and info.captured_at == "2023-11-14T22:13:20Z"


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_hevc_mov_with_rotation_and_creation_time(tmp_path: Path, rotation: int) -> None:
    clip = make_video(
        tmp_path / "c.mov",
        codec="hevc",
        size=(320, 240),
        fps=25,
        rotation=rotation,
        creation_time="2024-05-01T10:30:00Z",
    )
    info = extract_metadata(clip)
    assert (info.video_codec, info.width, info.height) == ("hevc", 320, 240)
    assert info.rotation == rotation and info.frame_rate == pytest.approx(25.0)
    assert info.captured_at == "2024-05-01T10:30:00Z" and info.captured_from == "quicktime"
    assert info.audio_codec is None


def test_iphone_creationdate_wins_over_creation_time(tmp_path: Path) -> None:
    """An edited clip's creation_time is the export; Apple's key keeps the moment of capture."""
    clip = make_video(
        tmp_path / "c.mov",
        creation_time="2024-06-01T00:00:00Z",
        apple_creation_date="2024-05-01T12:30:00+0200",
    )
    info = extract_metadata(clip)
    assert info.captured_at == "2024-05-01T10:30:00Z" and info.captured_from == "quicktime"


def test_audio_metadata(tmp_path: Path) -> None:
    sound = make_audio(tmp_path / "s.m4a", seconds=1.5)
    info = extract_metadata(sound)
    assert (info.kind, info.audio_codec, info.video_codec) == ("audio", "aac", None)
    assert (info.width, info.height, info.frame_rate, info.rotation) == (None, None, None, 0)
    assert info.duration == pytest.approx(1.5, abs=0.1)


def test_mp4_with_only_sound_is_audio(tmp_path: Path) -> None:
    info = extract_metadata(make_audio(tmp_path / "voice.mp4"))
    assert (info.kind, info.audio_codec, info.video_codec, info.width) == (
        "audio",
        "aac",
        None,
        None,
    )


def test_multi_picture_jpeg(tmp_path: Path) -> None:
    photo = make_jpeg(
        tmp_path / "p.jpg",
        (800, 400),
        orientation=8,
        mpo=True,
        exif_datetime="2024:02:29 12:00:00",
        offset="+00:00",
    )
    info = extract_metadata(photo)
    assert (info.width, info.height, info.rotation) == (800, 400, 270)
    assert info.captured_at == "2024-02-29T12:00:00Z"


def test_to_dict_has_every_field_as_plain_values(tmp_path: Path) -> None:
    info = extract_metadata(make_video(tmp_path / "c.mp4", rotation=90))
    fields = info.to_dict()
    assert list(fields) == list(MediaInfo.__dataclass_fields__)
    assert fields["rotation"] == 90 and fields["kind"] == "video"
    assert all(isinstance(value, str | int | float | type(None)) for value in fields.values())


@pytest.mark.parametrize(
    "name", ["bad.jpg", "bad.png", "bad.heic", "bad.mov", "bad.mp4", "bad.m4a"]
)
def test_garbage_is_a_corrupt_file(tmp_path: Path, name: str) -> None:
    bad = tmp_path / name
    bad.write_bytes(b"\x00\x01 this is not media " * 50)
    with pytest.raises(CorruptFile, match=name):
        extract_metadata(bad)


def test_truncated_clip_and_empty_file_are_corrupt(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "c.mp4", seconds=2)
    with pytest.raises(CorruptFile):
        extract_metadata(corrupt_copy(clip, tmp_path / "half.mp4"))
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(CorruptFile):
        extract_metadata(tmp_path / "empty.jpg")


def test_not_media_and_not_a_file(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(UnsupportedMediaType):
        extract_metadata(tmp_path / "notes.txt")
    (tmp_path / "folder.mov").mkdir()
    with pytest.raises(CorruptFile):
        extract_metadata(tmp_path / "folder.mov")
    with pytest.raises(CorruptFile):
        extract_metadata(tmp_path / "missing.jpg")


def test_metadata_reads_headers_only(tmp_path: Path) -> None:
    """A JPEG whose pixel data is cut off still has readable metadata (no pixel decode)."""
    photo = make_jpeg(tmp_path / "p.jpg", (800, 600), exif_datetime="2024:01:02 03:04:05")
    info = extract_metadata(corrupt_copy(photo, tmp_path / "cut.jpg", keep=0.3))
    assert (info.width, info.height, info.captured_from) == (800, 600, "exif")

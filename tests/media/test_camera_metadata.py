"""Metadata of files real cameras and phones make (issue 15): sizes as stored, codec names,
capture times labelled for what they are, and error texts that name only the file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from daemon.errors import CorruptFile
from daemon.media.metadata import extract_metadata
from tests.factories import (
    make_dated_jpeg,
    make_heic_exif_rotated,
    make_huge_heic,
    make_jpeg,
    make_mp3,
    make_msmpeg4_avi,
    make_png_with_icc,
    make_tiff,
    make_xmp_heic,
    xmp_packet,
)

MTIME = 1_700_000_000  # 2023-11-14T22:13:20Z


def test_a_200_mp_heic_header_is_read(tmp_path: Path) -> None:
    """16,320 x 12,240 px is past Pillow's decompression-bomb guard (2 x 89 MP)."""
    info = extract_metadata(make_huge_heic(tmp_path / "galaxy.heic"))
    assert (info.kind, info.width, info.height, info.rotation) == ("image", 16_320, 12_240, 0)


def test_heic_rotated_only_by_exif_orientation_is_listed_as_stored(tmp_path: Path) -> None:
    photo = make_heic_exif_rotated(tmp_path / "iphone.heic", (400, 200), orientation=6)
    info = extract_metadata(photo)
    assert (info.width, info.height, info.rotation) == (400, 200, 90)
    assert info.display_size == (200, 400)


@pytest.mark.parametrize("compression", ["raw", "tiff_lzw"])
def test_tiff_orientation_keeps_the_stored_size(tmp_path: Path, compression: str) -> None:
    scan = make_tiff(tmp_path / "scan.tif", (400, 200), orientation=6, compression=compression)
    info = extract_metadata(scan)
    assert (info.width, info.height, info.rotation) == (400, 200, 90)
    assert info.display_size == (200, 400)  # what the (upright) thumbnail shows


def test_png_with_a_large_compressed_icc_profile(tmp_path: Path) -> None:
    picture = make_png_with_icc(tmp_path / "profiled.png", (320, 240), icc_bytes=3_000_000)
    info = extract_metadata(picture)
    assert (info.kind, info.width, info.height) == ("image", 320, 240)


def test_audio_codec_is_the_codec_not_ffmpegs_decoder(tmp_path: Path) -> None:
    song = make_mp3(tmp_path / "song.mp3")
    info = extract_metadata(song)
    assert info.audio_codec == "mp3"  # what ffprobe's codec_name says (FFmpeg 5.1 and 7.1)


def test_video_codec_is_the_codec_not_ffmpegs_decoder(tmp_path: Path) -> None:
    clip = make_msmpeg4_avi(tmp_path / "old camera.avi")
    info = extract_metadata(clip)
    assert info.video_codec == "msmpeg4v3"  # what ffprobe's codec_name says


def test_a_date_only_in_xmp_is_the_capture_time(tmp_path: Path) -> None:
    """An Apple Vision Pro HEIC carries its dates in XMP only."""
    packet = xmp_packet(
        xmp_CreateDate="2024-02-10T14:21:33-08:00",
        photoshop_DateCreated="2024-02-10T14:21:33.120-08:00",
    )
    photo = make_xmp_heic(tmp_path / "spatial.heic", xmp=packet)
    os.utime(photo, (MTIME, MTIME))
    info = extract_metadata(photo)
    assert (info.captured_at, info.captured_from) == ("2024-02-10T22:21:33Z", "xmp")


def test_xmp_date_in_element_form(tmp_path: Path) -> None:
    packet = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description>'
        b"<xmp:CreateDate>2021-07-04T09:00:00Z</xmp:CreateDate>"
        b"</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    info = extract_metadata(make_dated_jpeg(tmp_path / "x.jpg", xmp=packet))
    assert (info.captured_at, info.captured_from) == ("2021-07-04T09:00:00Z", "xmp")


def test_only_a_last_edit_date_is_labelled_as_one(tmp_path: Path) -> None:
    photo = make_dated_jpeg(tmp_path / "edited.jpg", modified="2020:01:02 03:04:05")
    info = extract_metadata(photo)
    assert info.captured_from == "exif_modified"
    assert info.captured_at is not None and info.captured_at.startswith("2020-01-0")


def test_digitized_date_is_labelled_as_one(tmp_path: Path) -> None:
    photo = make_dated_jpeg(tmp_path / "scan.jpg", digitized="2019:06:07 08:09:10")
    info = extract_metadata(photo)
    assert info.captured_from == "exif_digitized"


def test_exif_capture_date_beats_xmp_and_last_edit(tmp_path: Path) -> None:
    photo = make_jpeg(tmp_path / "p.jpg", exif_datetime="2024:05:01 10:30:00", offset="+02:00")
    info = extract_metadata(photo)
    assert (info.captured_at, info.captured_from) == ("2024-05-01T08:30:00Z", "exif")


@pytest.mark.parametrize("name", ["bad.jpg", "bad.raf", "bad.mp4", "bad.heic"])
def test_an_unreadable_file_is_named_without_a_server_path(tmp_path: Path, name: str) -> None:
    bad = tmp_path / "deep" / "server" / "folder" / name
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"\x00\x01 this is not media " * 50)
    with pytest.raises(CorruptFile) as caught:
        extract_metadata(bad)
    detail = caught.value.detail
    assert detail.startswith(f"{name}: ")
    assert str(tmp_path) not in detail and "/deep/" not in detail

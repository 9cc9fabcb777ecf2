"""Camera raw stills (issue 15): the sensor's size, not the preview's, and a thumbnail from the
preview the file embeds, read by LibRaw or, where LibRaw refuses the file, by our own reading.

Generated files cover: DNG (LibRaw), TIFF-based raws named .nef/.arw/.cr2/.rw2 (LibRaw reads
their IFDs), an Olympus-style ``IIRO`` .orf (LibRaw refuses it: our IFD walk) and a RAF (its
header, embedded JPEG and CFA header). CR3 (ISO-BMFF) has no generated file: LibRaw's only.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from daemon.media.metadata import extract_metadata
from daemon.media.thumbnails import make_thumbnail
from tests.factories import load_image, make_raf, make_raw_tiff
from tests.media.colours import is_blue, is_red

SENSOR = (1536, 1024)
PREVIEW = (768, 512)


def test_dng_is_listed_with_the_sensors_size_not_its_previews(tmp_path: Path) -> None:
    dng = make_raw_tiff(
        tmp_path / "IMG_0001.dng",
        sensor=SENSOR,
        preview=PREVIEW,
        exif_datetime="2024:05:01 10:30:00",
        offset="+02:00",
    )
    # exiftool reads this file as IFD0 a 160 px thumbnail, SubIFD the 1536 x 1024 CFA
    info = extract_metadata(dng)
    assert (info.kind, info.width, info.height, info.rotation) == ("image", *SENSOR, 0)
    assert (info.captured_at, info.captured_from) == ("2024-05-01T08:30:00Z", "exif")


def test_dng_thumbnail_comes_from_its_preview_turned_as_the_raw_says(tmp_path: Path) -> None:
    dng = make_raw_tiff(tmp_path / "portrait.dng", sensor=SENSOR, preview=PREVIEW, orientation=6)
    info = extract_metadata(dng)
    assert (info.width, info.height, info.rotation) == (*SENSOR, 90)
    image = load_image(make_thumbnail(dng, tmp_path / "t.jpg").path)
    assert image.size == (427, 640)
    assert is_red(image, (213, 100)) and is_blue(image, (213, 540))


@pytest.mark.parametrize(
    ("name", "make", "magic"),
    [
        ("DSC_0001.nef", "NIKON CORPORATION", b"II*\x00"),
        ("DSC01234.arw", "SONY", b"II*\x00"),
        ("IMG_1234.cr2", "Canon", b"II*\x00"),
        ("P1000001.rw2", "Panasonic", b"IIU\x00"),
        ("P5010001.orf", "OLYMPUS IMAGING CORP.", b"IIRO"),  # LibRaw refuses this one
    ],
)
def test_tiff_based_raws(tmp_path: Path, name: str, make: str, magic: bytes) -> None:
    raw = make_raw_tiff(
        tmp_path / name,
        sensor=SENSOR,
        preview=PREVIEW,
        make=make,
        magic=magic,
        exif_datetime="2023:12:24 18:00:00",
        offset="-05:00",
    )
    info = extract_metadata(raw)
    assert (info.width, info.height) == SENSOR
    assert (info.captured_at, info.captured_from) == ("2023-12-24T23:00:00Z", "exif")
    image = load_image(make_thumbnail(raw, tmp_path / "t.jpg").path)
    assert image.size == (640, 427)
    assert is_red(image, (100, 213)) and is_blue(image, (540, 213))


def test_raf_size_time_and_preview(tmp_path: Path) -> None:
    raf = make_raf(
        tmp_path / "DSCF0001.RAF",
        sensor=(6240, 4160),
        preview=(960, 640),
        exif_datetime="2022:08:09 10:11:12",
        orientation=8,
    )
    # exiftool reads RawImageFullSize 6240x4160 from this file's CFA header
    info = extract_metadata(raf)
    assert (info.width, info.height, info.rotation) == (6240, 4160, 270)
    assert info.captured_from == "exif"
    image = load_image(make_thumbnail(raf, tmp_path / "t.jpg").path)
    assert image.size == (427, 640)  # orientation 8: the left (red) half ends at the bottom
    assert is_blue(image, (213, 100)) and is_red(image, (213, 540))


def test_raw_with_only_a_small_thumbnail_shows_that(tmp_path: Path) -> None:
    dng = make_raw_tiff(tmp_path / "bare.dng", sensor=(1600, 1200), preview=None)
    image = load_image(make_thumbnail(dng, tmp_path / "t.jpg").path)
    assert image.size == (160, 120)  # LibRaw offers the 160 px IFD0 picture
    assert is_red(image, (40, 60)) and is_blue(image, (120, 60))
    info = extract_metadata(dng)
    assert (info.width, info.height) == (1600, 1200)


def test_raw_without_any_preview_is_decoded_at_half_size(tmp_path: Path) -> None:
    dng = make_raw_tiff(tmp_path / "bare.dng", sensor=(1600, 1200), preview=None, thumbnail=False)
    image = load_image(make_thumbnail(dng, tmp_path / "t.jpg").path)
    assert image.size == (640, 480)  # LibRaw's 800 x 600 half-size decode, shrunk


def test_raw_capture_falls_back_to_mtime(tmp_path: Path) -> None:
    nef = make_raw_tiff(tmp_path / "x.nef", sensor=SENSOR, preview=PREVIEW)
    os.utime(nef, (1_700_000_000, 1_700_000_000))
    info = extract_metadata(nef)
    assert (info.captured_at, info.captured_from) == ("2023-11-14T22:13:20Z", "mtime")

"""validate_client_thumbnail: only real, reasonably sized JPEG/PNG/WebP come back, as JPEG."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from daemon.errors import InvalidInput, PayloadTooLarge
from daemon.media.thumbnails import validate_client_thumbnail
from tests.factories import load_image, make_image, make_jpeg, make_png
from tests.media.colours import is_blue, is_red, is_white

LIMIT = 5_000_000


def test_png_comes_back_as_a_640_jpeg(tmp_path: Path) -> None:
    png = make_png(tmp_path / "c.png", (1200, 600)).read_bytes()
    image = load_image(io.BytesIO(validate_client_thumbnail(png, LIMIT)))
    assert image.format == "JPEG" and image.size == (640, 320)
    assert is_red(image, (100, 160)) and is_blue(image, (540, 160))


def test_small_webp_keeps_its_size_and_loses_transparency(tmp_path: Path) -> None:
    webp = make_image(tmp_path / "c.webp", (200, 100), alpha=True).read_bytes()
    image = load_image(io.BytesIO(validate_client_thumbnail(webp, LIMIT)))
    assert image.format == "JPEG" and image.size == (200, 100)
    assert is_red(image, (40, 50)) and is_white(image, (160, 50))


def test_jpeg_orientation_is_applied(tmp_path: Path) -> None:
    jpeg = make_jpeg(tmp_path / "c.jpg", (400, 200), orientation=6).read_bytes()
    image = load_image(io.BytesIO(validate_client_thumbnail(jpeg, LIMIT)))
    assert image.size == (200, 400) and is_red(image, (100, 50))


def test_multi_picture_jpeg_is_a_jpeg(tmp_path: Path) -> None:
    mpo = make_jpeg(tmp_path / "c.jpg", (800, 400), mpo=True).read_bytes()
    image = load_image(io.BytesIO(validate_client_thumbnail(mpo, LIMIT)))
    assert image.format == "JPEG" and image.size == (640, 320)


def test_too_many_bytes(tmp_path: Path) -> None:
    png = make_png(tmp_path / "c.png").read_bytes()
    with pytest.raises(PayloadTooLarge):
        validate_client_thumbnail(png, len(png) - 1)
    assert validate_client_thumbnail(png, len(png))


def test_too_many_pixels_even_when_small_in_bytes() -> None:
    out = io.BytesIO()
    Image.new("L", (6000, 5000)).save(out, "PNG")
    assert len(out.getvalue()) < LIMIT
    with pytest.raises(InvalidInput, match="pixels"):
        validate_client_thumbnail(out.getvalue(), LIMIT)


@pytest.mark.parametrize("name", ["c.gif", "c.tiff"])
def test_other_formats_are_refused(tmp_path: Path, name: str) -> None:
    data = make_image(tmp_path / name, (64, 64)).read_bytes()
    with pytest.raises(InvalidInput, match="JPEG, PNG or WebP"):
        validate_client_thumbnail(data, LIMIT)


def test_not_an_image_or_cut_short(tmp_path: Path) -> None:
    png = make_png(tmp_path / "c.png", (640, 480)).read_bytes()
    for bad in (b"", b"not an image at all", png[: len(png) // 2], png[:100] + bytes(200)):
        with pytest.raises(InvalidInput):
            validate_client_thumbnail(bad, LIMIT)

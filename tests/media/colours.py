"""Reading thumbnail pixels in tests: which of the factories' colours is where."""

from __future__ import annotations

from PIL import Image


def rgb(image: Image.Image, xy: tuple[int, int]) -> tuple[int, int, int]:
    """The pixel at ``xy`` as an (r, g, b) tuple, whatever the image mode."""
    pixel = image.convert("RGB").getpixel(xy)
    assert isinstance(pixel, tuple)
    r, g, b = pixel[:3]
    return int(r), int(g), int(b)


def is_red(image: Image.Image, xy: tuple[int, int]) -> bool:
    r, g, b = rgb(image, xy)
    return r > 150 and g < 100 and b < 100


def is_blue(image: Image.Image, xy: tuple[int, int]) -> bool:
    r, _, b = rgb(image, xy)
    return b > 150 and r < 100


def is_white(image: Image.Image, xy: tuple[int, int]) -> bool:
    return min(rgb(image, xy)) > 235


def is_black(image: Image.Image, xy: tuple[int, int]) -> bool:
    return max(rgb(image, xy)) < 30

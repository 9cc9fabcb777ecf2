"""What a decode will allocate, worked out from the header before any pixel is decoded: the
size each format lets us decode at (JPEG draft scaling, PNG bands, HEIF grids a tile at a time),
the peak bytes to hold in the decode budget, and the hard cap above which a file is refused
rather than decoded.

Peak bytes are width x height (at the size really decoded) x bytes per pixel, where bytes per
pixel is what was measured for each decoder (Pillow keeps RGB as 4 bytes a pixel; libtiff and
libheif decode into a buffer of their own first; Pillow's WebP decoder keeps a canvas besides),
plus a fixed allowance for codec buffers, the thumbnail and its JPEG.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image

from daemon.errors import PayloadTooLarge
from daemon.media.budget import DecodeBudget
from daemon.media.heifgrid import GRID_MIN_PIXELS, HeifGrid, grid_factor, read_grid
from daemon.media.heifgrid import peak_bytes as grid_peak
from daemon.media.pngbands import PngLayout, peak_bytes, read_layout

MiB = 1024 * 1024
HARD_CAP_BYTES = 2048 * MiB  # one decode may need at most max(budget, this); bigger is refused
FIXED_BYTES = 8 * MiB
# For decodes made outside the service's pool (benchmarks, tools): the hard cap, one at a time.
DIRECT_BUDGET = DecodeBudget(HARD_CAP_BYTES)
JPEG_FORMATS = frozenset({"JPEG", "MPO"})  # MPO: a phone JPEG with extra pictures appended
BAND_MIN_PIXELS = 4_000_000  # smaller PNGs decode whole (a band decode is ~2x slower)
FORMAT_BYTES_PER_PIXEL = {"TIFF": 9, "HEIF": 9, "AVIF": 9, "WEBP": 17}
TWO_BYTE_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N"})
ONE_BYTE_MODES = frozenset({"1", "L", "P"})


@dataclass(frozen=True)
class ImagePlan:
    """How one still image will be decoded and what that holds at its peak."""

    size: tuple[int, int]  # the size the decoder produces
    peak: int  # bytes
    factor: int = 1  # reduction applied while band-decoding a PNG or tile-decoding a HEIF
    png: PngLayout | None = None
    grid: HeifGrid | None = None


def pixel_bytes(mode: str) -> int:
    """Bytes Pillow stores per pixel for ``mode`` (RGB and LA are padded to 4)."""
    if mode in ONE_BYTE_MODES:
        return 1
    return 2 if mode in TWO_BYTE_MODES else 4


def whole_peak(fmt: str | None, mode: str, size: tuple[int, int]) -> int:
    """Peak bytes of a whole decode by Pillow (or its plugin) at ``size``."""
    per_pixel = FORMAT_BYTES_PER_PIXEL.get(fmt or "", 0) or pixel_bytes(mode) * 5 / 4
    return int(size[0] * size[1] * per_pixel) + FIXED_BYTES


def band_factor(size: tuple[int, int], max_side: int) -> int:
    """Box reduction that keeps the picture at least twice the thumbnail's size."""
    return max(1, max(size) // (2 * max_side))


def plan_image(image: Image.Image, fp: BinaryIO | None, max_side: int) -> ImagePlan:
    """Choose the reduced decode the format allows; JPEG's draft is applied to ``image`` here."""
    if image.format in JPEG_FORMATS:
        image.draft("RGB", (max_side, max_side))  # libjpeg's scaled IDCT: 1/2, 1/4, 1/8
        return ImagePlan(image.size, whole_peak(image.format, image.mode, image.size))
    factor = band_factor(image.size, max_side)
    pixels = image.size[0] * image.size[1]
    big = pixels >= BAND_MIN_PIXELS
    if image.format == "HEIF" and fp is not None and factor > 1 and pixels >= GRID_MIN_PIXELS:
        tiled = _grid_plan(fp, factor)
        if tiled is not None:
            return tiled
    if image.format == "PNG" and fp is not None and factor > 1 and big:
        layout = read_layout(fp)
        if layout is not None and (layout.width, layout.height) == image.size:
            size = (-(-layout.width // factor), -(-layout.height // factor))
            return ImagePlan(size, peak_bytes(layout, factor) + FIXED_BYTES, factor, layout)
    return ImagePlan(image.size, whole_peak(image.format, image.mode, image.size))


def _grid_plan(fp: BinaryIO, wanted: int) -> ImagePlan | None:
    """A HEIF grid decoded a tile at a time, each tile scaled down by a power of two."""
    grid = read_grid(fp)
    if grid is None:
        return None
    factor = grid_factor(grid, wanted)
    if factor == 1:
        return None
    size = (-(-grid.width // factor), -(-grid.height // factor))
    return ImagePlan(size, grid_peak(grid, factor) + FIXED_BYTES, factor, grid=grid)


def whole_plan(image: Image.Image) -> ImagePlan:
    """Decoding ``image`` whole at its size (when a reduced decode turned out impossible)."""
    return ImagePlan(image.size, whole_peak(image.format, image.mode, image.size))


def video_peak(width: int, height: int) -> int:
    """Peak bytes to decode frames of a ``width`` x ``height`` clip: FFmpeg keeps reference
    frames and one frame per decoding thread (measured ~17 bytes a pixel for 4K HEVC on 2
    cores), plus the scaled RGB copy."""
    threads = min(os.cpu_count() or 1, 16)
    return width * height * (12 + 3 * threads) + FIXED_BYTES


def hard_cap(budget: int) -> int:
    """The most one decode may need: the budget, or HARD_CAP_BYTES if that is larger."""
    return max(budget, HARD_CAP_BYTES)


def check_cap(name: str, size: tuple[int, int], peak: int, budget: int) -> None:
    """Refuse a decode the hard cap does not allow (PayloadTooLarge, a message for people)."""
    cap = hard_cap(budget)
    if peak > cap:
        raise PayloadTooLarge(
            f"{name}: {size[0]}x{size[1]} px would need about {peak / MiB:,.0f} MiB to decode; "
            f"media-sync decodes at most {cap / MiB:,.0f} MiB at once "
            "(MEDIA_SYNC_DECODE_MEMORY_MB raises it)"
        )

"""Opening still images with Pillow, HEIC/HEIF included (pillow-heif registered once)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import BinaryIO, cast

from PIL import Image

from daemon.media.pngbands import trailing_exif

# Pillow warns above this many pixels and refuses above twice as many. Raised on purpose: only
# headers are read with it; the decode budget and the hard cap in ``decodeplan`` are the guard.
HEADER_MAX_PIXELS = 1 << 32

_registered = False
_lock = threading.Lock()

EXIF_IFD = 0x8769
ORIENTATION = 274
DATETIME = 306
DATETIME_ORIGINAL = 36867
OFFSET_TIME_ORIGINAL = 36881

# EXIF orientation -> clockwise degrees needed to display the picture upright.
ORIENTATION_DEGREES = {1: 0, 2: 0, 3: 180, 4: 180, 5: 90, 6: 90, 7: 270, 8: 270}


def register_heif() -> None:
    """Teach Pillow to open HEIC/HEIF (idempotent, thread-safe)."""
    global _registered
    with _lock:
        if not _registered:
            Image.MAX_IMAGE_PIXELS = HEADER_MAX_PIXELS
            import pillow_heif

            pillow_heif.register_heif_opener()
            _registered = True


def open_image(path: Path) -> Image.Image:
    """Open lazily (headers only until pixels are asked for)."""
    register_heif()
    return Image.open(path)


def stored_orientation(image: Image.Image) -> int:
    """The EXIF orientation the file carries (1..8).

    libheif applies HEIF's own rotation while decoding, so pillow-heif reports EXIF orientation 1
    and keeps the original in ``info["original_orientation"]``; that one is the file's truth.
    """
    original = image.info.get("original_orientation")
    if isinstance(original, int) and original in ORIENTATION_DEGREES:
        return original
    value = header_exif(image).get(ORIENTATION, 1)
    return value if isinstance(value, int) and value in ORIENTATION_DEGREES else 1


def image_file(image: Image.Image) -> BinaryIO | None:
    """The open file an image not yet decoded reads from (None once loaded or closed)."""
    fp = getattr(image, "fp", None)
    return cast(BinaryIO, fp) if fp is not None else None


def header_exif(image: Image.Image) -> Image.Exif:
    """EXIF without decoding pixels (for a PNG, Pillow's ``getexif`` decodes the whole image
    when the eXIf chunk follows the image data)."""
    fp = image_file(image)
    if image.format != "PNG" or "exif" in image.info or fp is None:
        return image.getexif()
    exif = Image.Exif()
    raw = trailing_exif(fp)
    if raw:
        exif.load(raw)
    return exif


def stored_size(image: Image.Image) -> tuple[int, int]:
    """Width and height as stored, before orientation (HEIF images arrive already rotated)."""
    width, height = image.size
    if "original_orientation" in image.info and stored_orientation(image) >= 5:
        return height, width
    return width, height

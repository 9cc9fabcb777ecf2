"""Opening still images with Pillow, HEIC/HEIF included (pillow-heif registered once)."""

from __future__ import annotations

import threading
from pathlib import Path

from PIL import Image

_registered = False
_lock = threading.Lock()

EXIF_IFD = 0x8769
ORIENTATION = 274
DATETIME_ORIGINAL = 36867
OFFSET_TIME_ORIGINAL = 36881
DATETIME = 306

# EXIF orientation -> clockwise degrees needed to display the picture upright.
ORIENTATION_DEGREES = {1: 0, 2: 0, 3: 180, 4: 180, 5: 90, 6: 90, 7: 270, 8: 270}


def register_heif() -> None:
    """Teach Pillow to open HEIC/HEIF (idempotent, thread-safe)."""
    global _registered
    with _lock:
        if not _registered:
            import pillow_heif

            pillow_heif.register_heif_opener()
            _registered = True


def open_image(path: Path) -> Image.Image:
    """Open lazily (headers only until pixels are asked for)."""
    register_heif()
    return Image.open(path)

"""Opening still images with Pillow, HEIC/HEIF included (pillow-heif registered once): their size
as stored, their orientation, and which of the two the decoder applies by itself."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import BinaryIO, cast

from PIL import Image, PngImagePlugin

from daemon.media.bmff import heif_items
from daemon.media.pngbands import trailing_exif

# Pillow warns above this many pixels and refuses above twice as many. Raised on purpose: only
# headers are read with it; the decode budget and the hard cap in ``decodeplan`` are the guard.
HEADER_MAX_PIXELS = 1 << 32
# Pillow refuses a PNG text or ICC chunk that inflates past 1 MiB; camera and printer ICC
# profiles reach a few MiB. The profile is kept in memory with the header, never decoded.
PNG_CHUNK_MAX = 32 * 1024 * 1024

_registered = False
_lock = threading.Lock()

EXIF_IFD = 0x8769
ORIENTATION = 274
DATETIME = 306
DATETIME_ORIGINAL = 36867
DATETIME_DIGITIZED = 36868
OFFSET_TIME = 36880
OFFSET_TIME_ORIGINAL = 36881
OFFSET_TIME_DIGITIZED = 36882
TIFF_WIDTH, TIFF_LENGTH = 256, 257

# EXIF orientation -> clockwise degrees needed to display the picture upright.
ORIENTATION_DEGREES = {1: 0, 2: 0, 3: 180, 4: 180, 5: 90, 6: 90, 7: 270, 8: 270}


def register_heif() -> None:
    """Teach Pillow to open HEIC/HEIF and set its header limits (idempotent, thread-safe)."""
    global _registered
    with _lock:
        if not _registered:
            Image.MAX_IMAGE_PIXELS = HEADER_MAX_PIXELS
            PngImagePlugin.MAX_TEXT_CHUNK = max(PngImagePlugin.MAX_TEXT_CHUNK, PNG_CHUNK_MAX)
            import pillow_heif

            pillow_heif.register_heif_opener()
            _registered = True


def open_image(path: Path) -> Image.Image:
    """Open lazily (headers only until pixels are asked for)."""
    register_heif()
    return Image.open(path)


def heif_turned(image: Image.Image) -> bool:
    """True when libheif turns or mirrors this HEIF while decoding (its primary picture has an
    ``irot`` or ``imir`` box). Then its EXIF orientation is already applied; without one, a file
    rotated only by EXIF orientation arrives as stored and the orientation is still to apply."""
    fp = image_file(image)
    if image.format != "HEIF" or fp is None:
        return False
    start = fp.tell()
    try:
        items = heif_items(fp)
    finally:
        fp.seek(start)
    if items is None:
        return True  # unreadable item table: trust pillow-heif's reading (libheif turned it)
    return any(kind in (b"irot", b"imir") for kind in items.transforms(items.primary))


def stored_orientation(image: Image.Image) -> int:
    """The EXIF orientation the file carries (1..8).

    pillow-heif reports EXIF orientation 1 and keeps the file's in ``info["original_orientation"]``;
    that one is the file's truth.
    """
    original = image.info.get("original_orientation")
    if isinstance(original, int) and original in ORIENTATION_DEGREES:
        return original
    value = header_exif(image).get(ORIENTATION, 1)
    return value if isinstance(value, int) and value in ORIENTATION_DEGREES else 1


def heif_orientation(image: Image.Image) -> int:
    """The EXIF orientation still to apply to a HEIF once libheif has decoded it: none when
    libheif turned it, the file's when the file is rotated by EXIF orientation only. Ask before
    decoding (it reads the file's item table)."""
    return 1 if heif_turned(image) else stored_orientation(image)


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


def _tiff_stored(image: Image.Image) -> tuple[int, int] | None:
    """A TIFF's width and length tags (Pillow reports a TIFF's size already turned)."""
    tags = getattr(image, "tag_v2", None)
    if tags is None:
        return None
    width, height = tags.get(TIFF_WIDTH), tags.get(TIFF_LENGTH)
    if isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0:
        return width, height
    return None


def stored_size(image: Image.Image) -> tuple[int, int]:
    """Width and height as stored, before orientation (libheif and Pillow's TIFF reader report
    the size after the turn they apply)."""
    width, height = image.size
    if image.format == "TIFF":
        return _tiff_stored(image) or (width, height)
    if image.format == "HEIF" and stored_orientation(image) >= 5 and heif_turned(image):
        return height, width
    return width, height


class EoiPadded:
    """A JPEG file that ends with an EOI marker even when it was cut short, so libjpeg decodes
    what is there and fills the rest with grey (what Pillow's LOAD_TRUNCATED_IMAGES does, for
    this one file instead of the whole process)."""

    def __init__(self, fp: BinaryIO) -> None:
        self._fp = fp
        self._ended = False

    def read(self, size: int = -1) -> bytes:
        data = self._fp.read(size)
        if not data and size and not self._ended:
            self._ended = True
            return b"\xff\xd9"
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._fp.seek(offset, whence)

    def tell(self) -> int:
        return self._fp.tell()

    def close(self) -> None:
        self._fp.close()


def pad_truncated_jpeg(image: Image.Image) -> None:
    """Let a JPEG (or MPO) not yet decoded be decoded even if its file was cut short."""
    fp = image_file(image)
    if fp is not None and not isinstance(fp, EoiPadded):
        setattr(image, "fp", EoiPadded(fp))  # noqa: B010 (Pillow reads ``fp``; not in its stubs)

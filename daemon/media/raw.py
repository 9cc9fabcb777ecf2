"""Camera raw stills (DNG, CR2, CR3, NEF, ARW, RAF, ORF, RW2): the sensor's size, orientation
and capture time, and the JPEG preview every camera embeds.

LibRaw (rawpy) reads them first: it knows each maker's layout, gives the sensor's visible size
(not the preview's) and the largest embedded preview. A file LibRaw refuses (a camera newer
than it, or a maker variant it cannot unpack) is read from its own structure instead: the
IFDs of a TIFF-based raw (DNG, CR2, NEF, ARW, ORF, RW2, PEF...), or a RAF's header. Capture time
comes from the file's EXIF, read by Pillow from the raw's IFDs or from the embedded JPEG.
Memory: the preview's bytes and its draft decode; a raw without any preview is decoded by
LibRaw at half size (``decode_peak``: about 5 bytes per sensor pixel).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import rawpy
from PIL import Image

from daemon.media.capture import CapturedFrom, still_capture, utc_iso

MiB = 1024 * 1024
PREVIEW_MAX = 64 * MiB  # the largest embedded JPEG read into memory (a full-size one is ~10 MiB)
IFD_MAX = 64  # IFDs walked in one file (IFD chains, SubIFDs)
# dcraw's ``flip`` (LibRaw's sizes.flip) -> EXIF orientation
FLIP_ORIENTATION = {0: 1, 1: 2, 3: 3, 2: 4, 4: 5, 6: 6, 7: 7, 5: 8}
RAF_MAGIC = b"FUJIFILMCCD-RAW "
TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"IIRO", b"IIRS", b"MMOR", b"IIU\x00")
JPEG_SOI = b"\xff\xd8\xff"
EXIF_IFD, SUB_IFDS, PIXEL_X, PIXEL_Y = 0x8769, 0x14A, 0xA002, 0xA003
RW2_SENSOR_WIDTH, RW2_SENSOR_HEIGHT, RW2_JPEG = 0x02, 0x03, 0x2E
TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}


@dataclass(frozen=True)
class RawInfo:
    """What a raw file says about its picture."""

    size: tuple[int, int] | None  # the sensor's visible area, as stored (before orientation)
    orientation: int  # EXIF 1..8
    captured: tuple[str, CapturedFrom] | None


@dataclass(frozen=True)
class Preview:
    """An embedded picture: JPEG bytes, or a bitmap LibRaw made from an uncompressed one."""

    jpeg: bytes | None = None
    bitmap: Image.Image | None = None


Facts = tuple[tuple[str, CapturedFrom] | None, int]  # (capture time, EXIF orientation)


def _facts(exif: Image.Exif) -> Facts:
    value = exif.get(274, 1)
    return still_capture(exif, None), value if value in FLIP_ORIENTATION.values() else 1


def _tiff_facts(fp: BinaryIO) -> Facts | None:
    """From the EXIF of a TIFF-based raw (Pillow walks its IFDs by seeking the open file)."""
    fp.seek(0)
    head = fp.read(8)
    if head[:4] not in TIFF_MAGICS:
        return None
    endian = "<" if head[:2] == b"II" else ">"
    exif = Image.Exif()
    exif.endian = endian
    try:
        exif.load_from_fp(fp, struct.unpack(endian + "I", head[4:8])[0])
        return _facts(exif)
    except (OSError, ValueError, SyntaxError, struct.error, KeyError):
        return None


def _jpeg_facts(jpeg: bytes | None) -> Facts | None:
    """From the EXIF of an embedded JPEG (a RAF's carries the camera's)."""
    if not jpeg:
        return None
    try:
        with Image.open(io.BytesIO(jpeg)) as picture:
            return _facts(picture.getexif())
    except (OSError, ValueError, SyntaxError):
        return None


def _exif_facts(path: Path) -> Facts:
    with path.open("rb") as fp:
        found = _tiff_facts(fp) or _jpeg_facts(_raf_jpeg(fp))
    return found or (None, 1)


# -- files LibRaw refuses: the TIFF-based raws' IFDs and a RAF's header -------------------------


@dataclass
class _Ifd:
    tags: dict[int, tuple[int, int, int]]  # tag -> (type, count, value or offset)


def _ifd(fp: BinaryIO, endian: str, offset: int) -> tuple[_Ifd, int] | None:
    fp.seek(offset)
    raw = fp.read(2)
    if len(raw) < 2:
        return None
    count = struct.unpack(endian + "H", raw)[0]
    body = fp.read(12 * count + 4)
    if len(body) < 12 * count + 4 or count > 4096:
        return None
    tags = {}
    for index in range(count):
        tag, kind, number = struct.unpack(endian + "HHI", body[12 * index : 12 * index + 8])
        field = body[12 * index + 8 : 12 * index + 12]
        if kind == 3 and number == 1:
            value = struct.unpack(endian + "H", field[:2])[0]
        else:
            value = struct.unpack(endian + "I", field)[0]
        tags[tag] = (kind, number, value)
    return _Ifd(tags), struct.unpack(endian + "I", body[-4:])[0]


def _longs(fp: BinaryIO, endian: str, entry: tuple[int, int, int]) -> list[int]:
    kind, count, value = entry
    if count <= 1 or TYPE_SIZES.get(kind, 4) * count <= 4:
        return [value]
    fp.seek(value)
    data = fp.read(4 * min(count, 64))
    return list(struct.unpack(endian + f"{len(data) // 4}I", data))


def _walk(fp: BinaryIO, endian: str, first: int) -> Iterator[_Ifd]:
    """Every IFD: the IFD0 chain, SubIFDs and the Exif IFD, each once."""
    pending, seen = [first], set[int]()
    while pending and len(seen) < IFD_MAX:
        offset = pending.pop(0)
        if not offset or offset in seen:
            continue
        seen.add(offset)
        found = _ifd(fp, endian, offset)
        if found is None:
            continue
        ifd, following = found
        yield ifd
        pending.append(following)
        for tag in (SUB_IFDS, EXIF_IFD):
            if tag in ifd.tags:
                pending.extend(_longs(fp, endian, ifd.tags[tag]))


def _blob(fp: BinaryIO, offset: int, length: int) -> bytes | None:
    if not 0 < length <= PREVIEW_MAX:
        return None
    fp.seek(offset)
    data = fp.read(length)
    return data if len(data) == length and data.startswith(JPEG_SOI) else None


def _ifd_preview(fp: BinaryIO, ifd: _Ifd) -> bytes | None:
    tags = ifd.tags
    if 513 in tags and 514 in tags:  # JPEGInterchangeFormat / Length
        return _blob(fp, tags[513][2], tags[514][2])
    if RW2_JPEG in tags:
        return _blob(fp, tags[RW2_JPEG][2], tags[RW2_JPEG][1])
    jpeg = tags.get(259, (0, 0, 0))[2] in (6, 7)
    if jpeg and 273 in tags and 279 in tags and tags[273][1] == 1:  # one strip: a whole JPEG
        return _blob(fp, tags[273][2], tags[279][2])
    return None


def _ifd_size(ifd: _Ifd) -> tuple[int, int] | None:
    tags = ifd.tags
    for width_tag, height_tag in (
        (256, 257),
        (PIXEL_X, PIXEL_Y),
        (RW2_SENSOR_WIDTH, RW2_SENSOR_HEIGHT),
    ):
        if width_tag in tags and height_tag in tags:
            compressed_jpeg = tags.get(259, (0, 0, 0))[2] in (6, 7) and tags.get(254, (0, 0, 0))[2]
            if width_tag == 256 and compressed_jpeg:
                continue  # a reduced-resolution JPEG preview, not the sensor
            return tags[width_tag][2], tags[height_tag][2]
    return None


def _tiff_raw(fp: BinaryIO) -> tuple[tuple[int, int] | None, bytes | None]:
    """(sensor size, largest JPEG preview) from a TIFF-based raw's IFDs."""
    fp.seek(0)
    head = fp.read(8)
    endian = "<" if head[:2] == b"II" else ">"
    sizes, previews = [], []
    for ifd in _walk(fp, endian, struct.unpack(endian + "I", head[4:8])[0]):
        size = _ifd_size(ifd)
        if size and ifd.tags.get(254, (0, 0, 0))[2] in (0,) and 0 < size[0] < 1 << 16:
            sizes.append(size)
        preview = _ifd_preview(fp, ifd)
        if preview:
            previews.append(preview)
    size = max(sizes, key=lambda s: s[0] * s[1]) if sizes else None
    return size, max(previews, key=len) if previews else None


def _raf(fp: BinaryIO) -> tuple[tuple[int, int] | None, bytes | None]:
    """(sensor size, JPEG) from a RAF: the JPEG's place is at 84, the CFA header's at 92, whose
    RawImageCroppedSize (0x111) or RawImageFullSize (0x100) records are height, width."""
    fp.seek(84)
    jpeg_at, jpeg_len, cfa_at, cfa_len = struct.unpack(">4I", fp.read(16))
    jpeg = _blob(fp, jpeg_at, jpeg_len)
    fp.seek(cfa_at)
    header = fp.read(min(cfa_len, 1 << 16))
    found: dict[int, tuple[int, int]] = {}
    pos = 4
    for _ in range(struct.unpack(">I", header[:4])[0] if len(header) >= 4 else 0):
        if pos + 4 > len(header):
            break
        tag, size = struct.unpack(">HH", header[pos : pos + 4])
        if tag in (0x100, 0x111) and size == 4:
            height, width = struct.unpack(">HH", header[pos + 4 : pos + 8])
            found[tag] = (width, height)
        pos += 4 + size
    return found.get(0x111) or found.get(0x100), jpeg


def _own_reading(path: Path) -> tuple[tuple[int, int] | None, bytes | None]:
    """(sensor size, largest JPEG preview) when LibRaw refuses the file."""
    with path.open("rb") as fp:
        head = fp.read(16)
        if head == RAF_MAGIC:
            return _raf(fp)
        if head[:4] in TIFF_MAGICS:
            return _tiff_raw(fp)
    raise OSError("not a raw file media-sync can read")


# -- the two readers together ------------------------------------------------------------------


def _libraw(path: Path) -> tuple[tuple[int, int], int, datetime | None] | None:
    """(visible sensor size, EXIF orientation, capture time) as LibRaw reads them; None when
    LibRaw refuses the file."""
    try:
        with rawpy.imread(str(path)) as raw:
            sizes = raw.sizes
            try:
                stamp: datetime | None = raw.other.timestamp
            except (rawpy.LibRawError, OSError, ValueError, OverflowError):
                stamp = None
            return (sizes.width, sizes.height), FLIP_ORIENTATION.get(sizes.flip, 1), stamp
    except (rawpy.LibRawError, OSError, ValueError):
        return None


def raw_info(path: Path) -> RawInfo:
    """Size, orientation and capture time; OSError when neither LibRaw nor the file's own
    structure gives a size. The orientation is LibRaw's, or the file's EXIF when LibRaw has
    none; the capture time is the file's EXIF, or LibRaw's (a CR3's CMT2 DateTimeOriginal)."""
    captured, orientation = _exif_facts(path)
    read = _libraw(path)
    if read is not None:
        size, turn, stamp = read
        orientation = turn if turn != 1 else orientation
        if captured is None and stamp is not None and stamp.year > 1970:
            captured = utc_iso(stamp), "exif"
    else:
        size = _own_reading(path)[0] or (0, 0)
    if not size[0] or not size[1]:
        raise OSError("no picture size in the file")
    return RawInfo(size, orientation, captured)


def _raf_jpeg(fp: BinaryIO) -> bytes | None:
    fp.seek(0)
    if fp.read(16) != RAF_MAGIC:
        return None
    return _raf(fp)[1]


def _libraw_preview(path: Path) -> tuple[Preview | None, int] | None:
    try:
        with rawpy.imread(str(path)) as raw:
            orientation = FLIP_ORIENTATION.get(raw.sizes.flip, 1)
            try:
                thumb = raw.extract_thumb()
            except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
                return None, orientation
            if thumb.format == rawpy.ThumbFormat.JPEG and isinstance(thumb.data, bytes):
                return Preview(jpeg=thumb.data), orientation
            if isinstance(thumb.data, bytes):
                return None, orientation
            return Preview(bitmap=Image.fromarray(thumb.data)), orientation
    except (rawpy.LibRawError, OSError, ValueError):
        return None


def raw_preview(path: Path) -> tuple[Preview, int] | None:
    """The largest embedded preview and the orientation to apply to it (as ``raw_info``
    says); None when the file embeds none (the caller decodes the raw itself)."""
    _, orientation = _exif_facts(path)
    read = _libraw_preview(path)
    if read is not None:
        preview, turn = read
        return (preview, turn if turn != 1 else orientation) if preview is not None else None
    jpeg = _own_reading(path)[1]
    return (Preview(jpeg=jpeg), orientation) if jpeg else None


def decode_peak(size: tuple[int, int]) -> int:
    """Bytes LibRaw holds to decode a raw at half size: the 16-bit mosaic (2 bytes a pixel),
    its half-size 4-channel 16-bit image (2 bytes a sensor pixel) and the 8-bit RGB output."""
    return size[0] * size[1] * 5


def decode_half(path: Path) -> Image.Image:
    """The raw decoded by LibRaw at half size (camera white balance, 8-bit sRGB), upright."""
    try:
        with rawpy.imread(str(path)) as raw:
            rgb = raw.postprocess(half_size=True, use_camera_wb=True, output_bps=8)
    except rawpy.LibRawError as exc:
        raise OSError(f"LibRaw cannot decode it ({exc})") from exc
    return Image.fromarray(rgb)

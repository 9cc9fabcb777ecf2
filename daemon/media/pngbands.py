"""Big PNGs decoded a band of rows at a time and box-reduced as they go, so a 13,000 px PNG is
never whole in memory (Pillow can only decode a PNG whole, at full size).

The file's zlib stream is inflated here, a band of filtered rows at a time. Each band becomes a
small PNG of its own (the original's IHDR with the band's height, its PLTE and tRNS) that Pillow
decodes; PNG filters refer to the row above, so every band starts with the previous band's last
row, unfiltered (filter type 0) as Pillow decoded it. That only works where a decoded row packs
back to the file's bytes exactly: 1/2/4/8-bit grey and palette, 8-bit RGB, grey+alpha and RGBA,
not interlaced. Other PNGs decode whole (the caller budgets for that).
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image

SIGNATURE = b"\x89PNG\r\n\x1a\n"
BAND_BYTES = 8 * 1024 * 1024  # decoded bytes in one band (Pillow keeps RGB as 4 bytes a pixel)
READ_BYTES = 1024 * 1024
STORED_MAX = 65535  # bytes in one stored deflate block
KEPT_CHUNKS = (b"PLTE", b"tRNS")
# (bit depth, colour type) -> Pillow rawmode whose rows pack back to the file's bytes exactly.
RAWMODES = {
    (1, 0): "1",
    (2, 0): "L;2",
    (4, 0): "L;4",
    (8, 0): "L",
    (8, 2): "RGB",
    (1, 3): "P;1",
    (2, 3): "P;2",
    (4, 3): "P;4",
    (8, 3): "P",
    (8, 4): "LA",
    (8, 6): "RGBA",
}
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


@dataclass(frozen=True)
class PngLayout:
    """What a band decode needs from the file's header."""

    width: int
    height: int
    depth: int
    colour: int
    ihdr: bytes
    kept: bytes  # PLTE and tRNS chunks, whole
    idat_offset: int  # where the first IDAT chunk starts

    @property
    def rawmode(self) -> str:
        return RAWMODES[(self.depth, self.colour)]

    @property
    def row_bytes(self) -> int:
        return (self.width * self.depth * CHANNELS[self.colour] + 7) // 8


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def read_layout(fp: BinaryIO) -> PngLayout | None:
    """The header of a PNG that can be band-decoded; None for any other file."""
    fp.seek(0)
    if fp.read(8) != SIGNATURE:
        return None
    ihdr, kept = b"", b""
    while True:
        head = fp.read(8)
        if len(head) < 8:
            return None
        length, kind = struct.unpack(">I4s", head)
        if kind == b"IDAT":
            break
        data = fp.read(length)
        fp.read(4)
        if kind == b"IHDR" and len(data) == 13:
            ihdr = data
        elif kind in KEPT_CHUNKS:
            kept += _chunk(kind, data)
    if not ihdr:
        return None
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", ihdr)
    if interlace or (depth, colour) not in RAWMODES or not width or not height:
        return None
    return PngLayout(width, height, depth, colour, ihdr, kept, fp.tell() - 8)


def _idat(fp: BinaryIO, offset: int) -> Iterator[bytes]:
    fp.seek(offset)
    while True:
        head = fp.read(8)
        if len(head) < 8:
            raise EOFError("PNG ends inside its image data")
        length, kind = struct.unpack(">I4s", head)
        if kind != b"IDAT":
            return
        while length:
            piece = fp.read(min(length, READ_BYTES))
            if not piece:
                raise EOFError("PNG ends inside its image data")
            length -= len(piece)
            yield piece
        fp.read(4)


def _inflated(fp: BinaryIO, layout: PngLayout, limit: int) -> Iterator[bytes]:
    """The inflated image data in pieces of at most ``limit`` bytes (a PNG that inflates to
    gigabytes from a few hundred KiB is never inflated further than one band ahead)."""
    inflater = zlib.decompressobj()
    for piece in _idat(fp, layout.idat_offset):
        data = piece
        while data:
            out = inflater.decompress(data, limit)
            data = inflater.unconsumed_tail
            if out:
                yield out
            if inflater.eof:
                return
    while not inflater.eof:
        out = inflater.decompress(b"", limit)
        if not out:
            return
        yield out


def _filtered_bands(fp: BinaryIO, layout: PngLayout, rows: int) -> Iterator[bytes]:
    """The image data, ``rows`` filtered rows (1 + row_bytes each) at a time."""
    band = rows * (layout.row_bytes + 1)
    total = layout.height * (layout.row_bytes + 1)
    pending = bytearray()
    for out in _inflated(fp, layout, band):
        pending += out
        while total and len(pending) >= min(band, total):
            size = min(band, total)
            with memoryview(pending) as view:
                yield bytes(view[:size])
            del pending[:size]
            total -= size
        if not total:
            return
    if total:
        raise EOFError("PNG image data is shorter than its header says")


def _stored(segments: tuple[bytes, ...]) -> list[bytes | memoryview]:
    """``segments`` as a zlib stream of stored (uncompressed) deflate blocks: no copy, no
    checksum (Pillow stops at the last row and never reads a trailer)."""
    parts: list[bytes | memoryview] = [b"\x78\x01"]
    for segment in segments:
        view = memoryview(segment)
        for start in range(0, len(view), STORED_MAX):
            piece = view[start : start + STORED_MAX]
            parts.append(struct.pack("<BHH", 0, len(piece), len(piece) ^ 0xFFFF))
            parts.append(piece)
    return parts


def _band_png(layout: PngLayout, rows: int, previous: bytes, filtered: bytes) -> bytes:
    """A PNG of the previous band's last row (unfiltered) followed by this band's rows. Its
    IDAT carries no CRC: Pillow does not check an IDAT's (it checks the small chunks')."""
    header = struct.pack(">II", layout.width, rows + 1) + layout.ihdr[8:]
    stream = _stored((b"\x00" + previous, filtered))
    length = sum(len(part) for part in stream)
    head = SIGNATURE + _chunk(b"IHDR", header) + layout.kept + struct.pack(">I4s", length, b"IDAT")
    return b"".join([head, *stream, bytes(4), _chunk(b"IEND", b"")])


def _flat(band: Image.Image) -> Image.Image:
    """Pixels Image.reduce can average: palettes and 1-bit expanded, transparency as alpha."""
    if band.mode in {"RGB", "RGBA", "L", "LA"} and "transparency" not in band.info:
        return band
    if band.mode == "P" or "transparency" in band.info:
        return band.convert("RGBA")
    return band.convert("L")


def band_rows(layout: PngLayout, factor: int) -> int:
    """Rows per band: a multiple of ``factor`` holding about BAND_BYTES decoded."""
    per_row = layout.width * 4
    return factor * max(1, BAND_BYTES // (per_row * factor))


def peak_bytes(layout: PngLayout, factor: int) -> int:
    """What a band decode holds at most: the reduced picture twice (it is assembled, then
    shrunk), one decoded band twice (decoded, then flattened), its bytes four times (inflated,
    joined, stored, wrapped) and a fixed margin."""
    rows = band_rows(layout, factor)
    out = -(-layout.width // factor) * -(-layout.height // factor) * 4
    return 2 * out + 2 * (rows + 1) * layout.width * 4 + 4 * rows * layout.row_bytes + (4 << 20)


def decode_reduced(fp: BinaryIO, layout: PngLayout, factor: int) -> Image.Image:
    """The picture box-reduced by ``factor`` (sides rounded up), decoded band by band."""
    rows = band_rows(layout, factor)
    size = (-(-layout.width // factor), -(-layout.height // factor))
    out: Image.Image | None = None
    previous = bytes(layout.row_bytes)
    top = 0
    for filtered in _filtered_bands(fp, layout, rows):
        count = len(filtered) // (layout.row_bytes + 1)
        with Image.open(io.BytesIO(_band_png(layout, count, previous, filtered))) as band:
            band.load()
            previous = band.crop((0, count, layout.width, count + 1)).tobytes("raw", layout.rawmode)
            flat = _flat(band.crop((0, 1, layout.width, count + 1)))
        small = flat.reduce(factor) if factor > 1 else flat
        if out is None:
            out = Image.new(small.mode, size)
        out.paste(small, (0, top))
        top += small.height
    if out is None:
        raise EOFError("PNG has no image data")
    return out


def trailing_exif(fp: BinaryIO) -> bytes | None:
    """The eXIf chunk wherever it is (Pillow loads every pixel to find one after the image
    data); the chunk headers are read and the image data skipped."""
    start = fp.tell()
    try:
        fp.seek(0)
        if fp.read(8) != SIGNATURE:
            return None
        while True:
            head = fp.read(8)
            if len(head) < 8:
                return None
            length, kind = struct.unpack(">I4s", head)
            if kind == b"eXIf":
                return fp.read(length)
            if kind == b"IEND":
                return None
            fp.seek(length + 4, io.SEEK_CUR)
    finally:
        fp.seek(start)

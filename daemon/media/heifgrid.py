"""Big HEIF pictures decoded a tile at a time and shrunk as they go, so a 200 MP photo is never
whole in memory (libheif, through pillow-heif, can only decode a picture whole, at full size).

A phone's or camera's HEIC above a few megapixels is a grid of HEVC tiles (512 px square on
iPhones and Galaxies). Each tile is decoded here by FFmpeg's HEVC decoder from the item's bytes
and its ``hvcC`` configuration, scaled down by a power of two (the colour conversion as the file's
``nclx`` box says) and pasted into the reduced picture; the grid's own ``irot``/``imir``/``clap``
are applied to that, as libheif would. The peak held in the decode budget is the reduced picture
twice plus four decoded tiles and FFmpeg's buffers (``peak_bytes``): for a 16,320 x 12,240 px
photo that is a 2040 x 1530 px picture and 58 MiB planned (+33 MiB peak RSS measured), where a
whole decode by libheif needs ~1.3 GiB.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import av
from av.codec.context import CodecContext
from av.video.codeccontext import VideoCodecContext
from av.video.frame import VideoFrame
from PIL import Image

from daemon.media.bmff import HeifItems, heif_items

MiB = 1024 * 1024
GRID_MIN_PIXELS = 4_000_000  # smaller grids decode whole by libheif
DECODER_BYTES = 16 * MiB  # FFmpeg's HEVC decoder: a few reference tiles, per thread
# nclx matrix_coefficients -> swscale colourspace (anything else: BT.601, as libheif defaults)
MATRICES = {1: "ITU709", 5: "ITU601", 6: "ITU601", 7: "SMPTE240M", 9: "BT2020", 10: "BT2020"}
# irot: counter-clockwise quarter turns; imir: axis 0 is vertical (flip left-right)
ROTATE = {
    1: Image.Transpose.ROTATE_90,
    2: Image.Transpose.ROTATE_180,
    3: Image.Transpose.ROTATE_270,
}
MIRROR = {0: Image.Transpose.FLIP_LEFT_RIGHT, 1: Image.Transpose.FLIP_TOP_BOTTOM}


@dataclass(frozen=True)
class HeifGrid:
    """What a tiled decode needs from a HEIF's item table."""

    width: int  # the grid's output size, before its transforms
    height: int
    rows: int
    columns: int
    tile: tuple[int, int]
    tiles: tuple[int, ...]  # item ids, row by row
    items: HeifItems
    transforms: tuple[tuple[bytes, bytes], ...]  # the grid item's irot/imir/clap, in order
    matrix: str | None  # from nclx, when the file has one
    full_range: bool | None


def _ispe(payload: bytes) -> tuple[int, int] | None:
    if len(payload) < 12:
        return None
    width, height = struct.unpack(">II", payload[4:12])
    return (width, height) if width and height else None


def _nclx(payload: bytes | None) -> tuple[str | None, bool | None]:
    if payload is None or payload[:4] != b"nclx" or len(payload) < 11:
        return None, None
    matrix = struct.unpack(">H", payload[8:10])[0]
    return MATRICES.get(matrix, "ITU601"), bool(payload[10] & 0x80)


def _grid_box(data: bytes) -> tuple[int, int, int, int] | None:
    """(rows, columns, width, height) from a grid item's data."""
    if len(data) < 8 or data[0] != 0:
        return None
    wide = data[1] & 1
    if len(data) < (12 if wide else 8):
        return None
    rows, columns = data[2] + 1, data[3] + 1
    width, height = struct.unpack(">II" if wide else ">HH", data[4 : 12 if wide else 8])
    return rows, columns, width, height


def read_grid(fp: BinaryIO) -> HeifGrid | None:
    """The grid of a HEIF whose primary picture is HEVC tiles; None for any other file."""
    fp.seek(0)
    items = heif_items(fp)
    if items is None or items.types.get(items.primary) != b"grid":
        return None
    tiles = tuple(items.dimg.get(items.primary, ()))
    shape = _grid_box(items.read(fp, items.primary))
    if shape is None or not tiles or len(tiles) != shape[0] * shape[1]:
        return None
    sizes = set()
    for tile in tiles:
        props = items.item_properties(tile)
        if items.types.get(tile) != b"hvc1" or b"hvcC" not in props or items.transforms(tile):
            return None
        sizes.add(_ispe(props.get(b"ispe", b"")))
    size = sizes.pop() if len(sizes) == 1 else None
    rows, columns, width, height = shape
    if size is None or size[0] * columns < width or size[1] * rows < height:
        return None
    grid_props = items.item_properties(items.primary)
    colr = grid_props.get(b"colr") or items.item_properties(tiles[0]).get(b"colr")
    transforms = tuple(
        (kind, payload)
        for index in items.associations.get(items.primary, [])
        for kind, payload in [items.properties[index - 1]]
        if kind in (b"irot", b"imir", b"clap")
    )
    return HeifGrid(width, height, rows, columns, size, tiles, items, transforms, *_nclx(colr))


def grid_factor(grid: HeifGrid, wanted: int) -> int:
    """The largest power of two <= ``wanted`` that divides the tile's sides (tiles scale exactly)."""
    factor = 1
    while (
        factor * 2 <= wanted and not grid.tile[0] % (factor * 2) and not grid.tile[1] % (factor * 2)
    ):
        factor *= 2
    return factor


def peak_bytes(grid: HeifGrid, factor: int) -> int:
    """The reduced picture twice (pasted into, then transformed), four decoded tiles (YUV 4:4:4
    at 16 bits, the worst case, and their RGB), and the decoder's own buffers."""
    canvas = -(-grid.columns * grid.tile[0] // factor) * -(-grid.rows * grid.tile[1] // factor) * 4
    return 2 * canvas + 4 * grid.tile[0] * grid.tile[1] * 9 + DECODER_BYTES


def _frames(fp: BinaryIO, grid: HeifGrid) -> Iterator[VideoFrame]:
    """Every tile decoded, in grid order (one decoder per distinct ``hvcC``)."""
    contexts: dict[bytes, VideoCodecContext] = {}
    for index, tile in enumerate(grid.tiles):
        config = grid.items.item_properties(tile)[b"hvcC"]
        context = contexts.get(config)
        if context is None:
            created = CodecContext.create("hevc", "r")
            assert isinstance(created, VideoCodecContext)
            context = contexts[config] = created
            context.extradata = config
            context.thread_type = "AUTO"
        packet = av.Packet(grid.items.read(fp, tile))
        packet.pts = index
        yield from context.decode(packet)
    for context in contexts.values():
        yield from context.decode(None)


def _small(frame: VideoFrame, grid: HeifGrid, size: tuple[int, int]) -> Image.Image:
    rgb = frame.reformat(
        width=size[0],
        height=size[1],
        format="rgb24",
        src_colorspace=grid.matrix,
        src_color_range=(2 if grid.full_range else 1)
        if grid.full_range is not None
        else frame.color_range,
        interpolation="AREA",
    )
    plane = rgb.planes[0]
    return Image.frombuffer("RGB", size, bytes(plane), "raw", "RGB", plane.line_size, 1)


def _clap(picture: Image.Image, payload: bytes, factor: int, size: tuple[int, int]) -> Image.Image:
    """Crop as a ``clap`` box says (a centred clean aperture), at the reduced scale."""
    if len(payload) < 32:
        return picture
    wn, wd, hn, hd, xn, xd, yn, yd = struct.unpack(">IIIIiIiI", payload[:32])
    if not (wd and hd and xd and yd):
        return picture
    width, height = wn / wd, hn / hd
    left = (size[0] - 1) / 2 + xn / xd - (width - 1) / 2
    top = (size[1] - 1) / 2 + yn / yd - (height - 1) / 2
    box = (left / factor, top / factor, (left + width) / factor, (top + height) / factor)
    return picture.crop(tuple(round(v) for v in box))


def _transformed(picture: Image.Image, grid: HeifGrid, factor: int) -> Image.Image:
    size = (grid.width, grid.height)
    for kind, payload in grid.transforms:
        if kind == b"clap":
            picture = _clap(picture, payload, factor, size)
            size = (picture.width * factor, picture.height * factor)
        elif kind == b"irot" and payload and payload[0] & 3:
            picture = picture.transpose(ROTATE[payload[0] & 3])
            size = (picture.width * factor, picture.height * factor)
        elif kind == b"imir" and payload:
            picture = picture.transpose(MIRROR[payload[0] & 1])
    return picture


def decode_grid(fp: BinaryIO, grid: HeifGrid, factor: int) -> Image.Image:
    """The picture reduced by ``factor`` (a power of two dividing the tile's sides), upright as
    the file's own transforms say (EXIF orientation is the caller's)."""
    tile = (grid.tile[0] // factor, grid.tile[1] // factor)
    canvas = Image.new("RGB", (tile[0] * grid.columns, tile[1] * grid.rows))
    count = 0
    for frame in _frames(fp, grid):
        index = frame.pts if frame.pts is not None else count
        row, column = divmod(index, grid.columns)
        canvas.paste(_small(frame, grid, tile), (column * tile[0], row * tile[1]))
        count += 1
    if count != len(grid.tiles):
        raise EOFError(f"HEIF grid decoded {count} of {len(grid.tiles)} tiles")
    out = canvas.crop((0, 0, -(-grid.width // factor), -(-grid.height // factor)))
    return _transformed(out, grid, factor)

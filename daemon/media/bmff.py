"""ISO base media file boxes (HEIF, AVIF, CR3) walked from their headers, and a HEIF's item table."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

META_MAX = 16 * 1024 * 1024  # the item table of a 200 MP grid is ~30 KiB; refuse anything absurd


@dataclass(frozen=True)
class Box:
    """One box: its type, where its payload starts and how long it is."""

    kind: bytes
    start: int  # the payload's offset in the file
    size: int  # the payload's length


def boxes(fp: BinaryIO, start: int, end: int) -> Iterator[Box]:
    """The boxes between ``start`` and ``end`` (a size of 0 runs to ``end``)."""
    offset = start
    while offset + 8 <= end:
        fp.seek(offset)
        head = fp.read(8)
        if len(head) < 8:
            return
        size, kind = struct.unpack(">I4s", head)
        header = 8
        if size == 1:
            large = fp.read(8)
            if len(large) < 8:
                return
            size, header = struct.unpack(">Q", large)[0], 16
        elif size == 0:
            size = end - offset
        if size < header or offset + size > end:
            return
        yield Box(kind, offset + header, size - header)
        offset += size


def find(fp: BinaryIO, start: int, end: int, kind: bytes) -> Box | None:
    """The first box of ``kind`` directly between ``start`` and ``end``."""
    return next((box for box in boxes(fp, start, end) if box.kind == kind), None)


def file_end(fp: BinaryIO) -> int:
    fp.seek(0, 2)
    return fp.tell()


@dataclass
class HeifItems:
    """What a HEIF's ``meta`` box says: items, where their bytes are, and their properties."""

    primary: int = 0
    types: dict[int, bytes] = field(default_factory=dict)
    extents: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # file offsets
    dimg: dict[int, list[int]] = field(default_factory=dict)  # a grid -> its tiles, in order
    properties: list[tuple[bytes, bytes]] = field(default_factory=list)  # (type, payload)
    associations: dict[int, list[int]] = field(default_factory=dict)  # item -> 1-based indexes

    def item_properties(self, item: int) -> dict[bytes, bytes]:
        """The properties of ``item`` by type (the first of each type wins)."""
        found: dict[bytes, bytes] = {}
        for index in self.associations.get(item, []):
            if 0 < index <= len(self.properties):
                kind, payload = self.properties[index - 1]
                found.setdefault(kind, payload)
        return found

    def transforms(self, item: int) -> list[bytes]:
        """The geometric transforms (irot, imir, clap) a decoder applies to ``item``, in order."""
        kinds = [self.properties[i - 1][0] for i in self.associations.get(item, [])]
        return [kind for kind in kinds if kind in (b"irot", b"imir", b"clap")]

    def read(self, fp: BinaryIO, item: int) -> bytes:
        out = bytearray()
        for offset, length in self.extents.get(item, []):
            fp.seek(offset)
            out += fp.read(length)
        return bytes(out)


class _Reader:
    """Big-endian fields from a payload held in memory."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def uint(self, size: int) -> int:
        if self.pos + size > len(self.data):
            raise ValueError("box ends early")
        value = int.from_bytes(self.data[self.pos : self.pos + size], "big")
        self.pos += size
        return value


def _pitm(data: bytes) -> int:
    return int.from_bytes(data[4:6] if data[0] == 0 else data[4:8], "big")


def _iinf(fp: BinaryIO, box: Box, data: bytes, items: HeifItems) -> None:
    skip = 6 if data[0] == 0 else 8
    for infe in boxes(fp, box.start + skip, box.start + box.size):
        fp.seek(infe.start)
        entry = fp.read(min(infe.size, 64))
        if entry[0] == 2 and len(entry) >= 12:
            items.types[int.from_bytes(entry[4:6], "big")] = entry[8:12]
        elif entry[0] == 3 and len(entry) >= 14:
            items.types[int.from_bytes(entry[4:8], "big")] = entry[10:14]


def _iloc(data: bytes, idat: int | None, items: HeifItems) -> None:
    read = _Reader(data)
    version = read.uint(1)
    read.uint(3)
    sizes = read.uint(2)
    offset_size, length_size = sizes >> 12, (sizes >> 8) & 15
    base_size, index_size = (sizes >> 4) & 15, sizes & 15
    count = read.uint(2 if version < 2 else 4)
    for _ in range(count):
        item = read.uint(2 if version < 2 else 4)
        method = read.uint(2) & 15 if version in (1, 2) else 0
        read.uint(2)  # data reference index
        base = read.uint(base_size)
        extents = []
        for _ in range(read.uint(2)):
            if version in (1, 2):
                read.uint(index_size)
            offset, length = read.uint(offset_size), read.uint(length_size)
            extents.append((base + offset, length))
        if method == 1 and idat is not None:
            extents = [(idat + offset, length) for offset, length in extents]
        if method in (0, 1):
            items.extents[item] = extents


def _iref(fp: BinaryIO, box: Box, data: bytes, items: HeifItems) -> None:
    width = 2 if data[0] == 0 else 4
    for ref in boxes(fp, box.start + 4, box.start + box.size):
        if ref.kind != b"dimg":
            continue
        fp.seek(ref.start)
        read = _Reader(fp.read(ref.size))
        source = read.uint(width)
        items.dimg[source] = [read.uint(width) for _ in range(read.uint(2))]


def _ipma(data: bytes, items: HeifItems) -> None:
    read = _Reader(data)
    version = read.uint(1)
    flags = read.uint(3)
    for _ in range(read.uint(4)):
        item = read.uint(2 if version < 1 else 4)
        wide = flags & 1
        items.associations[item] = [
            read.uint(2 if wide else 1) & (0x7FFF if wide else 0x7F) for _ in range(read.uint(1))
        ]


def _iprp(fp: BinaryIO, box: Box, items: HeifItems) -> None:
    for child in boxes(fp, box.start, box.start + box.size):
        if child.kind == b"ipco":
            for prop in boxes(fp, child.start, child.start + child.size):
                fp.seek(prop.start)
                payload = fp.read(min(prop.size, META_MAX)) if prop.kind != b"mdat" else b""
                items.properties.append((prop.kind, payload))
        elif child.kind == b"ipma":
            fp.seek(child.start)
            _ipma(fp.read(child.size), items)


def heif_items(fp: BinaryIO) -> HeifItems | None:
    """The item table of a HEIF/AVIF file; None when there is no readable ``meta`` box."""
    end = file_end(fp)
    meta = find(fp, 0, end, b"meta")
    if meta is None or meta.size > META_MAX:
        return None
    items = HeifItems()
    inner = list(boxes(fp, meta.start + 4, meta.start + meta.size))
    idat = next((box.start for box in inner if box.kind == b"idat"), None)
    try:
        for box in inner:
            fp.seek(box.start)
            if box.kind == b"iprp":
                _iprp(fp, box, items)
                continue
            data = fp.read(min(box.size, META_MAX))
            if box.kind == b"pitm":
                items.primary = _pitm(data)
            elif box.kind == b"iinf":
                _iinf(fp, box, data, items)
            elif box.kind == b"iloc":
                _iloc(data, idat, items)
            elif box.kind == b"iref":
                _iref(fp, box, data, items)
    except (ValueError, IndexError, struct.error):
        return None
    return items

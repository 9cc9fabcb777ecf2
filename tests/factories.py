"""Real media files for tests: JPEG (with EXIF), PNG/GIF/WebP/TIFF, HEIC, H.264/HEVC video, AAC.

Every factory writes to the path it is given (parents created), returns that path, and is
deterministic: the same arguments give the same bytes (for de-dup tests), and ``variant=n``
gives different bytes of the same kind. Pictures are split in two: the left half ``LEFT`` (red),
the right half ``RIGHT`` (blue), so a test can tell which way up a thumbnail is.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO

import av
from av.audio.stream import AudioStream
from av.container import OutputContainer
from av.video.stream import VideoStream
from PIL import Image, ImageChops, ImageFilter

RGB = tuple[int, int, int]
LEFT: RGB = (220, 40, 40)  # red
RIGHT: RGB = (40, 60, 220)  # blue
BLACK: RGB = (0, 0, 0)
EXIF_IFD = 0x8769
ORIENTATION = 274
DATETIME_ORIGINAL = 36867
OFFSET_TIME_ORIGINAL = 36881
AUDIO_RATE = 48_000


def pattern(
    size: tuple[int, int], variant: int = 0, colors: tuple[RGB, RGB] = (LEFT, RIGHT)
) -> Image.Image:
    """Left half ``colors[0]``, right half ``colors[1]``. A non-zero ``variant`` adds a square
    in the top-left corner (1/8 of the short side) and dots, in colours seeded by it, big
    enough to survive lossy encoding, so every variant gives other bytes."""
    width, height = size
    image = Image.new("RGB", size, colors[0])
    image.paste(colors[1], (width // 2, 0, width, height))
    if variant:
        rng = random.Random(variant)
        side = max(8, min(size) // 8)
        image.paste(
            (rng.randrange(256), rng.randrange(256), rng.randrange(256)), (0, 0, side, side)
        )
        for _ in range(16):
            xy = (rng.randrange(width), rng.randrange(height))
            image.putpixel(xy, (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    return image


def photo_like(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """Detail like a photograph (smooth colour blotches plus grain), so decoding it is real
    work for a codec; seeded, so the same ``seed`` gives the same pixels."""
    rng = random.Random(seed)
    width, height = size
    small = (max(1, width // 16), max(1, height // 16))
    blotches = Image.frombytes("RGB", small, rng.randbytes(small[0] * small[1] * 3))
    base = blotches.resize(size, Image.Resampling.BICUBIC)
    grain = Image.frombytes("L", size, rng.randbytes(width * height)).convert("RGB")
    return Image.blend(base, grain, 0.2).filter(ImageFilter.SMOOTH)


def noise(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """Random pixels, seeded: they compress badly, so a JPEG of them is big (about 1 MB at
    900 x 900, quality 95), for uploads slow enough to watch."""
    return Image.frombytes("RGB", size, random.Random(seed).randbytes(size[0] * size[1] * 3))


def load_image(source: Path | BinaryIO) -> Image.Image:
    """Open, decode and close a picture (keeping its ``format``): no file handle left behind."""
    with Image.open(source) as image:
        image.load()
        copy = image.copy()
        copy.format = image.format
        return copy


def exif_block(
    orientation: int | None = None, datetime: str | None = None, offset: str | None = None
) -> Image.Exif:
    """EXIF with Orientation (274) in IFD0, DateTimeOriginal (36867) and OffsetTimeOriginal
    (36881) in the Exif IFD; ``datetime`` like ``"2024:05:01 10:30:00"``, offset ``"+02:00"``."""
    exif = Image.Exif()
    if orientation is not None:
        exif[ORIENTATION] = orientation
    sub = exif.get_ifd(EXIF_IFD)
    if datetime is not None:
        sub[DATETIME_ORIGINAL] = datetime
    if offset is not None:
        sub[OFFSET_TIME_ORIGINAL] = offset
    return exif


def _ready(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def make_jpeg(
    path: Path,
    size: tuple[int, int] = (320, 240),
    *,
    orientation: int | None = None,
    exif_datetime: str | None = None,
    offset: str | None = None,
    variant: int = 0,
    colors: tuple[RGB, RGB] = (LEFT, RIGHT),
    quality: int = 90,
    image: Image.Image | None = None,
    mpo: bool = False,
) -> Path:
    """A JPEG of ``pattern`` (or ``image``) with real EXIF: ``orientation`` (1..8),
    ``exif_datetime`` as DateTimeOriginal and ``offset`` as OffsetTimeOriginal. ``mpo`` writes
    a multi-picture JPEG (a black quarter-size second picture, like a phone's depth map)."""
    picture = image if image is not None else pattern(size, variant, colors)
    exif = exif_block(orientation, exif_datetime, offset).tobytes()
    if mpo:
        extra = Image.new("RGB", (max(1, picture.width // 4), max(1, picture.height // 4)))
        picture.save(
            _ready(path), "MPO", quality=quality, exif=exif, save_all=True, append_images=[extra]
        )
    else:
        picture.save(_ready(path), "JPEG", quality=quality, exif=exif)
    return path


def jpeg_bytes(
    size: tuple[int, int] = (320, 240),
    *,
    variant: int = 0,
    colors: tuple[RGB, RGB] = (LEFT, RIGHT),
    quality: int = 90,
) -> bytes:
    """The bytes of a JPEG of ``pattern`` (no EXIF, no file): a body to upload."""
    out = io.BytesIO()
    pattern(size, variant, colors).save(out, "JPEG", quality=quality)
    return out.getvalue()


def make_image(
    path: Path,
    size: tuple[int, int] = (320, 240),
    *,
    variant: int = 0,
    colors: tuple[RGB, RGB] = (LEFT, RIGHT),
    alpha: bool = False,
    frames: int = 1,
) -> Path:
    """A PNG, GIF, WebP or TIFF (format from the suffix). ``alpha`` makes the right half fully
    transparent; ``frames > 1`` makes an animation whose later frames are black."""
    picture = pattern(size, variant, colors)
    if alpha:
        mask = Image.new("L", size, 255)
        mask.paste(0, (size[0] // 2, 0, size[0], size[1]))
        picture.putalpha(mask)
    extra = [Image.new(picture.mode, size, BLACK) for _ in range(frames - 1)]
    options: dict[str, Any] = {"save_all": True, "append_images": extra} if extra else {}
    if path.suffix.lower() == ".webp":
        options["lossless"] = True
    picture.save(_ready(path), **options)
    return path


def make_png(
    path: Path, size: tuple[int, int] = (320, 240), *, variant: int = 0, alpha: bool = False
) -> Path:
    """A PNG of ``pattern`` (right half transparent with ``alpha``)."""
    return make_image(path, size, variant=variant, alpha=alpha)


def make_heic(
    path: Path,
    size: tuple[int, int] = (320, 240),
    *,
    variant: int = 0,
    exif_datetime: str | None = None,
    offset: str | None = None,
    orientation: int | None = None,
    quality: int = 80,
    image: Image.Image | None = None,
) -> Path:
    """An HEIC written by pillow-heif (libheif + x265). With ``orientation`` the file stores the
    pixels as given plus a rotation, as an iPhone does."""
    from daemon.media.images import register_heif

    register_heif()
    picture = image if image is not None else pattern(size, variant)
    exif = exif_block(orientation, exif_datetime, offset)
    picture.save(_ready(path), "HEIF", quality=quality, exif=exif.tobytes())
    return path


def make_video(
    path: Path,
    *,
    codec: str = "h264",
    size: tuple[int, int] = (320, 240),
    seconds: float = 1.0,
    fps: int = 10,
    rotation: int | None = None,
    creation_time: str | None = None,
    apple_creation_date: str | None = None,
    audio: bool = False,
    variant: int = 0,
    picture: Image.Image | None = None,
    moving: bool = False,
    grain: float = 0.0,
    preset: str = "ultrafast",
) -> Path:
    """An H.264 or HEVC clip; the container comes from the suffix (.mp4, .mov, .mkv).

    The first 5% of frames are black, the rest show ``pattern`` (or ``picture``; ``moving``
    pans it 8 px a frame and ``grain`` blends in that much changing noise, so that inter
    frames carry work and bitrate like a camera's), so a preview ~10% in is not black.
    ``rotation`` is the clockwise display rotation in the stream's display matrix (an iPhone
    portrait clip is 90, which ffprobe shows as -90); ``creation_time`` is QuickTime's
    (``2024-05-01T10:30:00Z``) and ``apple_creation_date`` the ``com.apple.quicktime.creationdate``
    an iPhone writes (``2024-05-01T12:30:00+0200``); ``audio`` adds an AAC track of silence.
    """
    encoder = {"h264": "libx264", "hevc": "libx265"}[codec]
    still = picture if picture is not None else pattern(size, variant)
    black = Image.new("RGB", size, BLACK)
    frames = max(1, round(seconds * fps))
    noise = _grain_frames(size, variant) if grain else []
    tags = {"creation_time": creation_time, "com.apple.quicktime.creationdate": apple_creation_date}
    options = {"movflags": "use_metadata_tags"} if apple_creation_date else {}
    with av.open(str(_ready(path)), "w", options=options) as out:
        out.metadata.update({key: value for key, value in tags.items() if value is not None})
        stream = out.add_stream(encoder, rate=fps)
        assert isinstance(stream, VideoStream)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": preset}
        if codec == "hevc":
            stream.options["x265-params"] = "log-level=none"
            stream.codec_context.codec_tag = "hvc1"  # what Apple players expect
        if rotation:
            stream.set_display_rotation(-rotation)  # PyAV takes counter-clockwise degrees
        sound = _audio_stream(out) if audio else None
        for index in range(frames):
            image = black if index < max(1, frames // 20) else still
            if moving:
                image = ImageChops.offset(image, index * 8, 0)
            if noise:
                image = Image.blend(image, noise[index % len(noise)], grain)
            frame = av.VideoFrame.from_image(image)  # type: ignore[no-untyped-call]
            frame.pts, frame.time_base = index, Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
        if sound is not None:
            _write_silence(out, sound, seconds)
    return path


def _grain_frames(size: tuple[int, int], seed: int, count: int = 3) -> list[Image.Image]:
    rng = random.Random(seed)
    area = size[0] * size[1]
    return [Image.frombytes("L", size, rng.randbytes(area)).convert("RGB") for _ in range(count)]


def _audio_stream(out: OutputContainer) -> AudioStream:
    stream = out.add_stream("aac", rate=AUDIO_RATE)
    stream.layout = "stereo"
    return stream


def _write_silence(out: OutputContainer, stream: AudioStream, seconds: float) -> None:
    chunk = 1024
    for start in range(0, int(AUDIO_RATE * seconds), chunk):
        frame = av.AudioFrame(format="fltp", layout="stereo", samples=chunk)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.sample_rate, frame.pts = AUDIO_RATE, start
        out.mux(stream.encode(frame))
    out.mux(stream.encode())


def make_audio(path: Path, *, seconds: float = 1.0) -> Path:
    """An AAC ``.m4a`` of stereo silence."""
    with av.open(str(_ready(path)), "w") as out:
        _write_silence(out, _audio_stream(out), seconds)
    return path


def corrupt_copy(source: Path, dest: Path, keep: float = 0.5) -> Path:
    """The first ``keep`` fraction of ``source``'s bytes: a truncated, unreadable file."""
    data = source.read_bytes()
    _ready(dest).write_bytes(data[: max(1, int(len(data) * keep))])
    return dest


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data)
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _deflate_runs(runs: list[tuple[bytes, int]]) -> bytes:
    """A zlib stream of ``count`` copies of each ``line``: each distinct block of lines is
    deflated once, after a full flush (so it refers to nothing before it), and repeated."""
    deflater = zlib.compressobj(9)
    out = [deflater.flush(zlib.Z_FULL_FLUSH)]  # the zlib header and an empty block
    cache: dict[tuple[bytes, int], bytes] = {}
    adler = 1
    for line, count in runs:
        per_block = max(1, (4 << 20) // len(line))
        blocks = [per_block] * (count // per_block) + [count % per_block]
        for rows in (n for n in blocks if n):
            key = (line, rows)
            if key not in cache:
                cache[key] = deflater.compress(line * rows) + deflater.flush(zlib.Z_FULL_FLUSH)
            out.append(cache[key])
            adler = zlib.adler32(line * rows, adler)
    end = deflater.flush(zlib.Z_FINISH)
    return b"".join(out) + end[:-4] + struct.pack(">I", adler)  # the trailer sums every copy


def make_huge_png(
    path: Path,
    size: tuple[int, int] = (13_000, 13_000),
    *,
    variant: int = 0,
    colors: tuple[RGB, RGB] = (LEFT, RIGHT),
    sixteen_bit: bool = False,
) -> Path:
    """A PNG of ``pattern`` (no dots) at any size that deflates ~1000:1 (13,000 px square:
    ~0.5 MiB, like a decompression bomb), written in about a second without ever holding the
    picture. A non-zero ``variant`` paints the left of the top eighth another (seeded) colour;
    ``sixteen_bit`` writes 16-bit RGB (a kind of PNG that is decoded whole)."""
    width, height = size
    depth = 2 if sixteen_bit else 1

    def line(left: RGB, right: RGB) -> bytes:
        def px(colour: RGB) -> bytes:
            return bytes(v for v in colour for _ in range(depth))

        return b"\x00" + px(left) * (width // 2) + px(right) * (width - width // 2)

    rng = random.Random(variant)
    marked = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
    top = height // 8 if variant else 0
    runs = [(line(marked, colors[1]), top), (line(*colors), height - top)]
    header = struct.pack(">IIBBBBB", width, height, 8 * depth, 2, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", _deflate_runs(runs))
        + _png_chunk(b"IEND", b"")
    )
    _ready(path).write_bytes(data)
    return path


# --- Camera files (issue 15): formats, metadata and pictures cameras and phones really make. ---

DATETIME = 306
DATETIME_DIGITIZED = 36868
GREY_DARK, GREY_LIGHT = 0x2000, 0xC000  # 16-bit levels: 32 and 192 on an 8-bit scale


def make_grey16(path: Path, size: tuple[int, int] = (320, 240)) -> Path:
    """A 16-bit greyscale PNG or TIFF (format from the suffix): the left half GREY_DARK, the
    right half GREY_LIGHT (what a scanner or a microscope writes)."""
    picture = Image.new("I;16", size, GREY_DARK)
    picture.paste(
        Image.new("I;16", (size[0] - size[0] // 2, size[1]), GREY_LIGHT), (size[0] // 2, 0)
    )
    picture.save(_ready(path))
    return path


def make_tiff(
    path: Path,
    size: tuple[int, int] = (320, 240),
    *,
    orientation: int = 1,
    compression: str = "raw",
) -> Path:
    """A TIFF of ``pattern`` with the Orientation tag in its first IFD (``compression`` as
    Pillow names it: raw, tiff_lzw, tiff_deflate...)."""
    pattern(size).save(
        _ready(path), "TIFF", compression=compression, tiffinfo={ORIENTATION: orientation}
    )
    return path


def make_png_with_icc(
    path: Path, size: tuple[int, int] = (320, 240), *, icc_bytes: int = 3_000_000
) -> Path:
    """A PNG of ``pattern`` carrying an ICC profile of ``icc_bytes`` (an iCCP chunk that inflates
    past Pillow's 1 MiB text-chunk limit, as some printer and camera profiles do)."""
    header = struct.pack(">I4s", icc_bytes, b"none") + b"\x02\x10\x00\x00mntrRGB XYZ "
    body = random.Random(icc_bytes).randbytes(4096) * (icc_bytes // 4096 + 1)
    pattern(size).save(_ready(path), "PNG", icc_profile=(header + body)[:icc_bytes])
    return path


def _exif_orientation_patch(data: bytes, orientation: int) -> bytes:
    """Set the Orientation entry of the (big-endian, as Pillow writes it) EXIF inside ``data``."""
    entry = struct.pack(">HHIH", ORIENTATION, 3, 1, 1)
    at = data.index(entry)
    return data[: at + 8] + struct.pack(">H", orientation) + data[at + 10 :]


def make_heic_exif_rotated(
    path: Path, size: tuple[int, int] = (400, 200), *, orientation: int = 6, variant: int = 0
) -> Path:
    """An HEIC whose pixels are stored as given and whose only rotation is EXIF ``orientation``
    (no ``irot``/``imir`` box), as some iPhone exports are."""
    from daemon.media.images import register_heif

    register_heif()
    out = io.BytesIO()
    exif = exif_block(1).tobytes()  # a placeholder: pillow-heif would turn 6 into an irot box
    pattern(size, variant).save(out, "HEIF", quality=80, exif=exif)
    _ready(path).write_bytes(_exif_orientation_patch(out.getvalue(), orientation))
    return path


def _box(kind: bytes, payload: bytes, full: tuple[int, int] | None = None) -> bytes:
    head = b"" if full is None else struct.pack(">I", full[0] << 24 | full[1])
    return struct.pack(">I4s", 8 + len(head) + len(payload), kind) + head + payload


def _hevc_tile(size: int, colour: RGB) -> tuple[bytes, bytes, bytes]:
    """(hvcC, colr, coded data) of a ``size`` px square HEIC of one colour, by pillow-heif."""
    from daemon.media.bmff import heif_items
    from daemon.media.images import register_heif

    register_heif()
    out = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(out, "HEIF", quality=60)
    items = heif_items(out)
    assert items is not None
    props = items.item_properties(items.primary)
    return props[b"hvcC"], props[b"colr"], items.read(out, items.primary)


def make_huge_heic(
    path: Path, size: tuple[int, int] = (16_320, 12_240), *, tile: int = 512
) -> Path:
    """A HEIC grid of ``size`` (a Galaxy's 200 MP is 16,320 x 12,240) made of ``tile`` px HEVC
    tiles: every tile of the left half points at the same coded LEFT square, every tile of the
    right half at one RIGHT square, so the file is a few KiB yet decodes to the whole picture
    (16,320 x 12,240 x 3 bytes = 571 MiB of RGB if decoded whole)."""
    width, height = size
    cols, rows = -(-width // tile), -(-height // tile)
    (hvcc_l, colr, left), (hvcc_r, _, right) = _hevc_tile(tile, LEFT), _hevc_tile(tile, RIGHT)
    tiles = [2 + i for i in range(rows * cols)]
    grid = struct.pack(">BBBBII", 0, 1, rows - 1, cols - 1, width, height)
    infe = b"".join(
        _box(b"infe", struct.pack(">HH4s", item, 0, kind) + b"\0", (2, 1 if item > 1 else 0))
        for item, kind in [(1, b"grid"), *((t, b"hvc1") for t in tiles)]
    )
    ipco = _box(
        b"ipco",
        _box(b"hvcC", hvcc_l)
        + _box(b"hvcC", hvcc_r)
        + _box(b"ispe", struct.pack(">II", tile, tile), (0, 0))
        + _box(b"ispe", struct.pack(">II", width, height), (0, 0))
        + _box(b"colr", colr),
    )
    assoc = [struct.pack(">HBBB", 1, 2, 4, 5)] + [
        struct.pack(">HBBB", t, 2, 0x80 | (1 if (t - 2) % cols < cols / 2 else 2), 3) for t in tiles
    ]
    ipma = _box(b"ipma", struct.pack(">I", 1 + len(tiles)) + b"".join(assoc), (0, 0))
    dimg = _box(
        b"dimg", struct.pack(">HH", 1, len(tiles)) + b"".join(struct.pack(">H", t) for t in tiles)
    )

    def meta(mdat: int) -> bytes:
        spots = [
            (mdat, len(grid)),
            (mdat + len(grid), len(left)),
            (mdat + len(grid) + len(left), len(right)),
        ]
        entries = [struct.pack(">HHHII", 1, 0, 1, *spots[0])] + [
            struct.pack(">HHHII", t, 0, 1, *spots[1 if (t - 2) % cols < cols / 2 else 2])
            for t in tiles
        ]
        return _box(
            b"meta",
            _box(b"hdlr", struct.pack(">I4s12x", 0, b"pict") + b"\0", (0, 0))
            + _box(b"pitm", struct.pack(">H", 1), (0, 0))
            + _box(b"iinf", struct.pack(">H", 1 + len(tiles)) + infe, (0, 0))
            + _box(b"iref", dimg, (0, 0))
            + _box(b"iprp", ipco + ipma)
            + _box(
                b"iloc", struct.pack(">BBH", 0x44, 0, 1 + len(tiles)) + b"".join(entries), (0, 0)
            ),
            (0, 0),
        )

    ftyp = _box(b"ftyp", b"heic" + bytes(4) + b"mif1heic")
    start = len(ftyp) + len(meta(0)) + 8
    _ready(path).write_bytes(ftyp + meta(start) + _box(b"mdat", grid + left + right))
    return path


def make_mpeg(
    path: Path,
    *,
    codec: str = "mpeg2video",
    size: tuple[int, int] = (320, 240),
    seconds: float = 1.0,
    fps: int = 25,
    audio: bool = True,
) -> Path:
    """An MPEG program stream (``.mpg``/``.mpeg``, as a camcorder writes) of ``pattern`` after a
    black first 5%, in MPEG-1 or MPEG-2 video with MPEG audio layer II."""
    frames = max(1, round(seconds * fps))
    with av.open(str(_ready(path)), "w", format="mpeg") as out:
        stream = out.add_stream(codec, rate=fps)
        assert isinstance(stream, VideoStream)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        sound = out.add_stream("mp2", rate=AUDIO_RATE) if audio else None  # every stream first
        if isinstance(sound, AudioStream):
            sound.layout = "stereo"
        for index in range(frames):
            black = index < max(1, frames // 20)
            picture = Image.new("RGB", size, BLACK) if black else pattern(size)
            frame = av.VideoFrame.from_image(picture)  # type: ignore[no-untyped-call]
            frame.pts, frame.time_base = index, Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
        if isinstance(sound, AudioStream):
            _write_silence_packed(out, sound, seconds)
    return path


def _write_silence_packed(out: OutputContainer, stream: AudioStream, seconds: float) -> None:
    chunk = 1152
    for start in range(0, int(AUDIO_RATE * seconds), chunk):
        frame = av.AudioFrame(format="s16", layout="stereo", samples=chunk)
        frame.planes[0].update(bytes(frame.planes[0].buffer_size))
        frame.sample_rate, frame.pts = AUDIO_RATE, start
        out.mux(stream.encode(frame))
    out.mux(stream.encode())


def make_sparse_keyframes(
    path: Path,
    *,
    seconds: float = 40.0,
    fps: int = 25,
    size: tuple[int, int] = (64, 48),
    switch_at: float = 3.5,
) -> Path:
    """An H.264 MP4 with one keyframe only (the first; a GOP as long as the clip, as a screen
    recorder or a security camera writes): green until ``switch_at`` seconds, ``pattern`` after,
    so a thumbnail ~10% in (4 s of 40) shows the pattern and one taken early shows green."""
    frames = round(seconds * fps)
    green = Image.new("RGB", size, (40, 200, 40))
    with av.open(str(_ready(path)), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        assert isinstance(stream, VideoStream)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {
            "preset": "ultrafast",
            "x264-params": f"keyint={frames}:min-keyint={frames}:scenecut=0",
        }
        for index in range(frames):
            picture = green if index < switch_at * fps else pattern(size)
            frame = av.VideoFrame.from_image(picture)  # type: ignore[no-untyped-call]
            frame.pts, frame.time_base = index, Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def make_mp3(path: Path, *, seconds: float = 1.0) -> Path:
    """An MP3 of stereo silence (FFmpeg decodes it with ``mp3float``; the codec is ``mp3``)."""
    with av.open(str(_ready(path)), "w") as out:
        stream = out.add_stream("libmp3lame", rate=44_100)
        assert isinstance(stream, AudioStream)
        stream.layout = "stereo"
        chunk = 1152
        for start in range(0, int(44_100 * seconds), chunk):
            frame = av.AudioFrame(format="s16p", layout="stereo", samples=chunk)
            for plane in frame.planes:
                plane.update(bytes(plane.buffer_size))
            frame.sample_rate, frame.pts = 44_100, start
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def make_msmpeg4_avi(
    path: Path, *, size: tuple[int, int] = (320, 240), seconds: float = 1.0
) -> Path:
    """An AVI in Microsoft MPEG-4 v3 (DivX ;-) era cameras; FFmpeg's decoder is ``msmpeg4``, the
    codec ``msmpeg4v3``) of ``pattern``."""
    fps = 10
    with av.open(str(_ready(path)), "w") as out:
        stream = out.add_stream("msmpeg4", rate=fps)
        assert isinstance(stream, VideoStream)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for index in range(max(1, round(seconds * fps))):
            frame = av.VideoFrame.from_image(pattern(size))  # type: ignore[no-untyped-call]
            frame.pts, frame.time_base = index, Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def xmp_packet(**dates: str) -> bytes:
    """An XMP packet with the given dates as attributes, e.g. ``xmp_CreateDate="2024-02-10T14:21:33-08:00"``
    (``prefix_Name`` for ``prefix:Name``; xmp, photoshop and exif namespaces are declared)."""
    attributes = " ".join(f'{key.replace("_", ":", 1)}="{value}"' for key, value in dates.items())
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" xmlns:exif="http://ns.adobe.com/exif/1.0/" '
        f"{attributes}/></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    ).encode()


def make_dated_jpeg(
    path: Path,
    size: tuple[int, int] = (320, 240),
    *,
    modified: str | None = None,
    digitized: str | None = None,
    xmp: bytes | None = None,
) -> Path:
    """A JPEG of ``pattern`` with only the dates given: EXIF DateTime (306, the last edit),
    DateTimeDigitized (36868) and/or an XMP packet, and no DateTimeOriginal."""
    exif = Image.Exif()
    if modified is not None:
        exif[DATETIME] = modified
    if digitized is not None:
        exif.get_ifd(EXIF_IFD)[DATETIME_DIGITIZED] = digitized
    dated = modified is not None or digitized is not None
    options: dict[str, Any] = {"exif": exif.tobytes()} if dated else {}
    if xmp is not None:
        options["xmp"] = xmp
    pattern(size).save(_ready(path), "JPEG", quality=90, **options)
    return path


def make_xmp_heic(path: Path, size: tuple[int, int] = (320, 240), *, xmp: bytes) -> Path:
    """An HEIC with no EXIF date and an XMP packet (as an Apple Vision Pro writes)."""
    from daemon.media.images import register_heif

    register_heif()
    pattern(size).save(_ready(path), "HEIF", quality=80, xmp=xmp)
    return path


BYTE, ASCII, SHORT, LONG, RATIONAL, UNDEFINED, SRATIONAL = 1, 2, 3, 4, 5, 7, 10


def _tiff_value(kind: int, value: Any) -> tuple[bytes, int]:
    if kind in (BYTE, UNDEFINED):
        return bytes(value), len(value)
    if kind == ASCII:
        data = value.encode() + b"\0"
        return data, len(data)
    if kind in (SHORT, LONG):
        return struct.pack(f"<{len(value)}{'H' if kind == SHORT else 'I'}", *value), len(value)
    flat = [number for pair in value for number in pair]
    return struct.pack(f"<{len(flat)}{'I' if kind == RATIONAL else 'i'}", *flat), len(value)


def _tiff_blob(out: bytearray, data: bytes) -> int:
    out += b"\0" * (len(out) % 2)
    start = len(out)
    out += data
    return start


def _tiff_ifd(out: bytearray, entries: dict[int, tuple[int, Any]], next_ifd: int = 0) -> int:
    """Append a little-endian IFD (values over 4 bytes right after it); return its offset."""
    out += b"\0" * (len(out) % 2)
    start = len(out)
    items = sorted(entries.items())
    extra_at = start + 2 + 12 * len(items) + 4
    head, extra = bytearray(struct.pack("<H", len(items))), bytearray()
    for tag, (kind, value) in items:
        data, count = _tiff_value(kind, value)
        if len(data) <= 4:
            field = data.ljust(4, b"\0")
        else:
            field = struct.pack("<I", extra_at + len(extra))
            extra += data + b"\0" * (len(data) % 2)
        head += struct.pack("<HHI", tag, kind, count) + field
    out += head + struct.pack("<I", next_ifd) + extra
    return start


def _jpeg_bytes(picture: Image.Image, exif: Image.Exif | None = None) -> bytes:
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=85, **({"exif": exif.tobytes()} if exif else {}))
    return out.getvalue()


def _strip(width: int, height: int, offset: int, count: int) -> dict[int, tuple[int, Any]]:
    return {
        256: (LONG, [width]),
        257: (LONG, [height]),
        273: (LONG, [offset]),
        278: (LONG, [height]),
        279: (LONG, [count]),
    }


def make_raw_tiff(
    path: Path,
    *,
    sensor: tuple[int, int] = (1536, 1024),
    preview: tuple[int, int] | None = (768, 512),
    orientation: int = 1,
    exif_datetime: str | None = None,
    offset: str | None = None,
    make: str = "Media-Sync",
    model: str = "Test Camera",
    dng: bool | None = None,
    magic: bytes = b"II*\x00",
    thumbnail: bool = True,
) -> Path:
    """A TIFF-based camera raw: IFD0 a 160 px RGB thumbnail, SubIFDs the sensor's picture
    (``sensor`` px, 16-bit Bayer CFA, zeros) and a ``preview`` JPEG of ``pattern``, an Exif IFD
    with DateTimeOriginal. ``dng`` (default: the suffix is .dng) adds the DNG tags LibRaw needs;
    ``magic`` is the header (``IIRO`` for Olympus ORF, ``IIU\\0`` for Panasonic RW2). Without
    ``thumbnail`` or ``preview`` IFD0 is the sensor's picture itself: nothing to preview."""
    dng = path.suffix.lower() == ".dng" if dng is None else dng
    out = bytearray(magic + bytes(4))
    width, height = sensor
    raw_at = _tiff_blob(out, bytes(width * height * 2))
    raw = {
        254: (LONG, [0]),
        258: (SHORT, [16]),
        259: (SHORT, [1]),
        262: (SHORT, [32803]),
        277: (SHORT, [1]),
        284: (SHORT, [1]),
        33421: (SHORT, [2, 2]),
        33422: (BYTE, [0, 1, 1, 2]),
        50717: (LONG, [65535]),
        **_strip(width, height, raw_at, width * height * 2),
    }
    subifds = [_tiff_ifd(out, raw)] if thumbnail or preview else []
    if preview is not None:
        jpeg = _jpeg_bytes(pattern(preview))
        at = _tiff_blob(out, jpeg)
        entries = {254: (LONG, [1]), 258: (SHORT, [8, 8, 8]), 259: (SHORT, [7]), 262: (SHORT, [6])}
        entries |= {277: (SHORT, [3]), **_strip(*preview, at, len(jpeg))}
        subifds.append(_tiff_ifd(out, entries))
    exif = {36867: (ASCII, exif_datetime)} if exif_datetime else {}
    if offset:
        exif[36881] = (ASCII, offset)
    exif_at = _tiff_ifd(out, exif or {36864: (UNDEFINED, b"0232")})
    thumb = pattern((160, 160 * height // width)).tobytes()
    thumb_at = _tiff_blob(out, thumb)
    ifd0: dict[int, tuple[int, Any]] = {
        254: (LONG, [1]),
        258: (SHORT, [8, 8, 8]),
        259: (SHORT, [1]),
        262: (SHORT, [2]),
        271: (ASCII, make),
        272: (ASCII, model),
        274: (SHORT, [orientation]),
        277: (SHORT, [3]),
        284: (SHORT, [1]),
        330: (LONG, subifds),
        34665: (LONG, [exif_at]),
        **_strip(160, 160 * height // width, thumb_at, len(thumb)),
    }
    if not subifds:  # the sensor's picture in IFD0, with the camera's tags
        del ifd0[330]
        ifd0 |= raw
    if dng:
        ifd0 |= {
            50706: (BYTE, [1, 4, 0, 0]),
            50707: (BYTE, [1, 1, 0, 0]),
            50708: (ASCII, f"{make} {model}"),
            50721: (
                SRATIONAL,
                [(1, 1), (0, 1), (0, 1), (0, 1), (1, 1), (0, 1), (0, 1), (0, 1), (1, 1)],
            ),
            50728: (RATIONAL, [(1, 1), (1, 1), (1, 1)]),
            50778: (SHORT, [21]),
        }
    out[4:8] = struct.pack("<I", _tiff_ifd(out, ifd0))
    _ready(path).write_bytes(bytes(out))
    return path


def make_raf(
    path: Path,
    *,
    sensor: tuple[int, int] = (1536, 1024),
    preview: tuple[int, int] = (768, 512),
    exif_datetime: str | None = None,
    orientation: int = 1,
) -> Path:
    """A Fujifilm RAF: its header, the embedded JPEG (``pattern`` at ``preview`` px, with EXIF
    DateTimeOriginal and Orientation as Fujifilm writes them) and a CFA header whose
    RawImageFullSize (0x100) and RawImageCroppedSize (0x111) say ``sensor``; no pixel data."""
    width, height = sensor
    jpeg = _jpeg_bytes(pattern(preview), exif_block(orientation, exif_datetime))
    cfa = struct.pack(">I", 2)
    for tag in (0x100, 0x111):
        cfa += struct.pack(">HHHH", tag, 4, height, width)
    head = b"FUJIFILMCCD-RAW 0201FF383501" + b"X-T4".ljust(32, b"\0") + b"0100" + bytes(20)
    jpeg_at = len(head) + 7 * 4 + 4
    cfa_at = jpeg_at + len(jpeg)
    index = struct.pack(">6I", jpeg_at, len(jpeg), cfa_at, len(cfa), cfa_at + len(cfa), 0)
    _ready(path).write_bytes(head + index + bytes(4 + 4) + jpeg + cfa)
    return path

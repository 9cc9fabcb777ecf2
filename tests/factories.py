"""Real media files for tests: JPEG (with EXIF), PNG/GIF/WebP/TIFF, HEIC, H.264/HEVC video, AAC.

Every factory writes to the path it is given (parents created), returns that path, and is
deterministic: the same arguments give the same bytes (for de-dup tests), and ``variant=n``
gives different bytes of the same kind. Pictures are split in two: the left half ``LEFT`` (red),
the right half ``RIGHT`` (blue), so a test can tell which way up a thumbnail is.
"""

from __future__ import annotations

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

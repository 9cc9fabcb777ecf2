"""Real media files for tests: JPEG (with EXIF), PNG, HEIC, H.264/HEVC video, AAC audio.

Every factory is deterministic for the same arguments (so de-dup tests can make the same bytes
twice) and takes a ``variant`` to make different bytes of the same kind.
"""

from __future__ import annotations

import random
from fractions import Fraction
from pathlib import Path

from PIL import Image

LEFT = (220, 40, 40)  # red
RIGHT = (40, 60, 220)  # blue


def pattern(
    size: tuple[int, int],
    variant: int = 0,
    left: tuple[int, int, int] = LEFT,
    right: tuple[int, int, int] = RIGHT,
) -> Image.Image:
    """Left half ``left``, right half ``right``, with a few variant-seeded dots for texture."""
    width, height = size
    image = Image.new("RGB", size, left)
    image.paste(right, (width // 2, 0, width, height))
    rng = random.Random(variant)
    pixels = image.load()
    assert pixels is not None
    for _ in range(16):
        x, y = rng.randrange(width), rng.randrange(height)
        pixels[x, y] = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
    return image


def make_jpeg(
    path: Path,
    size: tuple[int, int] = (320, 240),
    *,
    orientation: int | None = None,
    exif_datetime: str | None = None,
    offset: str | None = None,
    variant: int = 0,
    quality: int = 90,
    image: Image.Image | None = None,
) -> Path:
    """A JPEG; ``orientation`` sets EXIF tag 274, ``exif_datetime`` DateTimeOriginal
    (``"2024:05:01 10:30:00"``) and ``offset`` OffsetTimeOriginal (``"+02:00"``)."""
    picture = image or pattern(size, variant)
    exif = Image.Exif()
    if orientation is not None:
        exif[274] = orientation
    if exif_datetime is not None or offset is not None:
        sub = exif.get_ifd(0x8769)
        if exif_datetime is not None:
            sub[36867] = exif_datetime
        if offset is not None:
            sub[36881] = offset
    path.parent.mkdir(parents=True, exist_ok=True)
    picture.save(path, "JPEG", quality=quality, exif=exif.tobytes())
    return path


def make_png(path: Path, size: tuple[int, int] = (320, 240), *, variant: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pattern(size, variant).save(path, "PNG")
    return path


def make_heic(
    path: Path,
    size: tuple[int, int] = (320, 240),
    *,
    variant: int = 0,
    exif_datetime: str | None = None,
    orientation: int | None = None,
    quality: int = 80,
) -> Path:
    """An HEIC written by pillow-heif (libheif + x265)."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    exif = Image.Exif()
    if orientation is not None:
        exif[274] = orientation
    if exif_datetime is not None:
        exif.get_ifd(0x8769)[36867] = exif_datetime
    path.parent.mkdir(parents=True, exist_ok=True)
    pattern(size, variant).save(path, "HEIF", quality=quality, exif=exif.tobytes())
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
    audio: bool = False,
    variant: int = 0,
    preset: str = "ultrafast",
) -> Path:
    """An H.264 or HEVC clip (container from the suffix: .mp4, .mov, .mkv).

    The first 5% of frames are black, the rest show the left/right pattern, so a preview taken
    ~10% in is not black. ``rotation`` is the display rotation in clockwise degrees (an
    iPhone portrait clip is 90); ``creation_time`` is QuickTime's (``2024-05-01T10:30:00Z``).
    """
    import av

    encoder = {"h264": "libx264", "hevc": "libx265"}[codec]
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = max(1, round(seconds * fps))
    black_frames = max(1, frames // 20)
    with av.open(str(path), "w") as out:
        if creation_time is not None:
            out.metadata["creation_time"] = creation_time
        stream = out.add_stream(encoder, rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": preset}
        if codec == "hevc":
            stream.options["x265-params"] = "log-level=none"
            stream.codec_context.codec_tag = "hvc1"  # what Apple players expect
        if rotation:
            stream.set_display_rotation(-rotation)  # PyAV takes counter-clockwise degrees
        sound = None
        if audio:
            sound = out.add_stream("aac", rate=48_000)
            sound.layout = "stereo"
        picture = pattern(size, variant)
        black = Image.new("RGB", size, (0, 0, 0))
        for index in range(frames):
            frame = av.VideoFrame.from_image(black if index < black_frames else picture)
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
        if sound is not None:
            _write_silence(out, sound, seconds)
    return path


def _write_silence(out: object, stream: object, seconds: float) -> None:
    import av

    samples = int(48_000 * seconds)
    chunk = 1024
    for start in range(0, samples, chunk):
        frame = av.AudioFrame(format="fltp", layout="stereo", samples=chunk)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.sample_rate = 48_000
        frame.pts = start
        for packet in stream.encode(frame):  # type: ignore[attr-defined]
            out.mux(packet)  # type: ignore[attr-defined]
    for packet in stream.encode():  # type: ignore[attr-defined]
        out.mux(packet)  # type: ignore[attr-defined]


def make_audio(path: Path, *, seconds: float = 1.0) -> Path:
    """An AAC .m4a of silence."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=48_000)
        stream.layout = "stereo"
        _write_silence(out, stream, seconds)
    return path

"""Thumbnails: 640 px JPEGs, orientation applied, with the fast paths each format allows."""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps

from daemon.conventions import fsync_dir, temp_path_for
from daemon.errors import CorruptFile, InvalidInput, PayloadTooLarge, UnsupportedMediaType
from daemon.media.images import open_image
from daemon.mediatypes import media_type

MAX_SIDE = 640
QUALITY = 80
VIDEO_POSITION = 0.10  # a frame ~10% in, past black leaders and fades
MAX_DECODED_FRAMES = 90  # after the keyframe seek, decode at most this many to reach the target


@dataclass(frozen=True)
class ThumbnailInfo:
    path: Path
    width: int
    height: int


def _fit(image: Image.Image, max_side: int) -> Image.Image:
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.BICUBIC, reducing_gap=2.0)
    return image.convert("RGB") if image.mode != "RGB" else image


def image_thumbnail(source: Path, max_side: int = MAX_SIDE) -> Image.Image:
    """Decode at reduced scale where the codec allows (JPEG draft), then apply EXIF orientation."""
    try:
        with open_image(source) as image:
            if image.format == "JPEG":
                image.draft("RGB", (max_side, max_side))
            image.seek(0)
            upright = ImageOps.exif_transpose(image)
            result = _fit(upright if upright is not None else image, max_side)
            result.load()
            return result
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise CorruptFile(f"{source.name}: cannot decode image ({exc})") from exc


def video_thumbnail(source: Path, max_side: int = MAX_SIDE) -> Image.Image:
    """A frame ~10% into the clip: seek to the keyframe before it, decode forward, rotate."""
    import av

    try:
        container = av.open(str(source), metadata_errors="ignore")
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise CorruptFile(f"{source.name}: not a readable video ({exc})") from exc
    with container:
        if not container.streams.video:
            raise UnsupportedMediaType(f"{source.name}: no video stream to preview")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        frame = _frame_near(container, stream)
        if frame is None:
            raise CorruptFile(f"{source.name}: no decodable video frame")
        width, height = frame.width, frame.height
        scale = min(1.0, max_side / max(width, height))
        image: Image.Image = frame.reformat(
            width=max(1, round(width * scale)), height=max(1, round(height * scale)), format="rgb24"
        ).to_image()
        rotation = round(float(frame.rotation or 0))
    if rotation % 360:
        image = image.rotate(rotation, expand=True)  # counter-clockwise, as the matrix says
    return image


def _frame_near(container: Any, stream: Any) -> Any:
    import av

    duration = container.duration / 1_000_000 if container.duration else 0.0
    target = duration * VIDEO_POSITION
    first = None
    try:
        if target > 0 and stream.time_base:
            container.seek(
                int(target / stream.time_base), stream=stream, backward=True, any_frame=False
            )
        for count, frame in enumerate(container.decode(stream)):
            first = first or frame
            if frame.time is None or frame.time >= target or count >= MAX_DECODED_FRAMES:
                return frame
    except (av.FFmpegError, ValueError):
        pass
    return first


def render(source: Path, max_side: int = MAX_SIDE) -> Image.Image:
    known = media_type(source)
    if known is None or known.kind == "audio":
        raise UnsupportedMediaType(f"{source.name}: no thumbnail for this kind of file")
    if known.kind == "video":
        return video_thumbnail(source, max_side)
    return image_thumbnail(source, max_side)


def _write_jpeg(image: Image.Image, dest: Path, quality: int) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path_for(dest.parent, dest.name)
    try:
        with open(temp, "xb") as handle:
            image.save(handle, "JPEG", quality=quality, optimize=False)
        os.chmod(temp, 0o644)
        os.replace(temp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    fsync_dir(dest.parent)


def make_thumbnail(
    src: Path, dest: Path, *, max_side: int = MAX_SIDE, quality: int = QUALITY
) -> ThumbnailInfo:
    """Write ``dest`` (JPEG, longest side <= max_side) atomically from ``src``."""
    image = render(src, max_side)
    _write_jpeg(image, dest, quality)
    return ThumbnailInfo(dest, image.width, image.height)


def validate_client_thumbnail(data: bytes, max_bytes: int) -> bytes:
    """Check client-made thumbnail bytes are a real JPEG/PNG/WebP; return a <=640 px JPEG."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"thumbnail is larger than {max_bytes} bytes")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in {"JPEG", "PNG", "WEBP"}:
                raise InvalidInput(f"thumbnail must be JPEG, PNG or WebP, not {probe.format}")
            if probe.width * probe.height > 40_000_000:
                raise InvalidInput("thumbnail has too many pixels")
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            fitted = _fit(ImageOps.exif_transpose(image) or image, MAX_SIDE)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise InvalidInput(f"thumbnail is not a valid image ({exc})") from exc
    out = io.BytesIO()
    fitted.save(out, "JPEG", quality=QUALITY)
    return out.getvalue()

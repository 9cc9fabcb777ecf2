"""Metadata extraction: kind, size, duration, codecs, frame rate, rotation and capture time."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from daemon.errors import CorruptFile, UnsupportedMediaType
from daemon.media.images import (
    DATETIME,
    DATETIME_ORIGINAL,
    EXIF_IFD,
    OFFSET_TIME_ORIGINAL,
    ORIENTATION,
    ORIENTATION_DEGREES,
    open_image,
)
from daemon.mediatypes import media_type


@dataclass(frozen=True)
class MediaInfo:
    """What we know about one media file. ``rotation`` is clockwise degrees to display upright;
    ``captured_at`` is ISO-8601 (``Z`` for UTC, an offset when EXIF has one, else local time)."""

    kind: str
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    video_codec: str | None = None
    frame_rate: float | None = None
    audio_codec: str | None = None
    rotation: int = 0
    captured_at: str | None = None
    captured_from: str = "mtime"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _mtime_iso(path: Path) -> str:
    stamp = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    return stamp.isoformat(timespec="seconds").replace("+00:00", "Z")


def _exif_time(raw: object, offset: object) -> str | None:
    if not isinstance(raw, str):
        return None
    try:
        moment = datetime.strptime(raw.strip("\x00 ").strip(), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    text = moment.isoformat(timespec="seconds")
    if isinstance(offset, str) and len(offset.strip("\x00 ")) == 6:
        text += offset.strip("\x00 ")
    return text


def image_info(path: Path) -> MediaInfo:
    try:
        with open_image(path) as image:
            width, height = image.size
            exif = image.getexif()
    except (OSError, ValueError, SyntaxError) as exc:
        raise CorruptFile(f"{path.name}: not a readable image ({exc})") from exc
    sub = exif.get_ifd(EXIF_IFD) if exif else {}
    captured = _exif_time(sub.get(DATETIME_ORIGINAL), sub.get(OFFSET_TIME_ORIGINAL)) or (
        _exif_time(exif.get(DATETIME), None) if exif else None
    )
    orientation = exif.get(ORIENTATION, 1) if exif else 1
    return MediaInfo(
        kind="image",
        width=width,
        height=height,
        rotation=ORIENTATION_DEGREES.get(int(orientation), 0),
        captured_at=captured or _mtime_iso(path),
        captured_from="exif" if captured else "mtime",
    )


def _quicktime_time(value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment.year < 1971:  # QuickTime's zero epoch (1904) means "not set"
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def av_info(path: Path, kind: str) -> MediaInfo:
    import av

    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise CorruptFile(f"{path.name}: not a readable {kind} file ({exc})") from exc
    with container:
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        if video is None and audio is None:
            raise CorruptFile(f"{path.name}: no audio or video stream")
        duration = container.duration / 1_000_000 if container.duration else None
        created = _quicktime_time(container.metadata.get("creation_time")) or (
            _quicktime_time(video.metadata.get("creation_time")) if video else None
        )
        info: dict[str, Any] = {
            "kind": "video" if video is not None else "audio",
            "duration": round(duration, 3) if duration else None,
            "audio_codec": audio.codec_context.name if audio is not None else None,
            "captured_at": created or _mtime_iso(path),
            "captured_from": "quicktime" if created else "mtime",
        }
        if video is not None:
            rate = video.average_rate or video.guessed_rate
            info.update(
                width=video.codec_context.width or None,
                height=video.codec_context.height or None,
                video_codec=video.codec_context.name,
                frame_rate=round(float(rate), 3) if rate else None,
                rotation=_rotation(container, video),
            )
    return MediaInfo(**info)


def _rotation(container: Any, video: Any) -> int:
    """Clockwise display rotation from the first frame's display matrix (iPhone clips)."""
    try:
        for frame in container.decode(video):
            return round(-float(frame.rotation)) % 360
    except Exception:
        return 0
    return 0


def extract_metadata(path: Path) -> MediaInfo:
    """Metadata for any accepted media file; CorruptFile when it cannot be parsed."""
    known = media_type(path)
    if known is None:
        raise UnsupportedMediaType(f"{path.name}: not a media file media-sync reads")
    if not os.path.isfile(path):
        raise CorruptFile(f"{path.name}: not a regular file")
    if known.kind == "image":
        return image_info(path)
    return av_info(path, known.kind)

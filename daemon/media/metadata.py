"""Metadata extraction: kind, size, duration, codecs, frame rate, rotation and capture time."""

from __future__ import annotations

import os
import struct
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from av.audio.stream import AudioStream
from av.container import InputContainer
from av.video.stream import VideoStream
from PIL import Image

from daemon.errors import CorruptFile, UnsupportedMediaType
from daemon.media.budget import DecodeBudget
from daemon.media.capture import CapturedFrom, image_xmp, still_capture, utc_iso
from daemon.media.decodeplan import DIRECT_BUDGET, check_cap, video_peak
from daemon.media.images import (
    ORIENTATION_DEGREES,
    header_exif,
    open_image,
    stored_orientation,
    stored_size,
)
from daemon.media.raw import raw_info
from daemon.media.reasons import failure
from daemon.media.video import codec_name, open_video, rotation_of, video_stream
from daemon.mediatypes import Kind, is_raw, media_type

# QuickTime keys holding the capture time, best first: Apple's carries the local offset.
QUICKTIME_KEYS = ("com.apple.quicktime.creationdate", "creation_time")


@dataclass(frozen=True)
class MediaInfo:
    """What we know about one media file.

    ``width``/``height`` are as stored; ``rotation`` is the clockwise degrees (0/90/180/270) to
    display it upright, so a portrait iPhone clip is 1920x1080 with rotation 90.
    ``captured_at`` is ISO-8601 UTC (``2024-05-01T08:30:00Z``).
    """

    kind: Kind
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    video_codec: str | None = None
    frame_rate: float | None = None
    audio_codec: str | None = None
    rotation: int = 0
    captured_at: str | None = None
    captured_from: CapturedFrom = "mtime"

    @property
    def display_size(self) -> tuple[int, int] | None:
        """Width and height as shown, rotation applied."""
        if self.width is None or self.height is None:
            return None
        if self.rotation in (90, 270):
            return self.height, self.width
        return self.width, self.height

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _mtime_iso(path: Path) -> str:
    return utc_iso(datetime.fromtimestamp(path.stat().st_mtime, UTC))


def image_info(path: Path) -> MediaInfo:
    """Headers only: Pillow (and pillow-heif) read size and EXIF without decoding pixels."""
    if is_raw(path):
        return _raw_info(path)
    try:
        with open_image(path) as image:
            width, height = stored_size(image)
            orientation = stored_orientation(image)
            captured = still_capture(header_exif(image), image_xmp(image))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise CorruptFile(failure(path, "not a readable image", exc)) from exc
    return MediaInfo(
        kind="image",
        width=width,
        height=height,
        rotation=ORIENTATION_DEGREES[orientation],
        captured_at=captured[0] if captured else _mtime_iso(path),
        captured_from=captured[1] if captured else "mtime",
    )


def _raw_info(path: Path) -> MediaInfo:
    """A camera raw: the sensor's size (not its preview's), orientation and capture time."""
    try:
        raw = raw_info(path)
    except (OSError, ValueError, struct.error) as exc:
        raise CorruptFile(failure(path, "not a readable raw file", exc)) from exc
    assert raw.size is not None
    return MediaInfo(
        kind="image",
        width=raw.size[0],
        height=raw.size[1],
        rotation=ORIENTATION_DEGREES[raw.orientation],
        captured_at=raw.captured[0] if raw.captured else _mtime_iso(path),
        captured_from=raw.captured[1] if raw.captured else "mtime",
    )


def quicktime_time(value: object) -> str | None:
    """QuickTime/Matroska creation time as UTC; None when absent or QuickTime's zero (1904)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment.year < 1971:
        return None
    return utc_iso(moment)


def _creation_time(container: InputContainer, video: VideoStream | None) -> str | None:
    for metadata in (container.metadata, video.metadata if video is not None else {}):
        for key in QUICKTIME_KEYS:
            found = quicktime_time(metadata.get(key))
            if found:
                return found
    return None


def _duration(container: InputContainer, stream: VideoStream | AudioStream | None) -> float | None:
    if container.duration:
        return round(container.duration / 1_000_000, 3)
    if stream is not None and stream.duration and stream.time_base:
        return round(float(stream.duration * stream.time_base), 3)
    return None


def _video_fields(
    path: Path, container: InputContainer, video: VideoStream, budget: DecodeBudget
) -> dict[str, Any]:
    rate = video.average_rate or video.guessed_rate
    size = (video.codec_context.width or 0, video.codec_context.height or 0)
    peak = video_peak(*size)
    check_cap(path.name, size, peak, budget.capacity)
    with budget.hold(peak):  # the display matrix comes with a decoded frame
        rotation = rotation_of(container, video)
    return {
        "width": video.codec_context.width or None,
        "height": video.codec_context.height or None,
        "video_codec": codec_name(video),
        "frame_rate": round(float(rate), 3) if rate else None,
        "rotation": rotation,
    }


def av_info(path: Path, kind: Kind, budget: DecodeBudget | None = None) -> MediaInfo:
    """Container headers via PyAV; only the display matrix costs one decoded frame, decoded
    while holding its estimated peak in ``budget``."""
    with open_video(path, f"not a readable {kind} file") as container:
        video = video_stream(container)
        audio = container.streams.audio[0] if container.streams.audio else None
        if video is None and audio is None:
            raise CorruptFile(f"{path.name}: no audio or video stream")
        created = _creation_time(container, video)
        info: dict[str, Any] = {
            "kind": "video" if video is not None else "audio",
            "duration": _duration(container, video or audio),
            "audio_codec": codec_name(audio) if audio is not None else None,
            "captured_at": created or _mtime_iso(path),
            "captured_from": "quicktime" if created else "mtime",
        }
        if video is not None:
            info.update(_video_fields(path, container, video, budget or DIRECT_BUDGET))
    return MediaInfo(**info)


def extract_metadata(path: Path, budget: DecodeBudget | None = None) -> MediaInfo:
    """Metadata for any accepted media file.

    Raises UnsupportedMediaType for an extension media-sync does not take and CorruptFile for a
    file that cannot be parsed (the caller records it; retrying will not help). Still images
    are read from their headers only; a video's one decoded frame holds ``budget``.
    """
    known = media_type(path)
    if known is None:
        raise UnsupportedMediaType(f"{path.name}: not a media file media-sync reads")
    if not os.path.isfile(path):
        raise CorruptFile(f"{path.name}: not a regular file")
    if known.kind == "image":
        return image_info(path)
    return av_info(path, known.kind, budget)

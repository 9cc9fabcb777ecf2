"""The one table of media file types: which extensions are accepted, their kind and MIME type."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import Literal

Kind = Literal["video", "image", "audio"]


@dataclass(frozen=True)
class MediaType:
    """What media-sync knows about one file extension."""

    extension: str
    kind: Kind
    mime: str


def _table(kind: Kind, entries: dict[str, str]) -> dict[str, MediaType]:
    return {ext: MediaType(ext, kind, mime) for ext, mime in entries.items()}


# Camera raw stills: listed with the sensor's size, previewed from the picture they embed.
RAW_MIME = {
    ".dng": "image/x-adobe-dng",
    ".cr2": "image/x-canon-cr2",
    ".cr3": "image/x-canon-cr3",
    ".nef": "image/x-nikon-nef",
    ".arw": "image/x-sony-arw",
    ".raf": "image/x-fuji-raf",
    ".orf": "image/x-olympus-orf",
    ".rw2": "image/x-panasonic-rw2",
}

# Content types are ours, not the host's mime.types: Safari and AVPlayer care about them.
MEDIA_TYPES: dict[str, MediaType] = {
    **_table(
        "video",
        {
            ".mp4": "video/mp4",
            ".m4v": "video/x-m4v",
            ".mov": "video/quicktime",
            ".mkv": "video/x-matroska",
            ".webm": "video/webm",
            ".avi": "video/x-msvideo",
            ".mts": "video/mp2t",
            ".mpg": "video/mpeg",  # MPEG-1/2 program streams from camcorders
            ".mpeg": "video/mpeg",
            ".m2ts": "video/mp2t",
            ".mxf": "application/mxf",
            ".braw": "application/octet-stream",
            ".r3d": "application/octet-stream",
            ".insv": "video/mp4",
            ".lrv": "video/mp4",
        },
    ),
    **_table(
        "image",
        {
            ".jpg": "image/jpeg",
            ".jpeg": "image/jpeg",
            ".png": "image/png",
            ".heic": "image/heic",
            ".heif": "image/heif",
            ".hif": "image/heif",  # Canon, Sony and Fujifilm write HEIF as .HIF
            ".avif": "image/avif",
            ".mpo": "image/jpeg",  # a JPEG with more pictures appended: browsers show the first
            ".tif": "image/tiff",
            ".tiff": "image/tiff",
            ".gif": "image/gif",
            ".webp": "image/webp",
        },
    ),
    **_table("image", RAW_MIME),
    **_table(
        "audio",
        {
            ".wav": "audio/wav",
            ".mp3": "audio/mpeg",
            ".m4a": "audio/mp4",
            ".aac": "audio/aac",
            ".flac": "audio/flac",
        },
    ),
}

ACCEPTED_EXTENSIONS: tuple[str, ...] = tuple(sorted(MEDIA_TYPES))
RAW_EXTENSIONS: frozenset[str] = frozenset(RAW_MIME)


def media_type(name: str | PurePath) -> MediaType | None:
    """Return the media type for a file name, or None when it is not media we accept."""
    suffix = PurePath(name).suffix.lower()
    return MEDIA_TYPES.get(suffix)


def is_raw(name: str | PurePath) -> bool:
    """True for a camera raw still (decoded from its embedded preview, not by Pillow)."""
    return PurePath(name).suffix.lower() in RAW_EXTENSIONS


def is_media(name: str | PurePath) -> bool:
    """True when the file name has an extension media-sync ingests."""
    return media_type(name) is not None

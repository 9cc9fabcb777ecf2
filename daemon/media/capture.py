"""When a still was taken, from the best date its file carries, labelled for what that date is.

Best first: EXIF DateTimeOriginal (``exif``, the shutter), EXIF DateTimeDigitized
(``exif_digitized``: the shutter for a camera, the scan for a scanner), the XMP capture dates
(``xmp``: ``photoshop:DateCreated``, ``exif:DateTimeOriginal``, ``xmp:CreateDate``, which is all
an Apple Vision Pro writes), then EXIF DateTime (``exif_modified``: the last edit, the only date
an editor may have left). With none of these the caller falls back to the file's mtime.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Literal

from PIL import Image

from daemon.media.images import (
    DATETIME,
    DATETIME_DIGITIZED,
    DATETIME_ORIGINAL,
    EXIF_IFD,
    OFFSET_TIME,
    OFFSET_TIME_DIGITIZED,
    OFFSET_TIME_ORIGINAL,
)

CapturedFrom = Literal["exif", "exif_digitized", "xmp", "exif_modified", "quicktime", "mtime"]
XMP_MAX = 4 * 1024 * 1024  # an XMP packet is a few KiB; read no further into a larger one
XMP_KEYS = ("photoshop:DateCreated", "exif:DateTimeOriginal", "xmp:CreateDate")
_XMP_VALUE = r'(?:\s*=\s*"([^"]*)"|\s*=\s*\'([^\']*)\'|>\s*([^<\s][^<]*?)\s*</{key}>)'


def utc_iso(moment: datetime) -> str:
    """ISO-8601 in UTC with a ``Z``; a naive time is taken as this host's local time."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def exif_time(raw: object, offset: object = None) -> str | None:
    """EXIF ``YYYY:MM:DD HH:MM:SS`` (+ OffsetTime ``+02:00``) as UTC; None when unusable."""
    if isinstance(raw, bytes):
        raw = raw.decode("ascii", "replace")
    if not isinstance(raw, str):
        return None
    try:
        moment = datetime.strptime(raw.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    if isinstance(offset, bytes):
        offset = offset.decode("ascii", "replace")
    if isinstance(offset, str):
        try:
            moment = datetime.fromisoformat(moment.isoformat() + offset.strip("\x00 "))
        except ValueError:
            pass
    return utc_iso(moment)


def xmp_time(value: str) -> str | None:
    """An XMP date (ISO-8601, ``2024-02-10T14:21:33.120-08:00``; a bare date is midnight) as
    UTC; without an offset it is this host's local time, as EXIF's is."""
    text = value.strip().replace("Z", "+00:00")
    if len(text) == 10:
        text += "T00:00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return utc_iso(moment) if moment.year >= 1900 else None


def xmp_capture(packet: bytes | str | None) -> str | None:
    """The first usable XMP capture date, as an attribute or an element, whatever the prefix
    is bound to (read with a pattern: an XMP packet is never parsed as XML here)."""
    if not packet:
        return None
    text = packet[:XMP_MAX].decode("utf-8", "replace") if isinstance(packet, bytes) else packet
    for key in XMP_KEYS:
        pattern = re.escape(key) + _XMP_VALUE.format(key=re.escape(key))
        for match in re.finditer(pattern, text):
            found = xmp_time(next(group for group in match.groups() if group is not None))
            if found:
                return found
    return None


def exif_capture(exif: Image.Exif) -> tuple[str, CapturedFrom] | None:
    """The capture time EXIF gives, and which of its dates it came from."""
    if not exif:
        return None
    sub = exif.get_ifd(EXIF_IFD)
    original = exif_time(sub.get(DATETIME_ORIGINAL), sub.get(OFFSET_TIME_ORIGINAL))
    if original:
        return original, "exif"
    digitized = exif_time(sub.get(DATETIME_DIGITIZED), sub.get(OFFSET_TIME_DIGITIZED))
    if digitized:
        return digitized, "exif_digitized"
    return None


def exif_modified(exif: Image.Exif) -> str | None:
    """EXIF DateTime (306), the time the file was last changed by a camera or an editor."""
    if not exif:
        return None
    return exif_time(exif.get(DATETIME), exif.get_ifd(EXIF_IFD).get(OFFSET_TIME))


def still_capture(
    exif: Image.Exif | None, xmp: bytes | str | None
) -> tuple[str, CapturedFrom] | None:
    """The best capture time of a still, labelled; None when it carries no date."""
    if exif is not None:
        found = exif_capture(exif)
        if found:
            return found
    from_xmp = xmp_capture(xmp)
    if from_xmp:
        return from_xmp, "xmp"
    modified = exif_modified(exif) if exif is not None else None
    return (modified, "exif_modified") if modified else None


def image_xmp(image: Image.Image) -> bytes | str | None:
    """The XMP packet Pillow (or pillow-heif) found in the header: JPEG/WebP/HEIF ``xmp``, PNG
    ``XML:com.adobe.xmp``, TIFF tag 700."""
    for key in ("xmp", "XML:com.adobe.xmp"):
        value = image.info.get(key)
        if isinstance(value, bytes | str) and value:
            return value
    tags = getattr(image, "tag_v2", None)
    value = tags.get(700) if tags is not None else None
    return value if isinstance(value, bytes | str) and value else None

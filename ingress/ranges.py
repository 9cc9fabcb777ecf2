"""HTTP byte ranges, validators and conditional requests for serving files, as pure functions.

Nothing here touches the disk or knows about Litestar: callers hand in the file's size,
its validators (from ``validators_for``) and the request headers, and ``plan_response``
says which status to answer with and which slice of the file to send (RFC 9110 §13, §14).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC
from email.utils import formatdate, parsedate_to_datetime
from enum import Enum
from urllib.parse import quote

# Numbers longer than this are bigger than any file; parsing them digit by digit is pointless
# (and int() refuses strings over 4300 digits).
_MAX_DIGITS = 30
_HUGE = 10**_MAX_DIGITS

_RANGE_SPEC = re.compile(r"^([0-9]*)-([0-9]*)$")
_ENTITY_TAG = re.compile(r'\s*(W/)?("[\x21\x23-\x7e\x80-\xff]*")\s*(?:,|$)')
_UNSAFE_FALLBACK = re.compile(r'[^\x20-\x7e]|["\\/]')
# RFC 8187 attr-char, minus ALPHA / DIGIT which quote() always keeps.
_ATTR_CHAR_SAFE = "!#$&+-.^_`|~"


class Unsatisfiable(Enum):
    """Marker for a Range that selects nothing in the file (answered with 416)."""

    RANGE = "unsatisfiable"


UNSATISFIABLE = Unsatisfiable.RANGE


@dataclass(frozen=True)
class ByteRange:
    """An inclusive byte range ``start..end`` that lies inside a file."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


@dataclass(frozen=True)
class Validators:
    """What identifies one version of a file: its strong ETag and Last-Modified date."""

    etag: str
    last_modified: str
    mtime_s: int


@dataclass(frozen=True)
class Plan:
    """What to answer: a status, the slice of the file to send, and range headers."""

    status: int
    start: int = 0
    length: int = 0
    content_range: str | None = None


def _number(digits: str) -> int:
    digits = digits.lstrip("0") or "0"
    return _HUGE if len(digits) > _MAX_DIGITS else int(digits)


def _parse_spec(spec: str, size: int) -> ByteRange | Unsatisfiable | None:
    match = _RANGE_SPEC.match(spec.strip(" \t"))
    if match is None:
        return None
    first, last = match.groups()
    if not first:
        if not last:
            return None
        suffix = _number(last)
        if suffix == 0 or size == 0:
            return UNSATISFIABLE
        return ByteRange(max(size - suffix, 0), size - 1)
    start = _number(first)
    end = _number(last) if last else _HUGE
    if end < start:
        return None
    if start >= size:
        return UNSATISFIABLE
    return ByteRange(start, min(end, size - 1))


def parse_range(header: str | None, size: int) -> ByteRange | Unsatisfiable | None:
    """Parse a ``Range`` header against a file of ``size`` bytes.

    Returns the one range to send, ``UNSATISFIABLE`` (answer 416), or ``None`` when the
    header is absent, malformed, in another unit, or asks for several ranges: the caller
    then ignores it and sends the whole file, as RFC 9110 §14.2 allows.
    """
    if not header:
        return None
    unit, sep, range_set = header.partition("=")
    if not sep or unit.strip(" \t").lower() != "bytes":
        return None
    specs = [spec for spec in range_set.split(",") if spec.strip(" \t")]
    if len(specs) != 1:
        return None
    return _parse_spec(specs[0], size)


def make_etag(size: int, mtime_ns: int, inode: int) -> str:
    """A strong, quoted ETag for one version of a file."""
    return f'"{inode:x}-{mtime_ns:x}-{size:x}"'


def validators_for(size: int, mtime_ns: int, inode: int) -> Validators:
    """The ETag and Last-Modified header values for a file with this stat."""
    mtime_s = mtime_ns // 1_000_000_000
    return Validators(
        etag=make_etag(size, mtime_ns, inode),
        last_modified=formatdate(mtime_s, usegmt=True),
        mtime_s=mtime_s,
    )


def parse_entity_tags(header: str) -> list[tuple[bool, str]] | None:
    """Parse an ``If-None-Match`` style list into ``(weak, "opaque")`` pairs; ``None`` if malformed."""
    tags: list[tuple[bool, str]] = []
    position = 0
    text = header.strip()
    while position < len(text):
        match = _ENTITY_TAG.match(text, position)
        if match is None or match.end() == position:
            return None
        tags.append((match.group(1) is not None, match.group(2)))
        position = match.end()
    return tags


def parse_http_date(value: str) -> int | None:
    """Seconds since the epoch for an HTTP-date, or ``None`` if it is not a valid one."""
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:  # asctime dates carry no zone; HTTP dates are always GMT
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return int(parsed.timestamp())
    except (OverflowError, OSError, ValueError):
        return None


def _opaque(etag: str) -> str:
    return etag[2:] if etag.startswith("W/") else etag


def none_match(header: str, etag: str) -> bool:
    """True when ``If-None-Match`` matches the current ETag (weak comparison, ``*`` matches)."""
    if header.strip() == "*":
        return True
    tags = parse_entity_tags(header) or []
    return any(opaque == _opaque(etag) for _weak, opaque in tags)


def not_modified_since(header: str, validators: Validators) -> bool:
    """True when ``If-Modified-Since`` is a valid date not older than the file's mtime."""
    since = parse_http_date(header)
    return since is not None and validators.mtime_s <= since


def if_range_matches(header: str, validators: Validators) -> bool:
    """True when ``If-Range`` names this version: the same strong ETag or exactly its date."""
    value = header.strip()
    if value.startswith(('"', "W/")):
        tags = parse_entity_tags(value)
        return tags is not None and len(tags) == 1 and tags[0] == (False, validators.etag)
    return parse_http_date(value) == validators.mtime_s


def lower_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """Request headers keyed by lower-case name; repeated fields joined with ``", "``."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    joined: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        joined[key] = f"{joined[key]}, {value}" if key in joined else value
    return joined


def is_not_modified(headers: Mapping[str, str], validators: Validators) -> bool:
    """RFC 9110 §13.2.2 steps 3-4: If-None-Match decides if present, else If-Modified-Since."""
    if "if-none-match" in headers:
        return none_match(headers["if-none-match"], validators.etag)
    if "if-modified-since" in headers:
        return not_modified_since(headers["if-modified-since"], validators)
    return False


def plan_response(headers: Mapping[str, str], size: int, validators: Validators) -> Plan:
    """Decide 304, 416, 206 or 200 for a GET or HEAD of a file (``headers`` from ``lower_headers``)."""
    if is_not_modified(headers, validators):
        return Plan(304)
    wanted = parse_range(headers.get("range"), size)
    if_range = headers.get("if-range")
    if wanted is not None and if_range is not None and not if_range_matches(if_range, validators):
        wanted = None
    if wanted is UNSATISFIABLE:
        return Plan(416, content_range=f"bytes */{size}")
    if isinstance(wanted, ByteRange):
        return Plan(206, wanted.start, wanted.length, wanted.content_range(size))
    return Plan(200, 0, size)


def ascii_fallback(name: str) -> str:
    """An ASCII stand-in for ``name`` usable inside a quoted ``filename=""`` parameter."""
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _UNSAFE_FALLBACK.sub("_", stripped) or "download"


def content_disposition(name: str, disposition: str = "attachment") -> str:
    """An RFC 6266 ``Content-Disposition`` with an ASCII ``filename`` and a UTF-8 ``filename*``."""
    encoded = quote(name, safe=_ATTR_CHAR_SAFE, encoding="utf-8", errors="replace")
    return f"{disposition}; filename=\"{ascii_fallback(name)}\"; filename*=UTF-8''{encoded}"

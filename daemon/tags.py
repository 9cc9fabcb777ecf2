"""Tags on media: normalizing what people type, and the tags derived from a file's kind and type."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from daemon.errors import InvalidInput

MAX_TAG = 64
MAX_TAGS = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def normalize_tags(raw: object, what: str = "tags") -> list[str]:
    """Trimmed, lower-cased, de-duplicated and sorted tags; a bad entry is refused, not dropped."""
    if raw is None:
        return []
    if isinstance(raw, str) or not isinstance(raw, list):
        raise InvalidInput(f"{what!r} must be a list of strings")
    tags: set[str] = set()
    for entry in raw:
        if not isinstance(entry, str):
            raise InvalidInput(f"every entry of {what!r} must be a string")
        tag = " ".join(entry.split()).lower()
        if not tag:
            continue
        if len(tag) > MAX_TAG or _CONTROL.search(tag):
            raise InvalidInput(
                f"tag {entry!r} must be at most {MAX_TAG} characters without control characters"
            )
        tags.add(tag)
    if len(tags) > MAX_TAGS:
        raise InvalidInput(f"{what!r} may hold at most {MAX_TAGS} tags")
    return sorted(tags)


def apply_tags(current: Iterable[str], add: Iterable[str], remove: Iterable[str]) -> list[str]:
    """The manual tags after adding and removing (both already normalized)."""
    return sorted((set(current) | set(add)) - set(remove))


def load_tags(stored: str | None) -> list[str]:
    """The manual tags of a catalog row (a JSON list); anything unreadable counts as none."""
    if not stored:
        return []
    try:
        value = json.loads(stored)
    except ValueError:
        return []
    return sorted({t for t in value if isinstance(t, str)}) if isinstance(value, list) else []


def dump_tags(tags: Iterable[str]) -> str:
    return json.dumps(sorted(set(tags)), separators=(",", ":"))


def derived_tags(kind: str | None, rel_path: str) -> list[str]:
    """Tags media-sync knows without being told: the kind and the file type (``video``, ``mov``)."""
    derived = set()
    if kind:
        derived.add(kind)
    name = rel_path.rsplit("/", 1)[-1]
    if "." in name:
        ext = name.rsplit(".", 1)[-1].lower()
        if ext:
            derived.add(ext)
    return sorted(derived)

"""The sha256 an upload announces in its headers: ``X-Content-SHA256: <hex>``, RFC 9530's
``Repr-Digest: sha-256=:<base64>:`` and, for a raw-body PUT (whose content is the file),
``Content-Digest`` the same way. Other algorithms in those dictionaries are ignored."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping

from daemon.errors import InvalidInput

HEX = re.compile(r"[0-9a-fA-F]{64}")
_MEMBER = re.compile(r"\s*([a-z*][a-z0-9_.*-]*)\s*=\s*:([A-Za-z0-9+/=]*):\s*(?:;.*)?")


def sha256_of_field(header: str, value: str) -> str | None:
    """The ``sha-256`` member of an RFC 9530 digest dictionary as hex; None when it has none;
    InvalidInput when the field or that member is malformed."""
    found = None
    for member in value.split(","):
        if not member.strip():
            continue
        match = _MEMBER.fullmatch(member)
        if match is None:
            if member.strip().lower().startswith("sha-256"):
                raise InvalidInput(f"{header}: write sha-256 as sha-256=:<base64>:")
            continue  # another algorithm, or a form this server does not read
        if match.group(1) != "sha-256":
            continue
        try:
            raw = base64.b64decode(match.group(2), validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise InvalidInput(f"{header}: sha-256 must be the 32-byte digest in base64")
        if found is not None and found != raw.hex():
            raise InvalidInput(f"{header} names two different sha-256 digests")
        found = raw.hex()
    return found


def announced_sha256(headers: Mapping[str, str], *, content_digest: bool = False) -> str | None:
    """The sha256 (lower-case hex) the request's headers announce for the file, or None;
    InvalidInput when one is malformed or two disagree."""
    found: dict[str, str] = {}
    plain = headers.get("x-content-sha256")
    if plain is not None:
        if not HEX.fullmatch(plain.strip()):
            raise InvalidInput("X-Content-SHA256 must be 64 hexadecimal digits")
        found["X-Content-SHA256"] = plain.strip().lower()
    fields = ["Repr-Digest", "Content-Digest"] if content_digest else ["Repr-Digest"]
    for name in fields:
        value = headers.get(name.lower())
        if value is not None:
            digest = sha256_of_field(name, value)
            if digest is not None:
                found[name] = digest
    if len(set(found.values())) > 1:
        raise InvalidInput(f"{' and '.join(found)} announce different sha256 digests")
    return next(iter(found.values()), None)

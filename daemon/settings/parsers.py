"""Parsers for MEDIA_SYNC_* values: each turns the text into a value or raises ValueError
whose message says, in words, what the value must be (never a raw Python message).

``Settings.from_env`` prefixes the message with ``NAME='value' is invalid:`` and, when the
message gives no example of its own, adds the default as one: ``(e.g. 20480)``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

WATCH_MODES = ("auto", "native", "polling", "off")
PUBLIC_URL_EXAMPLE = "http://192.168.0.25:8787"


def _path(value: str) -> Path:
    if not value.strip():
        raise ValueError("must be a folder path, not empty")
    return Path(value.strip()).expanduser().absolute()


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise ValueError("must be a port number between 1 and 65535") from None
    if not 1 <= port <= 65535:
        raise ValueError("must be a port number between 1 and 65535")
    return port


def whole(minimum: int, unit: str = "") -> Callable[[str], int]:
    """A whole number (of ``unit``) of at least ``minimum``."""
    what = f"a whole number of {unit}" if unit else "a whole number"

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise ValueError(f"must be {what}") from None
        if number < minimum:
            raise ValueError(f"must be {what}, at least {minimum}")
        return number

    return parse


def decimal(unit: str, *, zero: bool) -> Callable[[str], float]:
    """A finite number of ``unit`` (decimals allowed), at least 0 or (``zero=False``) above it."""
    bound = "at least 0" if zero else "greater than 0"

    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"must be a number of {unit}") from None
        if not math.isfinite(number):
            raise ValueError(f"must be a finite number of {unit}")
        if number < 0 or (number == 0 and not zero):
            raise ValueError(f"must be a number of {unit}, {bound}")
        return number

    return parse


_OCTAL = re.compile(r"0?[0-7]{1,3}|0[oO][0-7]{1,3}")
_MODE_RULE = (
    "an octal file mode like 0644 (the owner can read; group and others get no more than the owner)"
)


def _mode_ok(mode: int) -> bool:
    owner, group, other = (mode >> 6) & 7, (mode >> 3) & 7, mode & 7
    return bool(owner & 4) and not (group & ~owner) and not (other & ~owner)


def _file_mode(value: str) -> int:
    """``0644``, ``644`` or ``0o644``; a decimal number such as 420 (0644 printed in decimal)
    is refused with the octal it stands for."""
    text = value.strip()
    if _OCTAL.fullmatch(text):
        mode = int(text.replace("o", "").replace("O", ""), 8)
        if _mode_ok(mode):
            return mode
    hint = ""
    if text.isdigit() and int(text) <= 0o777 and _mode_ok(int(text)):
        hint = f"; {text} looks like a decimal number: did you mean 0{int(text):03o}?"
    raise ValueError(f"must be {_MODE_RULE}{hint}")


def format_file_mode(mode: int) -> str:
    """The mode as written in an env file: ``0644``."""
    return f"0{mode:03o}"


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    """A parser taking one of ``choices`` (any case, spaces around ignored)."""

    def parse(value: str) -> str:
        word = value.strip().lower()
        if word not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return word

    return parse


_watch = one_of(WATCH_MODES)


def _log_level(value: str) -> str:
    level = value.strip().upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
    return level


def _text(value: str) -> str:
    return value.strip()


def _public_url(value: str) -> str:
    """Empty, or an http(s) URL with a host (optional port and path), without a trailing slash."""
    url = value.strip()
    if not url:
        return ""
    rule = (
        "must be the http:// or https:// address phones use, with a host and optionally a "
        f"port and a path, such as {PUBLIC_URL_EXAMPLE}"
    )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValueError(f"{rule} (the port must be a number between 1 and 65535)") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(rule)
    if port == 0 or parts.username is not None or parts.query or parts.fragment:
        raise ValueError(f"{rule} (no user name, query or #fragment)")
    if any(c.isspace() for c in url):
        raise ValueError(f"{rule} (no spaces)")
    return url.rstrip("/")


def _paths(value: str) -> tuple[Path, ...]:
    return tuple(_path(part) for part in _csv(value))


def _token(value: str) -> str:
    token = value.strip()
    if token and (len(token) < 16 or any(c.isspace() or not c.isprintable() for c in token)):
        raise ValueError("must be at least 16 printable characters without spaces")
    return token

"""Parsers for MEDIA_SYNC_* values: each turns the text into a value or raises ValueError."""

from __future__ import annotations

from pathlib import Path

WATCH_MODES = ("auto", "native", "polling", "off")


def _path(value: str) -> Path:
    if not value.strip():
        raise ValueError("must not be empty")
    return Path(value).expanduser().absolute()


def _port(value: str) -> int:
    port = int(value)
    if not 1 <= port <= 65535:
        raise ValueError("must be between 1 and 65535")
    return port


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError("must be a whole number of at least 1")
    return number


def _non_negative_int(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError("must be a whole number of at least 0")
    return number


def _non_negative_float(value: str) -> float:
    number = float(value)
    if not number >= 0 or number == float("inf"):
        raise ValueError("must be a finite number of at least 0")
    return number


def _positive_float(value: str) -> float:
    number = _non_negative_float(value)
    if number == 0:
        raise ValueError("must be greater than 0")
    return number


def _file_mode(value: str) -> int:
    mode = int(value, 8)
    if not 0 <= mode <= 0o777:
        raise ValueError("must be an octal file mode such as 0644")
    if not mode & 0o400:
        raise ValueError("must leave the file readable by its owner")
    return mode


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _watch(value: str) -> str:
    mode = value.strip().lower()
    if mode not in WATCH_MODES:
        raise ValueError(f"must be one of {', '.join(WATCH_MODES)}")
    return mode


def _log_level(value: str) -> str:
    level = value.strip().upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
    return level


def _text(value: str) -> str:
    return value.strip()


def _paths(value: str) -> tuple[Path, ...]:
    return tuple(_path(part) for part in _csv(value))


def _token(value: str) -> str:
    token = value.strip()
    if token and (len(token) < 16 or any(c.isspace() or not c.isprintable() for c in token)):
        raise ValueError("must be at least 16 printable characters without spaces")
    return token

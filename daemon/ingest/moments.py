"""Capture times as clients send them, and whether one is the moment the catalog recorded.

Pure. A phone sends its own idea of a clip's creation date: ISO-8601 with or without a zone
(``2024-05-01T12:30:00+02:00``, ``...Z``, ``2024-05-01 12:30:00``), EXIF's ``2024:05:01
12:30:00``, or seconds (milliseconds past 1e11) since the epoch. The catalog holds the capture
time its metadata reader found, in UTC. A time with a zone is one instant; one without is a
wall clock in some zone, so it agrees with an instant that is a whole number of quarter hours
(at most 14 h) away, within the tolerance.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

TOLERANCE = timedelta(seconds=2)  # clients and metadata readers round differently
QUARTER = timedelta(minutes=15)
MAX_ZONE = timedelta(hours=14)
EPOCH_MS = 1e11  # a number past this is milliseconds (JavaScript's lastModified)


@dataclass(frozen=True)
class Moment:
    """A client's time: ``at`` is aware (an instant) or naive (a wall clock, zone unknown)."""

    at: datetime

    @property
    def zoned(self) -> bool:
        return self.at.tzinfo is not None


def _number(value: float) -> Moment:
    seconds = value / 1000 if abs(value) > EPOCH_MS else value
    return Moment(datetime.fromtimestamp(seconds, UTC))


def parse_moment(value: object) -> Moment | None:
    """The moment ``value`` names, or None when it is no time this module reads."""
    if isinstance(value, str):
        return _parse_text(value)
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | float):
            return _number(float(value))
    except (ValueError, OverflowError, OSError):
        pass
    return None


@functools.lru_cache(maxsize=1 << 16)  # an album's dates come again at every check
def _parse_text(value: str) -> Moment | None:
    text = value.strip()
    try:
        if text.replace(".", "", 1).isdigit():
            return _number(float(text))
        if len(text) >= 19 and text[4] == ":" and text[7] == ":":  # EXIF 2024:05:01 12:30:00
            text = f"{text[:4]}-{text[5:7]}-{text[8:]}"
        return Moment(datetime.fromisoformat(text.replace("z", "Z")))
    except (ValueError, OverflowError, OSError):
        return None


def parse_recorded(value: str | None) -> datetime | None:
    """The catalog's capture time (ISO-8601 UTC) as an instant, or None."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def agrees(given: Moment, recorded: datetime, *, any_zone: bool = False) -> bool:
    """Is ``given`` the instant ``recorded``? A wall clock (no zone) is compared in every zone
    a quarter hour apart; so is an instant when ``any_zone`` (the catalog's time may itself be
    a camera's wall clock read as the server's local time)."""
    if given.zoned and not any_zone:
        return abs(given.at - recorded) <= TOLERANCE
    if given.zoned:
        gap = given.at - recorded
    else:
        gap = given.at - recorded.astimezone(UTC).replace(tzinfo=None)
    if abs(gap) > MAX_ZONE + TOLERANCE:
        return False
    quarters = round(gap / QUARTER)
    return abs(gap - quarters * QUARTER) <= TOLERANCE

"""MEDIA_SYNC_DATABASE_URL: which engine holds the catalog, checked once, shown without a password.

Empty means the sqlite file in the state directory (the default). A PostgreSQL catalog is
named by a ``postgresql://user:password@host:port/database`` URL (``postgres://`` is accepted
too); query parameters pass to the driver (``?sslmode=require``). The password never leaves
this module unredacted except towards the driver: logs, ``media-sync settings`` and /health show
``redact(url)``.
"""

from __future__ import annotations

from urllib.parse import SplitResult, unquote, urlsplit

SCHEMES = ("postgresql", "postgres")
HIDDEN = "***"


def parse_database_url(value: str) -> str:
    """The URL as given (stripped) when it names a PostgreSQL database; "" for sqlite.

    A malformed one raises ValueError saying what is wrong, never quoting the password.
    """
    url = value.strip()
    if not url:
        return ""
    parts = _split(url)
    if parts.scheme not in SCHEMES:
        raise ValueError(
            "must be empty (the sqlite catalog in MEDIA_SYNC_STATE_DIR) or a "
            "postgresql://user:password@host:port/database URL"
        )
    try:
        port = parts.port
    except ValueError:
        raise ValueError("has a port that is not a number between 0 and 65535") from None
    if port == 0:
        raise ValueError("has port 0")
    if not parts.hostname and "host=" not in parts.query:
        raise ValueError("names no host (postgresql://user:password@host:5432/database)")
    if not unquote(parts.path.lstrip("/")) or "/" in parts.path.lstrip("/"):
        raise ValueError("names no database (postgresql://user:password@host:5432/database)")
    return url


def _split(url: str) -> SplitResult:
    try:
        return urlsplit(url)
    except ValueError:
        raise ValueError("is not a URL (postgresql://user:password@host:5432/database)") from None


def redact(url: str) -> str:
    """The URL with its password (if any) replaced by ``***``: safe for logs and /health."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return HIDDEN
    query = "&".join(
        f"{key}={HIDDEN}" if key.lower() == "password" else f"{key}={val}" if sep else key
        for key, sep, val in (item.partition("=") for item in parts.query.split("&") if item)
    )
    netloc = parts.netloc
    user, at, host = netloc.rpartition("@")
    if at and ":" in user:
        netloc = f"{user.partition(':')[0]}:{HIDDEN}@{host}"
    return parts._replace(netloc=netloc, query=query).geturl()


def database_name(url: str) -> str:
    """The database a PostgreSQL URL names."""
    return unquote(urlsplit(url).path.lstrip("/"))

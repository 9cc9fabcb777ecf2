"""The optional API tokens: what a request may do (write, read or nothing), in constant time."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from daemon.settings import Settings

WRITE = "write"
READ = "read"
NONE = "none"

COOKIE = "media_sync_session"
COOKIE_MAX_AGE = 180 * 24 * 3600
_COOKIE_CONTEXT = b"media-sync login cookie v1"
QUERY_KEY = b"token"


@dataclass(frozen=True)
class Credentials:
    """What a request presented: a Bearer token, the login cookie, a `?token=`."""

    bearer: str | None = None
    cookie: str | None = None
    query: str | None = None

    @property
    def presented(self) -> bool:
        return any(v is not None for v in (self.bearer, self.cookie, self.query))


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def cookie_value(token: str) -> str:
    """The login cookie for a token: derived, so the token itself never sits in a cookie and
    changing the token logs every browser out."""
    return hmac.new(token.encode(), _COOKIE_CONTEXT, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class TokenPolicy:
    """MEDIA_SYNC_API_TOKEN (may do anything) and MEDIA_SYNC_READ_TOKEN (may only read)."""

    api_token: str
    read_token: str

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenPolicy:
        return cls(settings.api_token, settings.read_token if settings.api_token else "")

    @property
    def required(self) -> bool:
        return bool(self.api_token)

    def _pairs(self) -> list[tuple[str, str]]:
        pairs = [(self.api_token, WRITE)]
        if self.read_token:
            pairs.append((self.read_token, READ))
        return pairs

    def for_token(self, token: str) -> str:
        """WRITE, READ or NONE for a token typed into the page or sent by a client."""
        if not self.required:
            return WRITE
        found = NONE
        for secret, access in self._pairs():  # every comparison runs: no early exit
            if _same(token, secret) and found == NONE:
                found = access
        return found

    def for_cookie(self, value: str) -> str:
        found = NONE
        for secret, access in self._pairs():
            if _same(value, cookie_value(secret)) and found == NONE:
                found = access
        return found

    def access(self, creds: Credentials) -> str:
        """The most a request's credentials allow (WRITE when no token is configured)."""
        if not self.required:
            return WRITE
        grants = []
        for token in (creds.bearer, creds.query):
            if token is not None:
                grants.append(self.for_token(token))
        if creds.cookie is not None:
            grants.append(self.for_cookie(creds.cookie))
        if WRITE in grants:
            return WRITE
        return READ if READ in grants else NONE


def bearer(authorization: str | None) -> str | None:
    if authorization is None:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def cookie(header: str | None) -> str | None:
    for part in (header or "").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name == COOKIE:
            return value.strip().strip('"')
    return None


def _unquote(raw: bytes) -> str:
    return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8", "replace")


def take_query_token(query_string: bytes) -> tuple[str | None, bytes]:
    """`?token=` (the last one) and the query string without it, so no handler ever sees it."""
    if QUERY_KEY not in query_string:
        return None, query_string
    token: str | None = None
    kept: list[bytes] = []
    for part in query_string.split(b"&"):
        name, _, value = part.partition(b"=")
        if _unquote(name) == "token":
            token = _unquote(value)
        else:
            kept.append(part)
    return token, b"&".join(kept)

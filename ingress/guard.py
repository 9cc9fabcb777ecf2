"""The LAN guard: refuse foreign Host names, cross-site writes, non-JSON bodies, missing tokens.

A pure ASGI middleware: it decides from the request line and headers alone and never touches
the body (uploads stream past it untouched). Every refusal is the one JSON error shape.

    Host           not an IP, local name, this machine, the public URL or allowed  -> 421
    cross-site     a write (or GET /reindex) from another site's page             -> 403
    content type   a JSON endpoint sent a non-JSON body (text/plain, a form)      -> 415
    token          MEDIA_SYNC_API_TOKEN set and no valid token / read-only token  -> 401 / 403
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from litestar.enums import ScopeType
from litestar.middleware.base import DefineMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from daemon.observe import event
from daemon.settings import Settings
from ingress.errors import send_error
from ingress.hosts import BadHost, HostPolicy, refusal, split_host
from ingress.tokens import READ, WRITE, Credentials, TokenPolicy, bearer, cookie, take_query_token

log = logging.getLogger("media_sync_api.refusal")  # (``ingress.observe`` logs the other refusals)

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
STATE_CHANGING_GETS = re.compile(r"^/(?:reindex|api/projects/[^/]+/reindex)/?$")
UPLOADS = re.compile(r"^/api/projects/[^/]+/(?:upload|uploads(?:/[^/]+)?|files/[^/]+)/?$")
OPEN_PATHS = frozenset({"/", "/healthz", "/api/login", "/api/logout"})
CROSS_SITE = frozenset({"cross-site", "same-site"})
DEFAULT_PORTS = {"http": ":80", "https": ":443"}
TWO_HOSTS = "\x00"
CHALLENGE = (b"www-authenticate", b'Bearer realm="media-sync"')


@dataclass(frozen=True)
class Refusal:
    """An answer given instead of the handler's."""

    status: int
    error: str
    detail: str
    headers: tuple[tuple[bytes, bytes], ...] = ()


@dataclass(frozen=True)
class Facts:
    """What the guard looks at: the request line and a few headers."""

    method: str
    path: str
    http_version: str
    headers: dict[str, str]
    credentials: Credentials

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    @property
    def changes_state(self) -> bool:
        if self.method in WRITE_METHODS:
            return True
        return self.method in ("GET", "HEAD") and bool(STATE_CHANGING_GETS.match(self.path))


@dataclass(frozen=True)
class Policy:
    """Everything the guard decides with, built once from the settings."""

    hosts: HostPolicy
    tokens: TokenPolicy
    trusted_origins: frozenset[str]

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        """CORS origins, plus the public URL's origin (a proxy in front may rewrite `Host`)."""
        origins = {_origin(o) for o in settings.cors_origins}
        if settings.public_url:
            public = urlsplit(settings.public_url)
            origins.add(_origin(f"{public.scheme}://{_authority(public.netloc, public.scheme)}"))
        hosts, tokens = HostPolicy.from_settings(settings), TokenPolicy.from_settings(settings)
        return cls(hosts, tokens, frozenset(origins))


def _origin(value: str) -> str:
    return value.strip().lower().rstrip("/")


def _authority(netloc: str, scheme: str) -> str:
    """`host[:port]` in lower case, without the scheme's default port."""
    text = netloc.strip().lower()
    default = DEFAULT_PORTS.get(scheme, "")
    return text[: -len(default)] if default and text.endswith(default) else text


def same_origin(origin: str, host: str) -> bool:
    """Whether a page at `origin` is this server as the browser named it in `Host`. The scheme
    is the page's: behind a TLS proxy the server itself speaks plain http."""
    try:
        parts = urlsplit(origin.strip())
    except ValueError:
        return False
    if parts.scheme not in DEFAULT_PORTS or not parts.netloc:
        return False
    return _authority(parts.netloc, parts.scheme) == _authority(host, parts.scheme)


def check_host(policy: Policy, facts: Facts) -> Refusal | None:
    host = facts.header("host")
    if host is None:
        if facts.http_version == "1.0":
            return None  # HTTP/1.0 may omit Host; no browser does
        return Refusal(400, "InvalidInput", "the request has no Host header (HTTP/1.1 needs one)")
    if host == TWO_HOSTS:
        return Refusal(400, "InvalidInput", "the request has more than one Host header")
    try:
        name = split_host(host)
    except BadHost as exc:
        return Refusal(400, "InvalidInput", str(exc))
    if policy.hosts.allows(name):
        return None
    event(log, "refused Host %r (not allowed; see MEDIA_SYNC_ALLOWED_HOSTS)", name, host=name)
    return Refusal(421, "MisdirectedRequest", refusal(name))


def _foreign(policy: Policy, facts: Facts) -> str | None:
    """Why a state-changing request comes from another site's page, or None."""
    origin, site = facts.header("origin"), facts.header("sec-fetch-site")
    if origin is not None and (
        "*" in policy.trusted_origins or _origin(origin) in policy.trusted_origins
    ):
        return None
    if site in CROSS_SITE:
        return f"Sec-Fetch-Site: {site}"
    host = facts.header("host") or ""
    if origin is not None and not same_origin(origin, host):
        return f"Origin {origin[:200]!r}"
    referer = facts.header("referer")
    if origin is None and site is None and referer and not same_origin(referer, host):
        return "a Referer from another site"  # browsers too old for Sec-Fetch-Site
    return None


def check_cross_site(policy: Policy, facts: Facts) -> Refusal | None:
    if not facts.changes_state:
        return None
    why = _foreign(policy, facts)
    if why is None:
        return None
    event(
        log, "refused a cross-site %s %s (%s)", facts.method, facts.path, why,
        method=facts.method, path=facts.path, reason=why, status=403,
    )  # fmt: skip
    return Refusal(
        403,
        "CrossSiteRequest",
        f"refused a cross-site {facts.method} ({why}): another web page may not change "
        "media-sync. Use the media-sync page itself, or a client that sends no Origin "
        "(curl, Shortcuts); to allow a page from another origin, list it in "
        "MEDIA_SYNC_CORS_ORIGINS.",
    )


def _carries_body(facts: Facts) -> bool:
    length = facts.header("content-length")
    return facts.header("transfer-encoding") is not None or (length is not None and length != "0")


def _is_json(content_type: str | None) -> bool:
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


def check_content_type(facts: Facts) -> Refusal | None:
    if facts.method not in WRITE_METHODS or UPLOADS.match(facts.path) or not _carries_body(facts):
        return None
    if _is_json(facts.header("content-type")):
        return None
    sent = (facts.header("content-type") or "no Content-Type")[:100]
    return Refusal(
        415,
        "UnsupportedMediaType",
        f"this endpoint takes a JSON body: send it with Content-Type: application/json "
        f"(got {sent}). Uploads go to /upload (multipart) or PUT /files/<name>.",
    )


def _is_open(path: str) -> bool:
    return path in OPEN_PATHS or path == "/public" or path.startswith("/public/")


def check_token(policy: Policy, facts: Facts) -> Refusal | None:
    if not policy.tokens.required or facts.method == "OPTIONS" or _is_open(facts.path):
        return None
    access = policy.tokens.access(facts.credentials)
    if access == WRITE or (access == READ and not facts.changes_state):
        return None
    if access == READ:
        return Refusal(
            403,
            "ReadOnlyToken",
            f"the read-only token may list, stream and download but not {facts.method} "
            f"{facts.path}: use MEDIA_SYNC_API_TOKEN for changes",
        )
    detail = (
        "the token sent is not valid"
        if facts.credentials.presented
        else "this server needs a token (MEDIA_SYNC_API_TOKEN is set)"
    )
    return Refusal(
        401,
        "Unauthorized",
        detail + ": send 'Authorization: Bearer <token>', log in on the page, or add "
        "?token=<token> to the URL",
        (CHALLENGE,),
    )


def decide(policy: Policy, facts: Facts) -> Refusal | None:
    """The first refusal that applies, in order: Host, cross-site, token, content type."""
    return (
        check_host(policy, facts)
        or check_cross_site(policy, facts)
        or check_token(policy, facts)
        or check_content_type(facts)
    )


def facts_of(scope: Scope, query_token: str | None) -> Facts:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        if name == "cookie" and name in headers:
            headers[name] += "; " + value
        elif name == "host" and name in headers:
            headers[name] = TWO_HOSTS  # ambiguous: refused as malformed
        else:
            headers.setdefault(name, value)
    return Facts(
        method=str(scope.get("method", "GET")).upper(),
        path=scope["path"],
        http_version=str(scope.get("http_version", "1.1")),
        headers=headers,
        credentials=Credentials(
            bearer(headers.get("authorization")), cookie(headers.get("cookie")), query_token
        ),
    )


class Guard:
    """The middleware: decide from the headers, answer a refusal, or pass the request through."""

    def __init__(self, app: ASGIApp, policy: Policy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        query_token, scope["query_string"] = take_query_token(scope["query_string"])
        refused = decide(self.policy, facts_of(scope, query_token))
        if refused is None:
            await self.app(scope, receive, send)
        else:
            await answer(refused, send)


async def answer(refused: Refusal, send: Send) -> None:
    no_store = ((b"cache-control", b"no-store"),)
    await send_error(
        send, refused.status, refused.detail, refused.error, no_store + refused.headers
    )


def guard(settings: Settings) -> DefineMiddleware:
    """The middleware entry for `Litestar(middleware=[...])`, its policy built once."""
    return DefineMiddleware(Guard, policy=Policy.from_settings(settings))

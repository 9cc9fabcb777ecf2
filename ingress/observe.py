"""The ASGI wrapper `serve` puts around the app: who asks, what was refused, the access log.

For every HTTP request it sets ``daemon.observe.CLIENT`` (the client's address, named by the
event lines of the work the request causes), and once the answer is out:

- an answer of 400 or more is logged under ``media_sync_api.refusal`` with its reason (the
  ``detail`` of the one JSON error shape; a GET/HEAD 404 only at DEBUG; a Host not allowed
  and a cross-site write are logged by ``ingress.guard``, which knows why), and 500 or more is
  counted in ``mediasync_failures_total{kind="server_error"}``;
- a refused upload (POST/PUT/PATCH to an upload URL: multipart, raw PUT, tus, IETF) is
  logged and counted as ``outcome="refused"`` (``daemon.observe.upload_outcome``);
- with MEDIA_SYNC_ACCESS_LOG on, one ``media_sync_api.access`` line: method, path (``token``
  query values replaced by ``***``), status, bytes sent, duration, client (container probes
  and Prometheus scrapes, ``/healthz`` and ``/metrics`` answered well, at DEBUG only).

Only ``send`` is wrapped (the request body streams past untouched) and only error bodies,
which are small, are kept; headers are read only for a refused upload, and no header
(``Authorization`` included) is ever logged.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, unquote_plus

from daemon.observe import CLIENT, Metrics, upload_outcome
from daemon.settings import Settings
from ingress.errors import status_for

ACCESS_LOG = logging.getLogger("media_sync_api.access")
REFUSAL_LOG = logging.getLogger("media_sync_api.refusal")

UPLOAD_URL = re.compile(
    r"^/api/projects/(?P<project>[^/]+)/"
    r"(?:upload|uploads(?:/(?P<upload_id>[^/]+))?|files/(?P<name>[^/]+))/?$"
)
UPLOAD_METHODS = frozenset({"POST", "PUT", "PATCH"})
SECRET_NAMES = frozenset({"token", "access_token"})
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
KEPT_ERROR_BYTES = 8192
MAX_REASON = 200  # characters of an error's detail in a log line

PROBES = frozenset({"/healthz", "/metrics"})  # answered well: access lines at DEBUG only
GUARD_LOGS = frozenset({"MisdirectedRequest", "CrossSiteRequest"})  # ``ingress.guard`` says why
MetricsOf = Callable[[], Metrics | None]


class _Answer:
    """What went out: the status, the bytes of the body, an error body's first bytes."""

    __slots__ = ("error", "sent", "status")

    def __init__(self) -> None:
        self.status = 0
        self.sent = 0
        self.error = b""


def safe_target(scope: dict[str, Any]) -> str:
    """The path and query as logged: ``token`` values (however the name is escaped) replaced
    by ``***``, control characters escaped (one request, one line)."""
    target: str = scope.get("path", "")
    query: bytes = scope.get("query_string", b"")
    if query:
        parts = []
        for part in query.split(b"&"):
            name = part.partition(b"=")[0]
            secret = unquote_plus(name.decode("latin-1")).lower() in SECRET_NAMES
            parts.append(name + b"=***" if secret else part)
        target += "?" + b"&".join(parts).decode("latin-1")
    if not target.isprintable():
        target = CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", target)
    return target


def _client(scope: dict[str, Any]) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None


def _reason(answer: _Answer) -> tuple[str | None, str | None]:
    """The error name and detail of a JSON error body (None when it is not one)."""
    try:
        body = json.loads(answer.error)
    except ValueError:
        return None, None
    if not isinstance(body, dict):
        return None, None
    detail, error = body.get("detail"), body.get("error")
    if detail and len(str(detail)) > MAX_REASON:
        detail = str(detail)[: MAX_REASON - 1] + "…"
    return (str(error) if error else None), (str(detail) if detail else None)


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def _metadata_name(value: str | None) -> str | None:
    """The file name in a tus ``Upload-Metadata`` header (``filename <base64>``)."""
    for pair in (value or "").split(","):
        key, _, encoded = pair.strip().partition(" ")
        if key in ("filename", "name") and encoded:
            try:
                return base64.b64decode(encoded, validate=True).decode("utf-8", "replace")[:200]
            except (binascii.Error, ValueError):
                return None
    return None


def _size(headers: dict[str, str]) -> int | None:
    for name in ("upload-length", "content-length"):
        value = headers.get(name, "")
        if value.isdigit():
            return int(value)
    return None


def _refused_upload(
    metrics: Metrics, scope: dict[str, Any], match: re.Match[str], answer: _Answer
) -> None:
    headers = _headers(scope)
    error, detail = _reason(answer)
    name = match.group("name")
    path = (
        unquote(name)
        if name
        else headers.get("x-filename") or _metadata_name(headers.get("upload-metadata"))
    )
    extra: dict[str, Any] = {"status": answer.status, "error": error}
    if match.group("upload_id"):
        extra["upload_id"] = match.group("upload_id")
    upload_outcome(
        metrics,
        "refused",
        project=unquote(match.group("project")),
        path=path,
        size=_size(headers),
        reason=f"{answer.status} {detail or error or 'refused'}",
        **extra,
    )


class Observed:
    """The wrapper; ``metrics()`` gives the serving Library's Metrics once it is open."""

    def __init__(self, app: Any, settings: Settings, metrics: MetricsOf) -> None:
        self.app = app
        self.metrics = metrics
        self.access = settings.access_log

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # kept as asked (the guard takes ?token= out of the scope); made safe only when logged
        asked = {"path": scope.get("path", ""), "query_string": scope.get("query_string", b"")}
        answer = _Answer()

        async def watched(message: Any) -> None:
            kind = message["type"]
            if kind == "http.response.body":
                body = message.get("body", b"")
                answer.sent += len(body)
                if answer.status >= 400 and len(answer.error) < KEPT_ERROR_BYTES:
                    answer.error += body[:KEPT_ERROR_BYTES]
            elif kind == "http.response.start":
                answer.status = message["status"]
            await send(message)

        reset = CLIENT.set(_client(scope))
        try:
            await self.app(scope, receive, watched)
        finally:
            CLIENT.reset(reset)
            if not answer.status:
                answer.status = 500  # the app failed before answering: uvicorn answers 500
            self._done(scope, asked, answer, started)

    def _done(self, scope: Any, asked: dict[str, Any], answer: _Answer, started: float) -> None:
        quiet = answer.status < 400 and asked["path"] in PROBES
        level = logging.DEBUG if quiet else logging.INFO
        logged = self.access and ACCESS_LOG.isEnabledFor(level)
        if answer.status < 400 and not logged:
            return  # the common case: nothing to write, nothing to work out
        method = str(scope.get("method", ""))
        client = _client(scope)
        target = safe_target(asked)
        if answer.status >= 400:
            self._refused(scope, method, target, client, answer)
        if logged:
            took = round((time.perf_counter() - started) * 1000, 1)
            ACCESS_LOG.log(
                level,
                '%s - "%s %s" %d %d %.1fms',
                client or "-", method, target, answer.status, answer.sent, took,
                extra={
                    "method": method, "path": target, "status": answer.status,
                    "bytes": answer.sent, "duration_ms": took, "client": client,
                },
            )  # fmt: skip

    def _refused(
        self, scope: Any, method: str, target: str, client: str | None, answer: _Answer
    ) -> None:
        metrics = self.metrics()
        if metrics is not None and answer.status >= 500:
            metrics.fail("server_error")
        match = UPLOAD_URL.match(scope.get("path", ""))
        if metrics is not None and match and method in UPLOAD_METHODS and "op=" not in target:
            token = CLIENT.set(client)
            try:
                _refused_upload(metrics, scope, match, answer)  # the upload's line says why
            finally:
                CLIENT.reset(token)
            return
        error, detail = _reason(answer)
        if error in GUARD_LOGS:
            return
        quiet = answer.status == 404 and method in ("GET", "HEAD")
        if REFUSAL_LOG.isEnabledFor(logging.DEBUG if quiet else logging.INFO):
            REFUSAL_LOG.log(
                logging.DEBUG if quiet else logging.INFO,
                "refused %s %s with %d from %s: %s",
                method, target, answer.status, client or "-", detail or error or "no detail",
                extra={"method": method, "path": target, "status": answer.status,
                       "error": error, "reason": detail, "client": client},
            )  # fmt: skip


def observed(app: Any, settings: Settings) -> Observed:
    """Wrap the Litestar ``app`` (its Library, once open, holds the metrics)."""

    def metrics() -> Metrics | None:
        library = getattr(getattr(app, "state", None), "library", None)
        found: Metrics | None = getattr(library, "metrics", None)
        return found

    return Observed(app, settings, metrics)


def refused_part(metrics: Metrics, project: str, filename: str | None, error: Any) -> None:
    """A file of a multipart upload refused while others went in (the answer is a 200):
    logged and counted as a refused upload, like a request refused as a whole."""
    status = status_for(error)
    upload_outcome(
        metrics, "refused", project=project, path=filename, size=None,
        reason=f"{status} {error.detail}", status=status, error=type(error).__name__,
    )  # fmt: skip

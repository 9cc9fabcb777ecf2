"""Absolute URLs the service hands out (upload, stream, download, thumbnails, adapter page)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from litestar import Request

from daemon.runtime.phoneurl import in_container, is_loopback, outbound_address
from daemon.settings import Settings
from daemon.storage.projects import ProjectRef
from daemon.storage.sources import PRIMARY

_URL_SAFE = re.compile(r"[A-Za-z0-9_.~/-]*")

log = logging.getLogger("media_sync.ingress")


def base_url(request: Request[Any, Any, Any], settings: Settings) -> str:
    """MEDIA_SYNC_PUBLIC_URL when set, else the scheme/host the client used."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    return str(request.base_url).rstrip("/")


def lan_address(settings: Settings) -> str:
    """The LAN URL a phone should use: the public URL, else this host's outbound address."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    address = outbound_address()
    return f"http://{address}:{settings.port}"


@cache
def _this_process_in_container() -> bool:
    return in_container()


def lan_url_note(settings: Settings, root: Path | None = None) -> str | None:
    """What to set when the guessed LAN URL is a container's own address (phones cannot reach
    it); None when MEDIA_SYNC_PUBLIC_URL is set or outside a container. ``root``: the file
    system root to look for the container markers in (None: this process's, looked up once)."""
    if settings.public_url:
        return None
    if not (_this_process_in_container() if root is None else in_container(root)):
        return None
    return (
        f"media-sync runs in a container, so {lan_address(settings)} is the container's own "
        "address, which phones cannot reach: set MEDIA_SYNC_PUBLIC_URL=http://<NAS-IP>:<port> "
        "(the NAS's LAN address and the published port) in deploy/.env or the container's "
        "settings, then recreate the container."
    )


def warn_if_phones_cannot_reach(settings: Settings, root: Path | None = None) -> None:
    """At start-up: a WARNING when the LAN URL shown to phones is a container's own address."""
    note = lan_url_note(settings, root)
    if note is not None:
        log.warning("%s", note)


def workstation_url(request: Request[Any, Any, Any], settings: Settings) -> str:
    """The server URL to give a workstation: MEDIA_SYNC_PUBLIC_URL, else the address the
    browser used, unless that was this machine's loopback (then the LAN guess)."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    loopback = is_loopback(request.url.hostname or "")
    return lan_address(settings) if loopback else base_url(request, settings)


def source_query(source: str) -> str:
    return "" if source == PRIMARY else f"?source={quote(source)}"


def media_url(base: str, ref: ProjectRef, rel_path: str, download: bool = False) -> str:
    middle = "download/" if download else ""
    return (
        f"{base}/media/{quote(ref.name)}/{middle}{quote(rel_path)}{source_query(ref.source.name)}"
    )


def item_urls(base: str, ref: ProjectRef) -> Callable[[dict[str, Any]], None]:
    """Adds `stream_url`, `download_url` and `thumb_url` to listing items (prefixes built once:
    a full listing of 100,000 items calls this per item)."""
    project = quote(ref.name)
    query = source_query(ref.source.name)
    stream = f"{base}/media/{project}/"
    download = f"{stream}download/"
    thumbs = f"{base}/thumbnails/{project}/"

    def add(item: dict[str, Any]) -> None:
        rel = item["relative_path"]
        if not _URL_SAFE.fullmatch(rel):  # most camera names need no quoting
            rel = quote(rel)
        item["stream_url"] = f"{stream}{rel}{query}"
        item["download_url"] = f"{download}{rel}{query}"
        item["thumb_url"] = (
            f"{thumbs}{item['sha256']}.jpg{query}" if item["kind"] in ("image", "video") else None
        )

    return add


def upload_url(base: str, ref: ProjectRef) -> str:
    return f"{base}/api/projects/{quote(ref.name)}/upload{source_query(ref.source.name)}"


def thumb_url(base: str, ref: ProjectRef, sha256: str) -> str:
    return f"{base}/thumbnails/{quote(ref.name)}/{sha256}.jpg{source_query(ref.source.name)}"

"""Absolute URLs the service hands out (upload, stream, download, thumbnails, adapter page)."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from litestar import Request

from daemon.settings import Settings
from daemon.storage.projects import ProjectRef
from daemon.storage.sources import PRIMARY

_URL_SAFE = re.compile(r"[A-Za-z0-9_.~/-]*")


def base_url(request: Request[Any, Any, Any], settings: Settings) -> str:
    """MEDIA_SYNC_PUBLIC_URL when set, else the scheme/host the client used."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    return str(request.base_url).rstrip("/")


def lan_address(settings: Settings) -> str:
    """The LAN URL a phone should use: the public URL, else this host's outbound address."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    address = "127.0.0.1"
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # TEST-NET address: no packet is sent for UDP connect
            address = probe.getsockname()[0]
    except OSError:
        pass
    return f"http://{address}:{settings.port}"


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

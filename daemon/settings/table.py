"""The table of MEDIA_SYNC_* variables: name, attribute, default, help and parser of each.

``Settings.from_env`` reads them in this order; the README's settings table, `deploy/.env.example`
and `media-sync settings` follow it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from daemon.settings.database import parse_database_url
from daemon.settings.parsers import (
    _csv,
    _file_mode,
    _log_level,
    _path,
    _paths,
    _port,
    _public_url,
    _text,
    _token,
    _watch,
    decimal,
    one_of,
    whole,
)

PROXY_CODECS = ("off", "prores", "dnxhr")
LOG_FORMATS = ("text", "json")
SECRET_SETTINGS = frozenset({"MEDIA_SYNC_API_TOKEN", "MEDIA_SYNC_READ_TOKEN"})
_log_format = one_of(LOG_FORMATS)
_proxies = one_of(PROXY_CODECS)


def _switch(value: str) -> bool:
    word = value.strip().lower()
    if word in ("on", "1", "true", "yes"):
        return True
    if word in ("off", "0", "false", "no"):
        return False
    raise ValueError("must be on or off")


@dataclass(frozen=True)
class Setting:
    """Documentation and parsing for one environment variable."""

    env: str
    attr: str
    default: str
    help: str
    parse: Callable[[str], Any]


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "MEDIA_SYNC_PROJECTS_ROOT",
        "projects_root",
        "./data/projects",
        "Primary source root (source name `primary`); `P{n}-<label>` projects live here.",
        _path,
    ),
    Setting(
        "MEDIA_SYNC_STATE_DIR",
        "state_dir",
        "./data/state",
        "Catalog (sqlite) and other derived state. Keep it on a local disk, not on the "
        "SMB share or a Docker Desktop bind mount: sqlite locking is unreliable there.",
        _path,
    ),
    Setting(
        "MEDIA_SYNC_DATABASE_URL",
        "database_url",
        "",
        "Where the catalog lives: empty = the sqlite file in MEDIA_SYNC_STATE_DIR; "
        "`postgresql://user:password@host:5432/database` = that PostgreSQL database (several "
        "`serve` replicas or hosts on one catalog). The password is never logged or shown.",
        parse_database_url,
    ),
    Setting(
        "MEDIA_SYNC_HOST",
        "host",
        "0.0.0.0",
        "Address to bind; `0.0.0.0` lets phones on the LAN reach the service.",
        _text,
    ),
    Setting("MEDIA_SYNC_PORT", "port", "8787", "TCP port to listen on.", _port),
    Setting(
        "MEDIA_SYNC_PUBLIC_URL",
        "public_url",
        "",
        "Base URL phones should use: `http://` or `https://`, a host, optionally a port and a "
        "path (e.g. `http://192.168.0.25:8787`; a trailing slash is dropped); empty means guess "
        "from the request and the host's LAN address.",
        _public_url,
    ),
    Setting(
        "MEDIA_SYNC_MAX_UPLOAD_MB",
        "max_upload_mb",
        "20480",
        "Largest accepted upload body in MiB; larger ones get 413 and leave nothing on disk.",
        whole(1, "MiB"),
    ),
    Setting(
        "MEDIA_SYNC_CORS_ORIGINS",
        "cors_origins",
        "",
        "Comma-separated origins allowed by CORS (`*` for any); empty disables CORS.",
        _csv,
    ),
    Setting(
        "MEDIA_SYNC_FILE_MODE",
        "file_mode",
        "0644",
        "Octal mode of stored media files (`0644`, `644` or `0o644`), so the NAS and the Resolve "
        "workstation can read them; the owner must be able to read, and group and others get no "
        "more than the owner (a decimal value such as `420` is refused).",
        _file_mode,
    ),
    Setting(
        "MEDIA_SYNC_WATCH",
        "watch",
        "auto",
        "Watcher backend per source: `auto` (inotify where it works, polling on "
        "network/virtual filesystems), `native`, `polling` or `off` (periodic "
        "reconcile only).",
        _watch,
    ),
    Setting(
        "MEDIA_SYNC_POLL_INTERVAL_SECONDS",
        "poll_interval_seconds",
        "5",
        "How often the polling backend lists the roots.",
        decimal("seconds", zero=False),
    ),
    Setting(
        "MEDIA_SYNC_SETTLE_SECONDS",
        "settle_seconds",
        "2",
        "A dropped file is ingested only after its size and mtime stayed the same this long.",
        decimal("seconds", zero=True),
    ),
    Setting(
        "MEDIA_SYNC_RECONCILE_INTERVAL_SECONDS",
        "reconcile_interval_seconds",
        "900",
        "Period of the full reconcile of every enabled source (jittered by +-10%).",
        decimal("seconds", zero=False),
    ),
    Setting(
        "MEDIA_SYNC_WATCH_TAKEOVER_SECONDS",
        "watch_takeover_seconds",
        "5",
        "With several `serve`/`daemon` processes on one catalog, one watches each source root; "
        "the others try to take a root over this often, so a dead holder's roots are watched "
        "again within it.",
        decimal("seconds", zero=False),
    ),
    Setting(
        "MEDIA_SYNC_RELOCATE_EXCLUDE",
        "relocate_exclude",
        "",
        "Comma-separated extra project sub-folders that relocation leaves alone "
        "(besides exports, renders, proxies, cache).",
        _csv,
    ),
    Setting(
        "MEDIA_SYNC_THUMBNAIL_WORKERS",
        "thumbnail_workers",
        "2",
        "Background threads making thumbnails and reading metadata.",
        whole(1, "threads"),
    ),
    Setting(
        "MEDIA_SYNC_PREVIEW_WORKERS",
        "preview_workers",
        "1",
        "Browser previews (H.264 copies of clips a browser cannot play, such as HEVC or ProRes) "
        "made at once; scrub strips have one more thread of their own.",
        whole(1, "previews"),
    ),
    Setting(
        "MEDIA_SYNC_RESOLVE_PROXIES",
        "resolve_proxies",
        "off",
        "Edit proxies for DaVinci Resolve, made for every catalogued video into "
        "`ingest/proxies/` and linked by the resolve-agent: `off`, `prores` (ProRes Proxy) "
        "or `dnxhr` (DNxHR LB).",
        _proxies,
    ),
    Setting(
        "MEDIA_SYNC_RESOLVE_LEASE_SECONDS",
        "resolve_lease_seconds",
        "120",
        "How long a resolve-agent's claim on a job lasts without a heartbeat.",
        decimal("seconds", zero=False),
    ),
    Setting(
        "MEDIA_SYNC_RESOLVE_MAX_ATTEMPTS",
        "resolve_max_attempts",
        "3",
        "Claims a Resolve job gets before an expired lease fails it.",
        whole(1, "attempts"),
    ),
    Setting(
        "MEDIA_SYNC_TRASH_DAYS",
        "trash_days",
        "30",
        "Days deleted media stay in each project's `_manifest/trash/` before they are purged; "
        "`0` keeps them forever.",
        whole(0, "days"),
    ),
    Setting(
        "MEDIA_SYNC_ALLOWED_HOSTS",
        "allowed_hosts",
        "",
        "Comma-separated extra host names the service answers to. IP addresses, `localhost`, "
        "this machine's own names and the host of MEDIA_SYNC_PUBLIC_URL are always allowed; "
        "a request naming any other `Host` is refused (DNS rebinding).",
        _csv,
    ),
    Setting(
        "MEDIA_SYNC_SOURCE_PARENTS",
        "source_parents",
        "",
        "Comma-separated folders under which extra sources may be registered; empty means "
        "the parent folder of MEDIA_SYNC_PROJECTS_ROOT.",
        _paths,
    ),
    Setting(
        "MEDIA_SYNC_API_TOKEN",
        "api_token",
        "",
        "When set, every request must carry this token (`Authorization: Bearer`, the page's "
        "login cookie, or `?token=` for Shortcuts); empty leaves the LAN open.",
        _token,
    ),
    Setting(
        "MEDIA_SYNC_READ_TOKEN",
        "read_token",
        "",
        "Optional second token that may only read (list, stream, download); needs "
        "MEDIA_SYNC_API_TOKEN to be set too.",
        _token,
    ),
    Setting(
        "MEDIA_SYNC_DECODE_MEMORY_MB",
        "decode_memory_mb",
        "768",
        "Memory budget for decoding images and video frames into thumbnails; decodes that "
        "together would need more wait their turn (a huge photo decodes alone).",
        whole(1, "MiB"),
    ),
    Setting(
        "MEDIA_SYNC_MAX_PARTS",
        "max_parts",
        "1000",
        "Most file parts one multipart upload request may carry; more are refused with 413.",
        whole(1, "parts"),
    ),
    Setting(
        "MEDIA_SYNC_UPLOAD_EXPIRY_HOURS",
        "upload_expiry_hours",
        "24",
        "Hours an unfinished resumable upload (tus, IETF) is kept after its last write; then "
        "its bytes are removed and its URL answers 410.",
        decimal("hours", zero=False),
    ),
    Setting(
        "MEDIA_SYNC_MAX_CONNECTIONS",
        "max_connections",
        "0",
        "Most HTTP connections served at once; `0` derives it from the open-file limit "
        "(half of it, less a reserve), so stalled clients cannot exhaust file descriptors.",
        whole(0, "connections"),
    ),
    Setting(
        "MEDIA_SYNC_HEADER_TIMEOUT_SECONDS",
        "header_timeout_seconds",
        "30",
        "A client must send its request headers within this long, or is disconnected.",
        decimal("seconds", zero=False),
    ),
    Setting(
        "MEDIA_SYNC_BODY_TIMEOUT_SECONDS",
        "body_timeout_seconds",
        "60",
        "An upload that sends no byte for this long is dropped (nothing is kept).",
        decimal("seconds", zero=False),
    ),
    Setting(
        "MEDIA_SYNC_KEEPALIVE_SECONDS",
        "keepalive_seconds",
        "5",
        "How long an idle keep-alive connection stays open between requests.",
        decimal("seconds", zero=False),
    ),
    Setting(
        "MEDIA_SYNC_LOG_LEVEL",
        "log_level",
        "INFO",
        "Logging level: DEBUG, INFO, WARNING or ERROR.",
        _log_level,
    ),
    Setting(
        "MEDIA_SYNC_LOG_FORMAT",
        "log_format",
        "text",
        "`text` (one readable line per event) or `json` (one JSON object per line, for log "
        "collectors such as Loki, Vector or journald forwarders).",
        _log_format,
    ),
    Setting(
        "MEDIA_SYNC_ACCESS_LOG",
        "access_log",
        "on",
        "`on` logs one line per HTTP request (method, path, status, bytes, time, client) under "
        "`media_sync_api.access`; `off` leaves only the event lines.",
        _switch,
    ),
)

"""`media-sync doctor`: checks a setup the way an operator would and prints a fix for each
problem. Exit 0 when nothing FAILed (WARN allowed), 1 otherwise; ``--json`` prints the list.
(The parser and its command function: ``checkcli``.)

The disk checks live in ``diagnosis`` (roots, inotify, ownership and modes); here are the
catalog (opened read-only: ``daemon.catalog.health``), the URL a phone will use
(``phoneurl``) and the port, and the command itself. Nothing is changed, except that a temp
file is made and removed in each root to prove it is writable.
"""

from __future__ import annotations

import json
import socket
from typing import Any

from daemon.catalog.health import inspect
from daemon.runtime.diagnosis import FAIL, OK, WARN, Check, source_checks
from daemon.runtime.phoneurl import phone_url
from daemon.settings import Settings
from daemon.storage.sources import PRIMARY, Registry, Source, load_registry

PORT_PROBE_SECONDS = 1.0


def catalog_check(settings: Settings) -> Check:
    """Opens, schema version current, integrity (sqlite quick_check; PostgreSQL answers)."""
    health = inspect(settings.database_url or settings.catalog_path)
    where = f"{health.engine} catalog {health.location}"
    if not health.exists:
        return Check("catalog", OK, f"{where} does not exist yet: start-up makes it")
    if health.problems:
        if health.engine == "sqlite":
            fix = (
                "stop media-sync, then `media-sync rebuild` makes the catalog again from the "
                "files, index.json and _manifest/ (Resolve jobs are kept when still readable)"
            )
        else:
            fix = "check that the PostgreSQL server is up and MEDIA_SYNC_DATABASE_URL is right"
        return Check("catalog", FAIL, f"{where}: {'; '.join(health.problems)}", fix)
    version, current = health.schema_version, health.current_version
    if version is None or version > current:
        found = f"{where} has schema {version}, newer than this media-sync's {current}"
        return Check("catalog", FAIL, found, "upgrade media-sync to the version that wrote it")
    found = f"{where}: schema {version}, {health.files:,} files, integrity ok"
    if version < current:
        return Check("catalog", WARN, found, f"start media-sync once to migrate it to {current}")
    return Check("catalog", OK, found)


def url_check(settings: Settings) -> Check:
    """The URL a phone will be given: MEDIA_SYNC_PUBLIC_URL, else the LAN address guess."""
    phone = phone_url(settings)
    where = "guessed from this host's address" if phone.guessed else "MEDIA_SYNC_PUBLIC_URL"
    found = f"phones will use {phone.url} ({where})"
    if phone.problem is not None:
        return Check("phone URL", WARN, f"{found}: {phone.problem}", phone.fix)
    return Check("phone URL", OK, found)


def _probe_host(host: str) -> str:
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)


def port_check(settings: Settings) -> Check:
    """Is something already listening on the port (information only: it may be media-sync)."""
    host = _probe_host(settings.host)
    try:
        with socket.create_connection((host, settings.port), timeout=PORT_PROBE_SECONDS):
            pass
    except OSError:
        return Check("port", OK, f"nothing listens on {host}:{settings.port}: free for serve")
    found = (
        f"something listens on {host}:{settings.port} (media-sync itself if it runs; else "
        "choose another port: MEDIA_SYNC_PORT or `serve --port`)"
    )
    return Check("port", OK, found)


def _registry(settings: Settings) -> Registry:
    try:
        return load_registry(settings)
    except OSError as exc:  # the root is a file, or unreadable: the root checks say so
        error = f"source registry unreadable: {exc.strerror or exc}"
        return Registry((Source(PRIMARY, settings.projects_root),), error=error)


def run_checks(settings: Settings) -> list[Check]:
    """Every check, in the order they are printed."""
    checks = source_checks(settings, _registry(settings))
    checks.append(catalog_check(settings))
    checks.append(url_check(settings))
    checks.append(port_check(settings))
    return checks


def render(checks: list[Check]) -> str:
    """One line per check (status, name, what was found), each fix indented below it."""
    lines = []
    for check in checks:
        lines.append(f"{check.status:<4}  {check.check}: {check.found}")
        if check.fix and check.status != OK:
            lines.append(f"      fix: {check.fix}")
    counts = {status: sum(c.status == status for c in checks) for status in (OK, WARN, FAIL)}
    lines.append(", ".join(f"{count} {status}" for status, count in counts.items()))
    return "\n".join(lines)


def report(checks: list[Check], as_json: bool) -> int:
    """Print the checks (text or a JSON list); the exit code: 1 when any FAILed, else 0."""
    if as_json:
        document: list[dict[str, Any]] = [check.as_dict() for check in checks]
        print(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        print(render(checks))
    return 1 if any(check.status == FAIL for check in checks) else 0

"""The daemon's own commands: `daemon`, `rebuild`, `catalog copy`, `settings`, and the hand-off
to `resolve-agent`.

``ingress.cli`` composes the `media-sync` parser: its own `serve`, then ``add_commands`` here.
Only the standard library and ``daemon.settings`` load at import time (a workstation installs
media-sync with ``--no-deps`` to run the resolve-agent); each command imports what it runs.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

from daemon.settings import SECRET_SETTINGS, SETTINGS, Settings
from daemon.settings.database import redact

AGENT_COMMAND = "resolve-agent"


def settings_from(args: argparse.Namespace) -> Settings:
    """The environment's settings, with the command line's ``--host``/``--port`` when given."""
    return Settings.from_env(host=getattr(args, "host", None), port=getattr(args, "port", None))


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def cmd_daemon(args: argparse.Namespace) -> int:
    from daemon.runtime.process import run_forever
    from daemon.runtime.startup import preflight

    settings = settings_from(args)
    preflight(settings)
    configure_logging(settings)
    return run_forever(settings)


def cmd_rebuild(args: argparse.Namespace) -> int:
    from daemon.ingest.rebuild import rebuild

    settings = settings_from(args)
    configure_logging(settings)
    report = rebuild(settings)
    offline = report.offline_sources
    print(
        f"catalog rebuilt: {len(report.projects)} projects, {report.files} files, "
        f"{report.jobs_kept} Resolve jobs kept"
        + (f"; offline sources skipped: {', '.join(offline)}" if offline else "")
    )
    return 0


def cmd_catalog_copy(args: argparse.Namespace) -> int:
    """`media-sync catalog copy --to URL`: the sqlite catalog into an empty PostgreSQL one."""
    from daemon.catalog import Catalog
    from daemon.catalog.copy import copy_catalog, open_sqlite_source
    from daemon.errors import SettingsError
    from daemon.settings.database import parse_database_url, redact

    settings = settings_from(args)
    configure_logging(settings)
    try:
        url = parse_database_url(args.to)
    except ValueError as exc:
        raise SettingsError(f"--to {redact(args.to)!r} is invalid: {exc}") from None
    if not url:
        raise SettingsError("--to needs a postgresql://user:password@host:5432/database URL")
    source = open_sqlite_source(Path(args.source) if args.source else settings.catalog_path)
    try:
        target = Catalog.open(url)
        try:
            report = copy_catalog(source, target, force=args.force, progress=print)
        finally:
            target.close()
    finally:
        source.close()
    copied = ", ".join(f"{count:,} {table}" for table, count in report.rows.items())
    print(f"catalog copied from {source.location} to {redact(url)}: {copied}")
    print("Use it: set MEDIA_SYNC_DATABASE_URL to that URL and restart every media-sync process.")
    return 0


def cmd_settings(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    for setting in SETTINGS:
        value = getattr(settings, setting.attr)
        if setting.env in SECRET_SETTINGS and value:
            value = "(set, hidden)"
        elif setting.attr == "database_url":
            value = redact(value)
        print(f"{setting.env}={value!r}")
    return 0


def run_agent(argv: Sequence[str]) -> int:
    """`media-sync resolve-agent ...`: the workstation agent parses its own options."""
    from daemon.resolve_agent.cli import main

    return main(argv)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `daemon`, `rebuild`, `catalog`, `settings` and `resolve-agent` to the parser."""
    sub.add_parser(
        "daemon",
        help="run the watcher and the thumbnail workers alone (beside `serve --no-watch`)",
        description="Run the watcher and the thumbnail workers until SIGINT or SIGTERM.",
    ).set_defaults(func=cmd_daemon)
    sub.add_parser(
        "rebuild",
        help="re-create the catalog from the files on disk",
        description="Re-create the catalog from the files, index.json and _manifest/ on disk.",
    ).set_defaults(func=cmd_rebuild)
    catalog = sub.add_parser(
        "catalog",
        help="work on the catalog database (`catalog copy --to postgresql://...`)",
        description="Work on the catalog database.",
    )
    catalog_sub = catalog.add_subparsers(dest="catalog_command", required=True)
    copy = catalog_sub.add_parser(
        "copy",
        help="copy the sqlite catalog into an empty PostgreSQL database",
        description="Copy the sqlite catalog (MEDIA_SYNC_STATE_DIR/catalog.sqlite3) into an "
        "empty PostgreSQL database: files, contents, metadata, tags, Resolve jobs, events, "
        "projects and upload batches. Stop media-sync first; then set MEDIA_SYNC_DATABASE_URL.",
    )
    copy.add_argument(
        "--to", required=True, metavar="URL", help="postgresql://user:password@host:5432/db"
    )
    copy.add_argument(
        "--from", dest="source", metavar="PATH", help="another sqlite catalog file to copy"
    )
    copy.add_argument(
        "--force", action="store_true", help="replace the rows a non-empty target already holds"
    )
    copy.set_defaults(func=cmd_catalog_copy)
    sub.add_parser(
        "settings",
        help="print the effective settings",
        description="Print every MEDIA_SYNC_* setting as this process sees it (secrets hidden).",
    ).set_defaults(func=cmd_settings)
    # Listed for --help only: main() hands `resolve-agent ...` to the agent before parsing.
    sub.add_parser(
        AGENT_COMMAND,
        add_help=False,
        help="poll the server and run Resolve jobs on this workstation",
    ).set_defaults(func=None)

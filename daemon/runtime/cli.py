"""The daemon's own commands: `daemon`, `rebuild`, `reindex`, `catalog copy`, `settings`, and
the hand-off to `resolve-agent`.

``ingress.cli`` composes the `media-sync` parser: its own `serve`, then ``add_commands`` here.
Only the standard library and ``daemon.settings`` load at import time (a workstation installs
media-sync with ``--no-deps`` to run the resolve-agent); each command imports what it runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from daemon.settings import Settings

if TYPE_CHECKING:
    from daemon.library import Library
    from daemon.watch.execute import SourceResult

AGENT_COMMAND = "resolve-agent"


def settings_from(args: argparse.Namespace) -> Settings:
    """The environment's settings, with the command line's ``--host``/``--port`` when given."""
    return Settings.from_env(host=getattr(args, "host", None), port=getattr(args, "port", None))


def configure_logging(settings: Settings) -> None:
    """MEDIA_SYNC_LOG_LEVEL and MEDIA_SYNC_LOG_FORMAT (text or json) on stderr."""
    from daemon.runtime.logsetup import configure_logging as configure

    configure(settings)


def cmd_daemon(args: argparse.Namespace) -> int:
    from daemon.runtime.process import run_forever
    from daemon.runtime.startup import preflight

    settings = settings_from(args)
    preflight(settings)
    configure_logging(settings)
    return run_forever(settings)


def cmd_rebuild(args: argparse.Namespace) -> int:
    from daemon.ingest.rebuild import Step, rebuild
    from daemon.runtime.progress import progress_display
    from daemon.runtime.startup import check_roots

    settings = settings_from(args)
    check_roots(settings)  # a missing root would make an empty catalog
    configure_logging(settings)
    with progress_display("rebuilding the catalog") as update:

        def progress(step: Step) -> None:
            update(step.done, step.total, step.line)

        report = rebuild(settings, progress)
    offline = report.offline_sources
    print(
        f"catalog rebuilt: {len(report.projects)} projects, {report.files} files, "
        f"{report.jobs_kept} Resolve jobs kept"
        + (f"; offline sources skipped: {', '.join(offline)}" if offline else "")
    )
    return 0


def cmd_reindex(args: argparse.Namespace) -> int:
    """`media-sync reindex`: what GET /reindex runs (``daemon.watch.reconcile.reindex``)."""
    from daemon.library import Library
    from daemon.runtime.progress import progress_display
    from daemon.runtime.startup import check_roots
    from daemon.watch.reconcile import Scope, reindex

    settings = settings_from(args)
    check_roots(settings)
    configure_logging(settings)
    lib = Library.open(settings)
    try:
        if args.project:
            ref = lib.project(args.source, args.project)
            jobs = [(ref.source, Scope(frozenset({ref.name}), root=False))]
        else:
            sources = [lib.source(args.source)] if args.source else lib.registry().enabled
            jobs = [(source, Scope()) for source in sources]
        failed = 0
        with progress_display(f"reindexing {len(jobs)} source(s)") as update:
            update(0, len(jobs), None)
            for done, (source, scope) in enumerate(jobs, start=1):
                (result,) = reindex(lib, [source], scope)
                failed += result.status != "ok" or bool(result.errors)
                update(done, len(jobs), _reindexed(result))
        if not args.project:
            _print_unadopted(lib, args.source)
    finally:
        lib.close()
    return 1 if failed else 0


def _reindexed(result: SourceResult) -> str:
    """One source's reindex in one line (its file errors on the lines after it)."""
    if result.status != "ok":
        return f"{result.source}: offline ({result.offline_reason}); its records were kept"
    counts = ("indexed", "removed", "renamed", "relocated", "unchanged", "settling", "held")
    line = f"{result.source}: " + ", ".join(f"{getattr(result, c)} {c}" for c in counts)
    for error in result.errors:
        line += f"\n  {error['project']}/{error['path']}: {error['error']}"
    return line


def _print_unadopted(lib: Library, source: str | None) -> None:
    from daemon.ingest.foreign import unadopted_folders

    for entry in unadopted_folders(lib, source):
        print(
            f"{entry['source']}: folder {entry['folder']!r} holds {entry['media_files']} media "
            f"file(s) but is not a project; adopt it as {entry['suggested_project']} from the page "
            "or with POST /api/folders/adopt"
        )


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
    from daemon.settings.show import env_lines, shown

    settings = settings_from(args)
    if args.env:
        print("\n".join(env_lines(settings, secrets=args.show_secrets)))
        return 0
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(width=None if sys.stdout.isatty() else 200)
    table = Table("Variable", "Value", "", title="media-sync settings", title_justify="left")
    for line in shown(settings, secrets=args.show_secrets):
        table.add_row(Text(line.name), Text(line.value), "default" if line.default else "set")
    console.print(table, markup=False, highlight=False)
    print("Paste-able NAME=value lines: media-sync settings --env")
    return 0


def run_agent(argv: Sequence[str]) -> int:
    """`media-sync resolve-agent ...`: the workstation agent parses its own options."""
    from daemon.resolve_agent.cli import main

    return main(argv)


def add_scope_arguments(parser: argparse.ArgumentParser) -> None:
    """``--project P`` and ``--source S``: what a command that walks the roots works on."""
    parser.add_argument("--project", metavar="P", help="only this project (e.g. P3-Wedding)")
    parser.add_argument("--source", metavar="S", help="only this source (default: all enabled)")


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `daemon`, `rebuild`, `reindex`, `catalog`, `settings` and `resolve-agent`."""
    sub.add_parser(
        "daemon",
        help="run the watcher and the thumbnail workers alone (beside `serve --no-watch`)",
        description="Run the watcher, the thumbnail and preview workers and the periodic "
        "reconcile, without HTTP, until SIGINT or SIGTERM. Pair it with `media-sync serve "
        "--no-watch` (one catalog, two processes).",
    ).set_defaults(func=cmd_daemon)
    sub.add_parser(
        "rebuild",
        help="re-create the catalog from the files on disk",
        description="Re-create the catalog from the files, index.json and _manifest/ on disk "
        "(Resolve jobs are kept; offline sources are skipped). Shows a progress bar on a "
        "terminal, one line per project otherwise.",
    ).set_defaults(func=cmd_rebuild)
    reindex = sub.add_parser(
        "reindex",
        help="reconcile the roots with the catalog now (what GET /reindex does)",
        description="Reconcile every enabled source (or one, or one project) with the catalog "
        "now: index new files, prune missing ones, relocate loose media, as GET /reindex does. "
        "Exits 1 when a source is offline or a file could not be processed.",
    )
    add_scope_arguments(reindex)
    reindex.set_defaults(func=cmd_reindex)
    catalog = sub.add_parser(
        "catalog",
        help="work on the catalog database (`catalog copy --to postgresql://...`)",
        description="Work on the catalog database: `catalog copy --to postgresql://...` moves "
        "the sqlite catalog into PostgreSQL.",
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
    settings = sub.add_parser(
        "settings",
        help="print the effective MEDIA_SYNC_* settings",
        description="Print every MEDIA_SYNC_* setting as this process sees it, written as in an "
        "env file, and whether it is the default. Tokens and a database password are hidden "
        "unless --show-secrets.",
    )
    settings.add_argument(
        "--env",
        action="store_true",
        help="print NAME=value lines for an env file (they give the same settings back)",
    )
    settings.add_argument(
        "--show-secrets", action="store_true", help="print the tokens and the database password"
    )
    settings.set_defaults(func=cmd_settings)
    # Listed for --help only: main() hands `resolve-agent ...` to the agent before parsing.
    sub.add_parser(
        AGENT_COMMAND,
        add_help=False,
        help="poll the server and run Resolve jobs on this workstation",
    ).set_defaults(func=None)
    from daemon.runtime.checkcli import add_commands as add_check_commands

    add_check_commands(sub)  # `doctor` and `verify`

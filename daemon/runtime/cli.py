"""The daemon's own commands: `daemon`, `rebuild`, `settings`, and the hand-off to `resolve-agent`.

``ingress.cli`` composes the `media-sync` parser: its own `serve`, then ``add_commands`` here.
Only the standard library and ``daemon.settings`` load at import time (a workstation installs
media-sync with ``--no-deps`` to run the resolve-agent); each command imports what it runs.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from daemon.settings import SECRET_SETTINGS, SETTINGS, Settings

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


def cmd_settings(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    for setting in SETTINGS:
        value = getattr(settings, setting.attr)
        if setting.env in SECRET_SETTINGS and value:
            value = "(set, hidden)"
        print(f"{setting.env}={value!r}")
    return 0


def run_agent(argv: Sequence[str]) -> int:
    """`media-sync resolve-agent ...`: the workstation agent parses its own options."""
    from daemon.resolve_agent.cli import main

    return main(argv)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `daemon`, `rebuild`, `settings` and `resolve-agent` to the `media-sync` parser."""
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

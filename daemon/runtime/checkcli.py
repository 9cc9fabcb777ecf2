"""The `doctor` and `verify` commands' parsers and entry points.

Only the standard library loads at import time (as in ``daemon.runtime.cli``, which adds these
commands: a workstation installs media-sync with ``--no-deps``); each command imports what it runs.
"""

from __future__ import annotations

import argparse


def cmd_doctor(args: argparse.Namespace) -> int:
    from daemon.runtime.cli import settings_from
    from daemon.runtime.doctor import report, run_checks

    return report(run_checks(settings_from(args)), as_json=args.json)


def cmd_verify(args: argparse.Namespace) -> int:
    from daemon.runtime.cli import settings_from
    from daemon.runtime.verify import run

    return run(settings_from(args), args.source, args.project, mhl=not args.no_mhl)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `doctor` and `verify` to the `media-sync` parser."""
    from daemon.runtime.cli import add_scope_arguments

    doctor = sub.add_parser(
        "doctor",
        help="check the roots, inotify, file modes, the catalog and the phone URL",
        description="Check each source root (exists, mount type, writable, free space, watch "
        "backend), the inotify limits, the owner and mode of stored media, the catalog's "
        "integrity, the URL phones will use and the port; print a fix for each problem. "
        "Exit 1 when a check FAILs (WARN alone exits 0). Reads the MEDIA_SYNC_* settings.",
    )
    doctor.add_argument("--json", action="store_true", help="print the checks as a JSON list")
    doctor.set_defaults(func=cmd_doctor)
    verify = sub.add_parser(
        "verify",
        help="re-hash files against the catalog and write an ASC MHL manifest per project",
        description="Re-hash every catalogued file (sha256) to find bit rot and silent "
        "changes, list missing files and media the catalog does not know, then add an ASC MHL "
        "generation (the project's ascmhl/ folder) to each project that verified clean. Media "
        "are only read. Exit 1 when a file changed, is missing or cannot be read.",
    )
    add_scope_arguments(verify)
    verify.add_argument(
        "--no-mhl", action="store_true", help="only re-hash; write no ASC MHL generation"
    )
    verify.set_defaults(func=cmd_verify)

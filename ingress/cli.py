"""The `media-sync` command: serve, daemon, rebuild, resolve-agent, settings."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from daemon.errors import MediaSyncError, SettingsError
from daemon.settings import SECRET_SETTINGS, SETTINGS, Settings


def _port_flag(value: str) -> int:
    """``--port`` is checked like MEDIA_SYNC_PORT (argparse's int alone lets 70000 through)."""
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} must be between 1 and 65535")
    return port


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(host=getattr(args, "host", None), port=getattr(args, "port", None))


def _preflight(settings: Settings) -> None:
    """Fail in one line on roots that cannot be made or a catalog that cannot be opened
    (inside uvicorn's lifespan the same errors become a page of traceback and exit 3)."""
    from daemon.catalog import Catalog

    for var, path in (
        ("MEDIA_SYNC_PROJECTS_ROOT", settings.projects_root),
        ("MEDIA_SYNC_STATE_DIR", settings.state_dir),
    ):
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SettingsError(f"{var}={str(path)!r} cannot be created: {exc.strerror}") from None
    Catalog.open(settings.catalog_path).close()


def _logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from daemon.runtime.services import default_services
    from ingress.app import create_app
    from ingress.routes.events import SHUTDOWN
    from ingress.server import uvicorn_config

    settings = _settings(args)
    _preflight(settings)
    _logging(settings)
    app = create_app(settings, services=default_services(settings, watcher=not args.no_watch))

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: object) -> None:
            SHUTDOWN.set()  # end event streams so in-flight uploads alone decide the drain
            super().handle_exit(sig, frame)  # type: ignore[arg-type]

    config = uvicorn_config(app, settings, timeout_graceful_shutdown=60)
    Server(config).run()
    return 0


def cmd_daemon(args: argparse.Namespace) -> int:
    from daemon.runtime.process import run_forever

    settings = _settings(args)
    _preflight(settings)
    _logging(settings)
    return int(run_forever(settings))


def cmd_rebuild(args: argparse.Namespace) -> int:
    from daemon.ingest.rebuild import rebuild

    settings = _settings(args)
    _logging(settings)
    report = rebuild(settings)
    print(
        f"catalog rebuilt: {len(report.projects)} projects, {report.files} files, "
        f"{report.jobs_kept} Resolve jobs kept"
        + (
            f"; offline sources skipped: {', '.join(report.offline_sources)}"
            if report.offline_sources
            else ""
        )
    )
    return 0


def cmd_settings(args: argparse.Namespace) -> int:
    settings = _settings(args)
    for setting in SETTINGS:
        value = getattr(settings, setting.attr)
        if setting.env in SECRET_SETTINGS and value:
            value = "(set, hidden)"
        print(f"{setting.env}={value!r}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="media-sync", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP ingress and the watcher in one process")
    serve.add_argument("--host", help="bind address (overrides MEDIA_SYNC_HOST)")
    serve.add_argument("--port", type=_port_flag, help="port (overrides MEDIA_SYNC_PORT)")
    serve.add_argument(
        "--no-watch",
        action="store_true",
        help="do not run the watcher in this process (run `media-sync daemon`)",
    )
    serve.set_defaults(func=cmd_serve)
    sub.add_parser("daemon", help="run the watcher alone").set_defaults(func=cmd_daemon)
    sub.add_parser("rebuild", help="re-create the catalog from the files on disk").set_defaults(
        func=cmd_rebuild
    )
    sub.add_parser("settings", help="print the effective settings").set_defaults(func=cmd_settings)
    agent = sub.add_parser(
        "resolve-agent",
        add_help=False,
        help="poll the server and run Resolve jobs on this workstation",
    )
    agent.set_defaults(func=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["resolve-agent"]:
        from daemon.resolve_agent.agent import main as agent_main

        return int(agent_main(args_list[1:]))
    args = build_parser().parse_args(args_list)
    try:
        result: int = args.func(args)
    except MediaSyncError as exc:
        print(f"media-sync: {exc.detail}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return result


if __name__ == "__main__":
    sys.exit(main())

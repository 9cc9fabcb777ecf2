"""The `media-sync` command: serve, daemon, rebuild, resolve-agent, settings.

`serve` (HTTP) is defined here; the daemon's own commands come from ``daemon.runtime.cli``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from daemon.errors import MediaSyncError
from daemon.runtime.cli import (
    AGENT_COMMAND,
    add_commands,
    configure_logging,
    run_agent,
    settings_from,
)


def _port_flag(value: str) -> int:
    """``--port`` is checked like MEDIA_SYNC_PORT (argparse's int alone lets 70000 through)."""
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} must be between 1 and 65535")
    return port


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from daemon.runtime.services import default_services
    from daemon.runtime.startup import preflight
    from ingress.app import create_app
    from ingress.routes.events import SHUTDOWN
    from ingress.server import uvicorn_config

    settings = settings_from(args)
    preflight(settings)
    configure_logging(settings)
    app = create_app(settings, services=default_services(settings, watcher=not args.no_watch))

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: object) -> None:
            SHUTDOWN.set()  # end event streams so in-flight uploads alone decide the drain
            super().handle_exit(sig, frame)  # type: ignore[arg-type]

    config = uvicorn_config(app, settings, timeout_graceful_shutdown=60)
    Server(config).run()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="media-sync",
        description="LAN media ingest. `serve` runs the HTTP ingress (and the watcher), `daemon` "
        "the watcher alone; both work on one catalog in MEDIA_SYNC_STATE_DIR.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve",
        help="run the HTTP ingress and the watcher in one process",
        description="Run the HTTP ingress, the thumbnail workers and (unless --no-watch) the "
        "watcher until SIGINT or SIGTERM.",
    )
    serve.add_argument("--host", help="bind address (overrides MEDIA_SYNC_HOST)")
    serve.add_argument("--port", type=_port_flag, help="port (overrides MEDIA_SYNC_PORT)")
    serve.add_argument(
        "--no-watch",
        action="store_true",
        help="do not run the watcher in this process (run `media-sync daemon`)",
    )
    serve.set_defaults(func=cmd_serve)
    add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == [AGENT_COMMAND]:
        return run_agent(args_list[1:])
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

"""The `media-sync` command: serve, daemon, rebuild, reindex, resolve-agent, settings.

`serve` (HTTP) is defined here, with the check that its port is free before anything starts;
the daemon's own commands come from ``daemon.runtime.cli``.
"""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
from collections.abc import Sequence
from importlib import metadata

from daemon.errors import MediaSyncError, SettingsError
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


def _bind_error(host: str, port: int) -> OSError | None:
    """Bind ``host:port`` as uvicorn will (SO_REUSEADDR, IPv6 for an address with a colon) and
    let go: the error, or None when the port is free."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc
    return None


def check_port(host: str, port: int) -> None:
    """Refuse in one line a port that cannot be bound, naming it and how to choose another
    (uvicorn would fail only after the whole start-up, with exit 3 and no hint)."""
    error = _bind_error(host, port)
    if error is None:
        return
    others = [p for p in range(port + 1, min(port + 20, 65535) + 1)]
    other = next((p for p in others if _bind_error(host, p) is None), others[0] if others else 8787)
    how = f"choose another with --port {other} or MEDIA_SYNC_PORT={other} (make run PORT={other})"
    if error.errno == errno.EADDRINUSE:
        raise SettingsError(f"port {port} on {host} is already in use (another media-sync?); {how}")
    raise SettingsError(f"port {port} on {host} cannot be used: {error.strerror}; {how}")


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from daemon.runtime.services import default_services
    from daemon.runtime.startup import preflight
    from ingress.app import create_app
    from ingress.routes.events import SHUTDOWN
    from ingress.server import uvicorn_config

    settings = settings_from(args)
    preflight(settings)
    check_port(settings.host, settings.port)
    configure_logging(settings)
    app = create_app(settings, services=default_services(settings, watcher=not args.no_watch))

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: object) -> None:
            SHUTDOWN.set()  # end event streams so in-flight uploads alone decide the drain
            super().handle_exit(sig, frame)  # type: ignore[arg-type]

    config = uvicorn_config(app, settings, timeout_graceful_shutdown=60)
    Server(config).run()
    return 0


EPILOG = """\
settings: every setting is a MEDIA_SYNC_* environment variable (MEDIA_SYNC_PROJECTS_ROOT,
MEDIA_SYNC_PORT, ...); `media-sync settings` lists them with their values, `media-sync
settings --env` as NAME=value lines for an env file; the README's settings table explains
each one. From a checkout, `make run` installs this command as .venv/bin/media-sync.
"""


def version() -> str:
    """The installed distribution's version (the package's own when run from a bare checkout)."""
    try:
        return metadata.version("media-sync")
    except metadata.PackageNotFoundError:
        from daemon import __version__

        return __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="media-sync",
        description="LAN media ingest. `serve` runs the HTTP ingress (and the watcher), `daemon`\n"
        "the watcher alone; both work on one catalog in MEDIA_SYNC_STATE_DIR.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"media-sync {version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve",
        help="run the HTTP ingress and the watcher in one process",
        description="Run the HTTP ingress (the page, the API), the thumbnail workers and (unless "
        "--no-watch) the watcher until SIGINT or SIGTERM. Refuses to start, in one line, when "
        "the projects root is missing or the port is taken.",
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
    except BrokenPipeError:  # `media-sync settings | head`: the reader left, nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return result


if __name__ == "__main__":
    sys.exit(main())

"""`media-sync resolve-agent`: the agent's options, its signal handling, and ``main(argv)``."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable, Sequence

from daemon.resolve_agent.adapter import ScriptApp
from daemon.resolve_agent.agent import Agent, AgentConfig
from daemon.resolve_agent.client import TOKEN_ENV
from daemon.resolve_agent.pathmap import PathMappingError, parse_map

log = logging.getLogger("media_sync.resolve_agent")


def load_factory(spec: str) -> ScriptApp:
    """``module:callable`` -> a callable used instead of ``DaVinciResolveScript.scriptapp``."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"--adapter-factory {spec!r} must look like module:callable")
    factory: ScriptApp = getattr(importlib.import_module(module_name), attr)
    return factory


def build_parser(prog: str = "media-sync resolve-agent") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Poll a media-sync server and run its Resolve jobs on this workstation.",
    )
    parser.add_argument("--server", required=True, help="server URL, e.g. http://nas:8080")
    parser.add_argument(
        "--name", default=socket.gethostname(), help="agent name shown in jobs (default: hostname)"
    )
    parser.add_argument(
        "--map",
        action="append",
        required=True,
        metavar="SOURCE=LOCAL_ROOT",
        help="where a server source is mounted here, e.g. primary=B:\\Video\\Projects or "
        "primary=/Volumes/Video/Projects (repeatable)",
    )
    parser.add_argument(
        "--poll-seconds", type=float, default=2.0, help="idle back-off base (default 2, max 30)"
    )
    parser.add_argument(
        "--token",
        default=os.environ.get(TOKEN_ENV, ""),
        help=f"the server's API token, sent as Authorization: Bearer (default: ${TOKEN_ENV}; "
        "the environment keeps it out of the process list)",
    )
    parser.add_argument("--once", action="store_true", help="run at most one job, then exit")
    parser.add_argument(
        "--log-level", default="INFO", help="DEBUG, INFO, WARNING... (default INFO)"
    )
    parser.add_argument("--adapter-factory", help=argparse.SUPPRESS)
    return parser


def _mappings(parser: argparse.ArgumentParser, specs: Sequence[str]) -> list[tuple[str, str]]:
    mappings: list[tuple[str, str]] = []
    for spec in specs:
        try:
            source, root = parse_map(spec)
        except PathMappingError as exc:
            parser.error(exc.detail)
        if any(source.casefold() == known.casefold() for known, _ in mappings):
            parser.error(f"source {source!r} is mapped twice")
        mappings.append((source, root))
    return mappings


def _install_signals(stop: threading.Event) -> Callable[[], None]:
    """SIGINT/SIGTERM set ``stop``; a second one quits at once. Returns the undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, _frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        log.info("signal %d: stopping after the job in hand (again to quit now)", signum)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}

    def undo() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return undo


def main(argv: Sequence[str] | None = None, prog: str = "media-sync resolve-agent") -> int:
    """``media-sync resolve-agent`` (or ``prog``: the downloaded ``resolve-agent.pyz``): parse,
    then poll until stopped; 0 on a clean stop."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    config = AgentConfig(
        server=args.server,
        name=args.name,
        mappings=_mappings(parser, args.map),
        poll_seconds=max(args.poll_seconds, 0.05),
        once=args.once,
        token=args.token.strip(),
    )
    scriptapp = load_factory(args.adapter_factory) if args.adapter_factory else None
    stop = threading.Event()
    undo = _install_signals(stop)
    try:
        return Agent(config, stop, scriptapp=scriptapp).run()
    except KeyboardInterrupt:
        log.warning("resolve-agent quit with a job in hand; it returns to the queue")
        return 130
    finally:
        undo()

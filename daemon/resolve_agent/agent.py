"""The resolve-agent: claim a job from the server, heartbeat while running it in Resolve, report.

Standard library only, so ``pip install --no-deps media-sync`` is enough on a workstation.
``main(argv)`` is ``media-sync resolve-agent`` (and ``python -m daemon.resolve_agent.agent``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import random
import signal
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from http.client import HTTPException
from typing import Any

from daemon.resolve_agent.adapter import (
    ClipResult,
    ResolveAdapter,
    ResolveError,
    ResolveUnavailable,
    ScriptApp,
    load_scriptapp,
)
from daemon.resolve_agent.pathmap import PathMappingError, parse_map, to_local
from daemon.resolve_agent.reveal import Runner, reveal, run_detached

log = logging.getLogger("media_sync.resolve_agent")

MAX_BACKOFF = 30.0
DEFAULT_LEASE = 40.0
HTTP_TIMEOUT = 10.0
MAX_QUERY_ERROR = 1000
TOKEN_ENV = "MEDIA_SYNC_API_TOKEN"


class ServerUnavailable(Exception):
    """The server cannot be reached or answered 5xx (or nonsense): back off and retry."""


class JobGone(Exception):
    """409/404: the job is no longer this agent's (canceled, expired, taken by another)."""


class ServerRejected(Exception):
    """The server refused the request (4xx other than 404/409): retrying will not help."""


class Released(Exception):
    """The agent is stopping before the job started: hand it back."""


class Dropped(Exception):
    """The server took the job away while it ran: stop and report nothing."""


class ServerClient:
    """The agent endpoints of ``/api/resolve`` over urllib, as one named agent."""

    def __init__(
        self, base_url: str, name: str, timeout: float = HTTP_TIMEOUT, token: str = ""
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.name = name
        self.timeout = timeout
        self.token = token

    def _post(self, path: str, query: dict[str, str], body: dict[str, Any] | None = None) -> Any:
        url = f"{self.base_url}{path}?{urllib.parse.urlencode(query)}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method="POST")
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:300]
            if exc.code in (404, 409):
                raise JobGone(f"HTTP {exc.code}: {detail}") from exc
            if exc.code in (401, 403) and "token" in detail.lower():
                hint = "a valid token" if self.token else f"a token: --token or ${TOKEN_ENV}"
                raise ServerRejected(
                    f"HTTP {exc.code}: the server needs {hint} ({detail})"
                ) from exc
            if 400 <= exc.code < 500 and exc.code not in (408, 429):
                raise ServerRejected(f"HTTP {exc.code} from {path}: {detail}") from exc
            raise ServerUnavailable(f"HTTP {exc.code} from {path}: {detail}") from exc
        except (urllib.error.URLError, HTTPException, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise ServerUnavailable(f"{self.base_url} unreachable: {reason}") from exc

    def claim(self) -> dict[str, Any] | None:
        """``{jobs: [job]}`` -> the job, or None; anything else is a server talking nonsense."""
        answer = self._post("/api/resolve/jobs/next", {"limit": "1", "claimed_by": self.name})
        jobs = answer.get("jobs") if isinstance(answer, dict) else None
        if not isinstance(jobs, list):
            raise ServerUnavailable(f"unexpected answer to a claim: {answer!r:.200}")
        if not jobs:
            return None
        job = jobs[0]
        if not isinstance(job, dict) or not _is_id(job.get("id")):
            raise ServerUnavailable(f"a claimed job without an id: {job!r:.200}")
        return job

    def _job(self, job_id: int, action: str, body: dict[str, Any] | None = None) -> None:
        self._post(f"/api/resolve/jobs/{job_id}/{action}", {"claimed_by": self.name}, body)

    def heartbeat(self, job_id: int) -> None:
        self._job(job_id, "heartbeat")

    def complete(self, job_id: int, results: list[dict[str, str]]) -> None:
        self._job(job_id, "complete", {"claimed_by": self.name, "results": results})

    def fail(self, job_id: int, error: str) -> None:
        """The contract's ``?error=`` (shortened: it is a URL) and the whole error in the body."""
        query = {"claimed_by": self.name, "error": error[:MAX_QUERY_ERROR]}
        body = {"claimed_by": self.name, "error": error}
        self._post(f"/api/resolve/jobs/{job_id}/fail", query, body)

    def release(self, job_id: int) -> None:
        self._job(job_id, "release")


def _is_id(value: object) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, str) and value.isdigit()
    )


class Backoff:
    """Exponential delays with jitter: base, 2*base, ... capped, each scaled by 0.5..1."""

    def __init__(self, base: float, cap: float = MAX_BACKOFF):
        self.base, self.cap, self.failures = base, cap, 0

    def next(self) -> float:
        delay = min(self.cap, self.base * 2.0**self.failures)
        self.failures = min(self.failures + 1, 32)
        return delay * random.uniform(0.5, 1.0)

    def reset(self) -> None:
        self.failures = 0


class StateLog:
    """Logs a line only when the agent's state changes, not once per poll."""

    def __init__(self) -> None:
        self.state = ""

    def enter(self, state: str, level: int, message: str, *args: object) -> None:
        if state != self.state:
            self.state = state
            log.log(level, message, *args)


def lease_seconds(job: dict[str, Any]) -> float | None:
    """``lease_expires_at - claimed_at`` of a claimed job; 40 s when it cannot be read; None
    when the job has no lease at all (a server without leases has no heartbeat to send)."""
    if job.get("lease_expires_at") is None:
        return None
    try:
        start = datetime.fromisoformat(str(job["claimed_at"]).replace("Z", "+00:00"))
        end = datetime.fromisoformat(str(job["lease_expires_at"]).replace("Z", "+00:00"))
    except (KeyError, ValueError, TypeError):
        return DEFAULT_LEASE
    seconds = (end - start).total_seconds()
    return seconds if seconds > 0 else DEFAULT_LEASE


class Heartbeat(threading.Thread):
    """Renews a job's lease every lease/3 seconds; sets ``lost`` on 409/404."""

    def __init__(self, client: ServerClient, job_id: int, interval: float):
        super().__init__(name=f"resolve-agent-heartbeat-{job_id}", daemon=True)
        self.client, self.job_id, self.interval = client, job_id, max(interval, 0.1)
        self.lost = threading.Event()
        self.done = threading.Event()

    def run(self) -> None:
        failing = False
        while not self.done.wait(self.interval):
            try:
                self.client.heartbeat(self.job_id)
            except JobGone as exc:
                log.warning("job %s is no longer ours (%s); dropping it", self.job_id, exc)
                self.lost.set()
                return
            except ServerUnavailable as exc:
                if not failing:
                    log.warning("heartbeat for job %s failed: %s", self.job_id, exc)
                failing = True
            else:
                failing = False

    def stop(self) -> None:
        self.done.set()
        self.join()


@dataclass
class AgentConfig:
    """What the command line says."""

    server: str
    name: str
    mappings: list[tuple[str, str]]
    poll_seconds: float = 2.0
    once: bool = False
    token: str = ""


@dataclass
class Outcome:
    """How a job ended on this side: results to complete with, an error, or nothing to say."""

    results: list[dict[str, str]] = field(default_factory=list)
    error: str | None = None
    released: bool = False
    dropped: bool = False


def _results(
    job: dict[str, Any], local: list[str], clips: list[ClipResult]
) -> list[dict[str, str]]:
    rel_paths = [str(p) for p in job.get("media_rel_paths") or []]
    return [
        {
            "path": rel_paths[i] if i < len(rel_paths) else clip.local_path,
            "local_path": clip.local_path,
            "status": clip.status,
            "detail": clip.detail,
        }
        for i, clip in enumerate(clips)
    ]


def _summary(results: list[dict[str, str]]) -> str:
    counts = {s: 0 for s in ("imported", "skipped", "missing", "failed")}
    for result in results:
        counts[result["status"]] = counts.get(result["status"], 0) + 1
    return ", ".join(f"{n} {status}" for status, n in counts.items())


class Agent:
    """The polling loop: claim one job, heartbeat, run it, report; stop on ``stop``."""

    def __init__(
        self,
        config: AgentConfig,
        stop: threading.Event | None = None,
        *,
        scriptapp: ScriptApp | None = None,
        loader: Callable[[], ScriptApp] = load_scriptapp,
        runner: Runner = run_detached,
    ):
        self.config = config
        self.stop = stop or threading.Event()
        self.client = ServerClient(config.server, config.name, token=config.token)
        self.scriptapp = scriptapp
        self.loader = loader
        self.runner = runner
        self.states = StateLog()

    def run(self) -> int:
        """Poll until ``stop`` is set; with ``once``, one claim (1 if the server is down)."""
        idle, down = Backoff(self.config.poll_seconds), Backoff(self.config.poll_seconds)
        log.info("resolve-agent %r polling %s", self.config.name, self.config.server)
        while not self.stop.is_set():
            try:
                job = self.client.claim()
            except (ServerUnavailable, ServerRejected, JobGone) as exc:
                self.states.enter(
                    "down", logging.WARNING, "server unavailable (%s); backing off", exc
                )
                if self.config.once:
                    return 1
                self.stop.wait(down.next())
                continue
            down.reset()
            if job is None:
                self.states.enter("idle", logging.INFO, "connected; waiting for jobs")
                if self.config.once:
                    break
                self.stop.wait(idle.next())
                continue
            idle.reset()
            self.states.enter(f"job {job.get('id')}", logging.DEBUG, "working")
            self.handle(job)
            if self.config.once:
                break
        log.info("resolve-agent %r stopped", self.config.name)
        return 0

    def handle(self, job: dict[str, Any]) -> None:
        """Run one claimed job under a heartbeat and report how it ended."""
        job_id = int(job["id"])
        paths = job.get("source_rel_paths") or []
        log.info(
            "job %s: %s %d file(s) of %s", job_id, job.get("mode"), len(paths), job.get("project")
        )
        lease = lease_seconds(job)
        if lease is None:  # no lease: nothing to renew, nothing can take the job away
            outcome = self.execute(job, threading.Event())
        else:
            beat = Heartbeat(self.client, job_id, lease / 3)
            beat.start()
            try:
                outcome = self.execute(job, beat.lost)
            finally:
                beat.stop()
            if beat.lost.is_set():
                outcome = Outcome(dropped=True)
        self.report(job_id, outcome)

    def local_paths(self, job: dict[str, Any]) -> list[str]:
        source = str(job.get("source") or "primary")
        rel_paths = job.get("source_rel_paths")
        if not isinstance(rel_paths, list):
            folder = job.get("project_folder") or job.get("project")
            rel_paths = [f"{folder}/{rel}" for rel in job.get("media_rel_paths") or []]
        return [to_local(self.config.mappings, source, str(rel)) for rel in rel_paths]

    def execute(self, job: dict[str, Any], lost: threading.Event) -> Outcome:
        """Import or reveal; never raises (one bad job never stops the agent)."""

        def checkpoint(may_release: bool) -> None:
            if lost.is_set():
                raise Dropped
            if may_release and self.stop.is_set():
                raise Released

        try:
            checkpoint(True)
            local = self.local_paths(job)
            if job.get("mode") == "reveal_in_explorer":
                return Outcome(results=_results(job, local, reveal(local, self.runner)))
            adapter = ResolveAdapter(self.scriptapp or self.loader())
            adapter.connect()
            checkpoint(True)  # nothing has changed in Resolve yet: a stop still hands it back
            adapter.open_or_create_project(
                job.get("resolve_project") or job.get("new_project_name")
            )
            checkpoint(False)
            clips = adapter.import_media(str(job.get("project") or "media-sync"), local)
            return Outcome(results=_results(job, local, clips))
        except Released:
            return Outcome(released=True)
        except Dropped:
            return Outcome(dropped=True)
        except (PathMappingError, ResolveUnavailable, ResolveError) as exc:
            return Outcome(error=exc.detail)
        except Exception as exc:
            log.exception("job %s: unexpected error", job.get("id"))
            return Outcome(error=f"resolve-agent error: {type(exc).__name__}: {exc}")

    def report(self, job_id: int, outcome: Outcome) -> None:
        """Tell the server how the job ended, retrying while it is unreachable."""
        if outcome.dropped:
            log.warning(
                "job %s: taken away by the server (canceled or expired); not reported", job_id
            )
            return
        if outcome.released:
            send, done = (lambda: self.client.release(job_id)), "released (not started)"
        elif outcome.error is not None:
            error = outcome.error
            send, done = (lambda: self.client.fail(job_id, error)), f"failed: {error}"
        else:
            results = outcome.results
            send, done = (
                (lambda: self.client.complete(job_id, results)),
                f"done: {_summary(results)}",
            )
        refused = self._send(job_id, send, done)
        if refused is not None and outcome.results and not outcome.released:
            error = f"the server refused the agent's results: {refused}"
            self._send(job_id, lambda: self.client.fail(job_id, error), f"failed: {error}")

    def _send(self, job_id: int, send: Callable[[], None], done: str) -> str | None:
        """Send one report; returns the server's reason when it refused it (4xx), else None."""
        backoff, attempts = Backoff(1.0, 10.0), 0
        while True:
            try:
                send()
            except JobGone as exc:
                log.warning("job %s: the server no longer gives it to us (%s)", job_id, exc)
                return None
            except ServerRejected as exc:
                log.error("job %s: the server refused the report (%s)", job_id, exc)
                return str(exc)
            except ServerUnavailable as exc:
                attempts += 1
                if attempts == 1:
                    log.warning("job %s: cannot report yet (%s); retrying", job_id, exc)
                if self.stop.is_set() and attempts >= 3:
                    log.error(
                        "job %s: not reported; it returns to the queue after its lease", job_id
                    )
                    return None
                threading.Event().wait(backoff.next() if not self.stop.is_set() else 0.5)
                continue
            log.info("job %s %s", job_id, done)
            return None


def load_factory(spec: str) -> ScriptApp:
    """``module:callable`` -> a callable used instead of ``DaVinciResolveScript.scriptapp``."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"--adapter-factory {spec!r} must look like module:callable")
    factory: ScriptApp = getattr(importlib.import_module(module_name), attr)
    return factory


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="media-sync resolve-agent",
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


def main(argv: Sequence[str] | None = None) -> int:
    """``media-sync resolve-agent``: parse, then poll until stopped; 0 on a clean stop."""
    parser = build_parser()
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


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))

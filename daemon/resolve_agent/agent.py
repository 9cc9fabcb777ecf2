"""The resolve-agent's poll loop: claim a job from the server, run it under a heartbeat, report.

Standard library only, so ``pip install --no-deps media-sync`` is enough on a workstation.
``media-sync resolve-agent`` (``daemon.resolve_agent.cli``) builds an ``Agent`` and runs it;
``python -m daemon.resolve_agent.agent`` (or ``python -m daemon.resolve_agent``) is the same.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from daemon.resolve_agent.adapter import ScriptApp, load_scriptapp
from daemon.resolve_agent.client import JobGone, ServerClient, ServerRejected, ServerUnavailable
from daemon.resolve_agent.lease import Backoff, Heartbeat, lease_seconds
from daemon.resolve_agent.reveal import Runner, run_detached
from daemon.resolve_agent.runner import JobRunner, Outcome, summary

log = logging.getLogger("media_sync.resolve_agent")


@dataclass
class AgentConfig:
    """What the command line says."""

    server: str
    name: str
    mappings: list[tuple[str, str]]
    poll_seconds: float = 2.0
    once: bool = False
    token: str = ""


class StateLog:
    """Logs a line only when the agent's state changes, not once per poll."""

    def __init__(self) -> None:
        self.state = ""

    def enter(self, state: str, level: int, message: str, *args: object) -> None:
        if state != self.state:
            self.state = state
            log.log(level, message, *args)


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
        self.jobs = JobRunner(config.mappings, self.stop, loader, runner, scriptapp)
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
            outcome = self.jobs.run(job, threading.Event())
        else:
            beat = Heartbeat(self.client, job_id, lease / 3)
            beat.start()
            try:
                outcome = self.jobs.run(job, beat.lost)
            finally:
                beat.stop()
            if beat.lost.is_set():
                outcome = Outcome(dropped=True)
        self.report(job_id, outcome)

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
                f"done: {summary(results)}",
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


if __name__ == "__main__":
    import sys

    from daemon.resolve_agent.cli import main

    sys.exit(main(sys.argv[1:]))

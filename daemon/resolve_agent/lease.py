"""Holding a claimed job: the lease it came with, the heartbeat that renews it, retry back-off."""

from __future__ import annotations

import logging
import random
import threading
from datetime import datetime
from typing import Any

from daemon.resolve_agent.client import JobGone, ServerClient, ServerUnavailable

log = logging.getLogger("media_sync.resolve_agent")

MAX_BACKOFF = 30.0
DEFAULT_LEASE = 40.0


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

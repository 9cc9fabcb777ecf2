"""A small in-test Resolve job server speaking the agent's HTTP contract (stdlib http.server).

It implements the agent-facing half of ``/api/resolve`` faithfully enough to drive a real
agent over real HTTP: FIFO atomic claims with a lease, heartbeats that renew it (409 when the
job is no longer the caller's), complete/fail/release, cancel, lease expiry that returns a job
to ``pending`` (and fails it after ``max_attempts``). Jobs are added from Python with
``add_job``. Swap it for the real server once both speak the same contract.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Refused(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status, self.detail = status, detail


class JobBook:
    """The queue's state, guarded by one lock (every operation is atomic)."""

    def __init__(self, lease_seconds: float, max_attempts: int):
        self.lease = timedelta(seconds=lease_seconds)
        self.max_attempts = max_attempts
        self.jobs: dict[int, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.next_id = 1

    def add(self, project: str, rel_paths: list[str], **fields: Any) -> int:
        with self.lock:
            job_id, self.next_id = self.next_id, self.next_id + 1
            self.jobs[job_id] = {
                "id": job_id,
                "status": "pending",
                "project": project,
                "new_project_name": fields.get("new_project_name"),
                "resolve_project": fields.get("resolve_project") or project,
                "mode": fields.get("mode", "import"),
                "source": fields.get("source", "primary"),
                "media_rel_paths": list(rel_paths),
                "source_rel_paths": [f"{project}/{rel}" for rel in rel_paths],
                "claimed_by": None,
                "claimed_at": None,
                "lease_expires_at": None,
                "attempts": 0,
                "created_at": _stamp(datetime.now(UTC)),
                "error": None,
                "result": None,
            }
            return job_id

    def _sweep(self, now: datetime) -> None:
        for job in self.jobs.values():
            if job["status"] != "claimed" or job["lease_expires_at"] > _stamp(now):
                continue
            if job["attempts"] >= self.max_attempts:
                job.update(status="failed", error=f"lease expired {job['attempts']} times")
            else:
                job.update(status="pending")
            job.update(claimed_by=None, claimed_at=None, lease_expires_at=None)

    def _mine(self, job_id: int, agent: str | None) -> dict[str, Any]:
        job = self.jobs.get(job_id)
        if job is None:
            raise Refused(404, f"job {job_id} not found")
        if job["status"] != "claimed" or job["claimed_by"] != agent:
            raise Refused(409, f"job {job_id} is {job['status']}, not claimed by {agent!r}")
        return job

    def act(self, action: str, job_id: int, agent: str | None, body: dict[str, Any]) -> Any:
        with self.lock:
            now = datetime.now(UTC)
            self._sweep(now)
            if action == "cancel":
                job = self.jobs.get(job_id)
                if job is None or job["status"] not in ("pending", "claimed"):
                    raise Refused(409, f"job {job_id} cannot be canceled")
                job.update(status="canceled", claimed_by=None, lease_expires_at=None)
                return dict(job)
            job = self._mine(job_id, agent)
            if action == "heartbeat":
                job["lease_expires_at"] = _stamp(now + self.lease)
            elif action == "complete":
                job.update(status="done", result={"results": body.get("results", [])})
            elif action == "fail":
                job.update(status="failed", error=body.get("error") or "failed")
            elif action == "release":
                job.update(status="pending", claimed_by=None, claimed_at=None)
                job.update(lease_expires_at=None, attempts=job["attempts"] - 1)
            else:
                raise Refused(404, f"no action {action!r}")
            return dict(job)

    def claim(self, limit: int, agent: str) -> list[dict[str, Any]]:
        with self.lock:
            now = datetime.now(UTC)
            self._sweep(now)
            pending = [j for j in self.jobs.values() if j["status"] == "pending"][: max(limit, 0)]
            for job in pending:
                job.update(status="claimed", claimed_by=agent, claimed_at=_stamp(now))
                job.update(lease_expires_at=_stamp(now + self.lease), attempts=job["attempts"] + 1)
            return [dict(job) for job in pending]

    def get(self, job_id: int) -> dict[str, Any]:
        with self.lock:
            self._sweep(datetime.now(UTC))
            return dict(self.jobs[job_id])


class JobServer(ThreadingHTTPServer):
    """The HTTP server; ``requests`` records (method, path, status) of everything it answered."""

    daemon_threads = False  # server_close() joins every request thread

    def __init__(self, book: JobBook):
        super().__init__(("127.0.0.1", 0), Handler)
        self.book = book
        self.requests: list[tuple[str, str, int]] = []
        self.unavailable = False  # answer 503 to everything
        self.refusals: dict[str, tuple[int, str]] = {}  # action -> (status, detail) to answer

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def add_job(self, project: str, rel_paths: list[str], **fields: Any) -> int:
        return self.book.add(project, rel_paths, **fields)

    def job(self, job_id: int) -> dict[str, Any]:
        return self.book.get(job_id)

    def cancel(self, job_id: int) -> None:
        self.book.act("cancel", job_id, None, {})

    def count(self, path_part: str, status: int | None = None) -> int:
        return sum(
            path_part in path and (status is None or code == status)
            for _, path, code in list(self.requests)
        )


class Handler(BaseHTTPRequestHandler):
    server: JobServer

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.server.requests.append((self.command, self.path, status))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.server.unavailable:
            self._send(503, {"detail": "maintenance"})
            return
        try:
            self._send(200, self._route(urlsplit(self.path), json.loads(raw) if raw else {}))
        except Refused as exc:
            self._send(exc.status, {"detail": exc.detail})

    def _route(self, url: Any, body: dict[str, Any]) -> Any:
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        parts = url.path.strip("/").split("/")
        if parts[:3] != ["api", "resolve", "jobs"]:
            raise Refused(404, "not found")
        if parts[3:] == ["next"]:
            return {"jobs": self.server.book.claim(int(query.get("limit", 1)), query["claimed_by"])}
        if len(parts) != 5 or not parts[3].isdigit():
            raise Refused(404, "not found")
        if parts[4] in self.server.refusals:
            raise Refused(*self.server.refusals[parts[4]])
        agent = query.get("claimed_by") or body.get("claimed_by")
        if "error" in query:
            body = {**body, "error": query["error"]}
        return self.server.book.act(parts[4], int(parts[3]), agent, body)


@contextmanager
def running_server(lease_seconds: float = 30.0, max_attempts: int = 3) -> Iterator[JobServer]:
    """A started server on a free loopback port; shut down and joined on exit."""
    server = JobServer(JobBook(lease_seconds, max_attempts))
    thread = threading.Thread(target=server.serve_forever, name="test-jobserver", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()

"""A small in-test Resolve job server speaking the contract's HTTP shapes (stdlib http.server).

It implements the agent-facing half of ``/api/resolve`` faithfully enough to drive a real
agent over real HTTP, answering exactly what ``seed-api-contract.md`` and the server promise:
``open`` -> 200 ``{ok: true, job_id, created, job, instructions}``; ``jobs/next`` -> 200
``{jobs: [job]}``; ``complete``/``fail``/``heartbeat``/``release``/``cancel`` -> 200
``{ok: true, ...job}``; errors ``{detail, error, status_code}`` with a 4xx. A job carries the
contract's fields (``id, created_at, status, project, new_project_name, media_rel_paths, mode,
source, claimed_by, claimed_at, done_at, failed_at, error``) and the server's extras. FIFO
atomic claims with a lease, heartbeats that renew it (409 when the job is no longer the
caller's), lease expiry that returns a job to ``pending`` (failed after ``max_attempts``).

``legacy=True`` plays the original service: jobs carry only the contract's fields and there is
no lease, heartbeat or release (404), so the agent is proven not to need the extras.
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
    """A 4xx answer: ``{detail, error, status_code}`` like the server's one error shape."""

    def __init__(self, status: int, detail: str, error: str = "Conflict"):
        super().__init__(detail)
        self.status, self.detail = status, detail
        self.error = {404: "NotFound", 400: "InvalidInput"}.get(status, error)

    def body(self) -> dict[str, Any]:
        return {"detail": self.detail, "error": self.error, "status_code": self.status}


CONTRACT_FIELDS = (
    "id", "created_at", "status", "project", "new_project_name", "media_rel_paths", "mode",
    "source", "claimed_by", "claimed_at", "done_at", "failed_at", "error",
)  # fmt: skip


class JobBook:
    """The queue's state, guarded by one lock (every operation is atomic)."""

    def __init__(self, lease_seconds: float, max_attempts: int, legacy: bool = False):
        self.lease = timedelta(seconds=lease_seconds)
        self.max_attempts = max_attempts
        self.legacy = legacy
        self.jobs: dict[int, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.next_id = 1

    def add(self, project: str, rel_paths: list[str], **fields: Any) -> int:
        with self.lock:
            job_id, self.next_id = self.next_id, self.next_id + 1
            created = _stamp(datetime.now(UTC))
            self.jobs[job_id] = {
                "id": job_id,
                "created_at": created,
                "status": "pending",
                "project": project,
                "new_project_name": fields.get("new_project_name"),
                "media_rel_paths": list(rel_paths),
                "mode": fields.get("mode", "import"),
                "source": fields.get("source", "primary"),
                "claimed_by": None,
                "claimed_at": None,
                "done_at": None,
                "failed_at": None,
                "error": None,
                "resolve_project": fields.get("resolve_project") or project,
                "project_folder": project,
                "source_rel_paths": [f"{project}/{rel}" for rel in rel_paths],
                "lease_expires_at": None,
                "attempts": 0,
                "max_attempts": self.max_attempts,
                "updated_at": created,
                "finished_at": None,
                "result": None,
                "idempotency_key": fields.get("idempotency_key"),
            }
            return job_id

    def view(self, job: dict[str, Any]) -> dict[str, Any]:
        """What the wire carries: a copy; only the contract's fields when ``legacy``."""
        if self.legacy:
            return {name: job[name] for name in CONTRACT_FIELDS}
        return dict(job)

    def _finish(self, job: dict[str, Any], status: str, now: str, **fields: Any) -> None:
        stamp = {"done": {"done_at": now}, "failed": {"failed_at": now}}.get(status, {})
        job.update(status=status, lease_expires_at=None, finished_at=now, **stamp, **fields)

    def _sweep(self, now: datetime) -> None:
        if self.legacy:
            return
        for job in self.jobs.values():
            if job["status"] != "claimed" or job["lease_expires_at"] > _stamp(now):
                continue
            if job["attempts"] >= self.max_attempts:
                error = f"lease expired {job['attempts']} times"
                self._finish(job, "failed", _stamp(now), error=error)
            else:
                job.update(status="pending", lease_expires_at=None)
            job.update(claimed_by=None, claimed_at=None, updated_at=_stamp(now))

    def _mine(self, job_id: int, agent: str | None) -> dict[str, Any]:
        job = self.jobs.get(job_id)
        if job is None:
            raise Refused(404, f"job {job_id} not found")
        if job["status"] != "claimed" or (job["claimed_by"] != agent and not self.legacy):
            raise Refused(409, f"job {job_id} is {job['status']}, not claimed by {agent!r}")
        return job

    def act(self, action: str, job_id: int, agent: str | None, body: dict[str, Any]) -> Any:
        """One transition; the answer is ``{ok: true, ...job}``."""
        with self.lock:
            now = datetime.now(UTC)
            self._sweep(now)
            if self.legacy and action in ("heartbeat", "release", "cancel"):
                raise Refused(404, "Not Found")
            if action == "cancel":
                job = self.jobs.get(job_id)
                if job is None or job["status"] not in ("pending", "claimed"):
                    raise Refused(409, f"job {job_id} cannot be canceled")
                self._finish(job, "canceled", _stamp(now), claimed_by=None)
                return {"ok": True, **self.view(job)}
            job = self._mine(job_id, agent)
            if action == "heartbeat":
                job["lease_expires_at"] = _stamp(now + self.lease)
            elif action == "complete":
                self._finish(job, "done", _stamp(now), result={"results": body.get("results", [])})
            elif action == "fail":
                self._finish(job, "failed", _stamp(now), error=body.get("error") or "failed")
            elif action == "release":
                job.update(status="pending", claimed_by=None, claimed_at=None)
                job.update(lease_expires_at=None, attempts=job["attempts"] - 1)
            else:
                raise Refused(404, f"no action {action!r}")
            job["updated_at"] = _stamp(now)
            return {"ok": True, **self.view(job)}

    def claim(self, limit: int, agent: str) -> list[dict[str, Any]]:
        with self.lock:
            now = datetime.now(UTC)
            self._sweep(now)
            pending = [j for j in self.jobs.values() if j["status"] == "pending"][: max(limit, 0)]
            for job in pending:
                job.update(status="claimed", claimed_by=agent, claimed_at=_stamp(now))
                job.update(attempts=job["attempts"] + 1, updated_at=_stamp(now))
                if not self.legacy:
                    job["lease_expires_at"] = _stamp(now + self.lease)
            return [self.view(job) for job in pending]

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
        self.nonsense: dict[str, Any] = {}  # last path part -> a 200 body to answer instead

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
            self._send(503, {"detail": "maintenance", "error": "Unavailable", "status_code": 503})
            return
        try:
            self._send(200, self._route(urlsplit(self.path), json.loads(raw) if raw else {}))
        except Refused as exc:
            self._send(exc.status, exc.body())

    def _route(self, url: Any, body: dict[str, Any]) -> Any:
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        parts = url.path.strip("/").split("/")
        if parts[-1] in self.server.nonsense:
            return self.server.nonsense[parts[-1]]
        if parts == ["api", "resolve", "open"]:
            return self._open(body)
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

    def _open(self, body: dict[str, Any]) -> dict[str, Any]:
        """``{project, media_rel_paths, ...}`` -> ``{ok: true, job_id, created, job, ...}``."""
        project, rel_paths = body.get("project"), body.get("media_rel_paths")
        if not isinstance(project, str) or not isinstance(rel_paths, list) or not rel_paths:
            raise Refused(400, "'project' and a non-empty 'media_rel_paths' are required")
        extras = {k: body[k] for k in ("mode", "new_project_name", "source") if body.get(k)}
        book = self.server.book
        job_id = book.add(project, [str(rel) for rel in rel_paths], **extras)
        job = book.view(book.get(job_id))
        advice = "A resolve-agent on the workstation will pick this job up."
        return {"ok": True, "job_id": job_id, "created": True, "job": job, "instructions": advice}


@contextmanager
def running_server(
    lease_seconds: float = 30.0, max_attempts: int = 3, *, legacy: bool = False
) -> Iterator[JobServer]:
    """A started server on a free loopback port; shut down and joined on exit."""
    server = JobServer(JobBook(lease_seconds, max_attempts, legacy))
    thread = threading.Thread(target=server.serve_forever, name="test-jobserver", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()

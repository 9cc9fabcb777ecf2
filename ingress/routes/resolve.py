"""The Resolve bridge: open a job from the page, and the queue a resolve-agent drains."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromQuery, JSONBody

from daemon.errors import InvalidInput
from daemon.jobs import state as jobs
from daemon.jobs.queue import act, claim_next, get_job, list_jobs, open_job, parse_statuses
from daemon.jobs.requests import parse_open, parse_result
from ingress.deps import Lib
from ingress.limits import Int64Path, Int64Query


def _agent(query: str | None, body: dict[str, Any] | None) -> str | None:
    """The agent name from ``?claimed_by=`` or the body's ``claimed_by``."""
    value = query if query is not None else (body or {}).get("claimed_by")
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidInput("'claimed_by' must be a string")
    return value


@post("/api/resolve/open", sync_to_thread=True, status_code=200)
def open_resolve(
    request: Request[Any, Any, Any], lib: Lib, data: JSONBody[dict[str, Any]]
) -> dict[str, Any]:
    """Queue a job for the resolve-agent: `{ok, job_id, created, job}` (200, as the original);
    a repeated idempotency key answers the first job with `created: false`."""
    parsed = parse_open(data, request.headers.get("idempotency-key"))
    job, created = open_job(lib, parsed)
    verb = "Queued" if created else "Already queued as"
    return {
        "ok": True,
        "job_id": job["id"],
        "created": created,
        "job": job,
        "instructions": (
            f"{verb} job {job['id']}; a resolve-agent on the editing workstation picks it up "
            f"(follow it at GET /api/resolve/jobs/{job['id']})."
        ),
    }


@post("/api/resolve/jobs/next", status_code=200, sync_to_thread=True)
def next_jobs(
    lib: Lib,
    limit: Int64Query = 1,
    claimed_by: FromQuery[str | None] = None,
) -> dict[str, Any]:
    """Claim up to `limit` pending jobs (oldest first) with a lease."""
    return {"jobs": claim_next(lib, claimed_by, limit)}


@post("/api/resolve/jobs/{job_id:int}/heartbeat", status_code=200, sync_to_thread=True)
def heartbeat(
    lib: Lib,
    job_id: Int64Path,
    claimed_by: FromQuery[str | None] = None,
    data: JSONBody[Any] = None,
) -> dict[str, Any]:
    """Renew the lease of a job this agent holds; 409 if it no longer does."""
    return _ok(act(lib, job_id, jobs.Heartbeat(_agent(claimed_by, _body(data)))))


@post("/api/resolve/jobs/{job_id:int}/complete", status_code=200, sync_to_thread=True)
def complete(
    lib: Lib,
    job_id: Int64Path,
    claimed_by: FromQuery[str | None] = None,
    data: JSONBody[Any] = None,
) -> dict[str, Any]:
    """Mark a claimed job done, storing the per-clip results of the body (optional)."""
    body = _body(data)
    result = parse_result(body)
    return _ok(act(lib, job_id, jobs.Complete(_agent(claimed_by, body)), result=result))


@post("/api/resolve/jobs/{job_id:int}/fail", status_code=200, sync_to_thread=True)
def fail(
    lib: Lib,
    job_id: Int64Path,
    claimed_by: FromQuery[str | None] = None,
    error: FromQuery[str | None] = None,
    data: JSONBody[Any] = None,
) -> dict[str, Any]:
    """Mark a claimed job failed with `?error=` or a body `{"error": ...}`."""
    body = _body(data)
    message = error if error is not None else (body or {}).get("error")
    if message is not None and not isinstance(message, str):
        raise InvalidInput("'error' must be a string")
    reason = message.strip() if message and message.strip() else "the agent gave no reason"
    return _ok(act(lib, job_id, jobs.Fail(reason, _agent(claimed_by, body))))


@post("/api/resolve/jobs/{job_id:int}/release", status_code=200, sync_to_thread=True)
def release(
    lib: Lib,
    job_id: Int64Path,
    claimed_by: FromQuery[str | None] = None,
    data: JSONBody[Any] = None,
) -> dict[str, Any]:
    """Hand a claimed job back to the queue (the agent is stopping before starting it)."""
    return _ok(act(lib, job_id, jobs.Release(_agent(claimed_by, _body(data)))))


@post("/api/resolve/jobs/{job_id:int}/cancel", status_code=200, sync_to_thread=True)
def cancel(lib: Lib, job_id: Int64Path) -> dict[str, Any]:
    """Cancel a pending or claimed job; its agent's next heartbeat gets 409."""
    return _ok(act(lib, job_id, jobs.Cancel()))


@get("/api/resolve/jobs", sync_to_thread=True)
def list_all(
    lib: Lib,
    status: FromQuery[str | None] = None,
    limit: Int64Query = 100,
    offset: Int64Query = 0,
) -> dict[str, Any]:
    """Jobs newest first, `?status=pending` (or `pending,claimed`) to filter."""
    page, total = list_jobs(lib, parse_statuses(status), limit, offset)
    return {"jobs": page, "total": total, "limit": limit, "offset": offset}


@get("/api/resolve/jobs/{job_id:int}", sync_to_thread=True)
def fetch(lib: Lib, job_id: Int64Path) -> dict[str, Any]:
    """One job."""
    return get_job(lib, job_id)


def _ok(job: dict[str, Any]) -> dict[str, Any]:
    """The original's `{ok: true}` acknowledgement, with the job as it now stands beside it."""
    return {"ok": True, **job}


def _body(data: Any) -> dict[str, Any] | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise InvalidInput("body must be a JSON object")
    return data


ROUTES = [open_resolve, next_jobs, heartbeat, complete, fail, release, cancel, list_all, fetch]

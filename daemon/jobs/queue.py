"""The durable Resolve job queue: catalog rows driven by the pure state machine in `jobs`.

Each operation is one short ``BEGIN IMMEDIATE`` transaction that first sweeps expired leases,
then loads the row, asks ``jobs.transition`` for the next state and saves it. Times are stored
as fixed-width ISO-8601 UTC strings with milliseconds, so they also sort as text.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from daemon.catalog import Catalog
from daemon.catalog import jobs as rows
from daemon.catalog.claims import row_transaction
from daemon.catalog.jobs import JobRecord
from daemon.catalog.values import JobStatus
from daemon.errors import Conflict, InvalidInput, JobNotFound, MediaSyncError
from daemon.jobs import state as jobs
from daemon.jobs.requests import OpenRequest, check_media, proxy_rel_paths
from daemon.library import Library
from daemon.settings import Settings

MAX_CLAIM = 50
DEFAULT_AGENT = "resolve-agent"


def now_utc() -> datetime:
    return datetime.now(UTC)


def stamp(moment: datetime | None) -> str | None:
    """``2025-01-31T12:00:00.250Z`` (always milliseconds, so strings sort like times)."""
    return None if moment is None else _stamp(moment)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_stamp(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def policy_of(settings: Settings) -> jobs.Policy:
    return jobs.Policy(settings.resolve_lease_seconds, settings.resolve_max_attempts)


def state_of(row: JobRecord) -> jobs.JobState:
    return jobs.JobState(
        status=row.status,
        attempts=row.attempts,
        claimed_by=row.claimed_by,
        claimed_at=parse_stamp(row.claimed_at),
        lease_expires_at=parse_stamp(row.lease_expires_at),
        finished_at=parse_stamp(row.finished_at),
        error=row.error,
    )


def _save(
    catalog: Catalog, row: JobRecord, state: jobs.JobState, now: datetime, **more: Any
) -> JobRecord:
    """Store the job's new state (the caller holds the write transaction); the saved record."""
    saved = replace(
        row,
        status=JobStatus(state.status),
        attempts=state.attempts,
        claimed_by=state.claimed_by,
        claimed_at=stamp(state.claimed_at),
        lease_expires_at=stamp(state.lease_expires_at),
        finished_at=stamp(state.finished_at),
        error=state.error,
        updated_at=_stamp(now),
        **more,
    )
    rows.save(catalog, saved)
    return saved


def job_view(row: JobRecord, settings: Settings) -> dict[str, Any]:
    """The job as the API shows it (see the README's Resolve section)."""
    rel_paths: list[str] = json.loads(row.media_rel_paths)
    return {
        "id": row.id,
        "status": row.status,
        "project": row.project,
        "new_project_name": row.new_project_name,
        "resolve_project": row.resolve_project or None,
        "mode": row.mode,
        "source": row.source,
        "project_folder": row.project,
        "media_rel_paths": rel_paths,
        "source_rel_paths": [f"{row.project}/{rel}" for rel in rel_paths],
        "claimed_by": row.claimed_by,
        "claimed_at": row.claimed_at,
        "lease_expires_at": row.lease_expires_at,
        "attempts": row.attempts,
        "max_attempts": settings.resolve_max_attempts,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "finished_at": row.finished_at,
        "done_at": row.finished_at if row.status == jobs.DONE else None,
        "failed_at": row.finished_at if row.status == jobs.FAILED else None,
        "error": row.error,
        "result": json.loads(row.result) if row.result else None,
        "idempotency_key": row.idempotency_key,
    }


def _sweep_in_transaction(catalog: Catalog, policy: jobs.Policy, now: datetime) -> int:
    count = 0
    for row in rows.expired(catalog, _stamp(now)):
        _save(catalog, row, jobs.transition(state_of(row), jobs.Expire(), now, policy), now)
        count += 1
    return count


def sweep_expired(lib: Library, now: datetime | None = None) -> int:
    """Return expired claims to pending (or fail them after the last attempt); cheap when none."""
    moment = now or now_utc()
    if not rows.any_expired(lib.catalog, _stamp(moment)):
        return 0
    with lib.catalog.write():
        return _sweep_in_transaction(lib.catalog, policy_of(lib.settings), moment)


def _same_request(row: JobRecord, request: OpenRequest, source: str) -> bool:
    return (
        row.project == request.media_project
        and (row.resolve_project or "") == request.resolve_project
        and row.new_project_name == request.new_project_name
        and row.mode == request.mode
        and row.source == source
        and json.loads(row.media_rel_paths) == list(request.media_rel_paths)
    )


def open_job(lib: Library, request: OpenRequest) -> tuple[dict[str, Any], bool]:
    """Queue a job after proving its media exist; (job, created). A repeated idempotency key
    returns the first job; the same key with a different request is a conflict."""
    ref = lib.project(request.source, request.media_project)
    check_media(ref, request.media_rel_paths)
    now = stamp(now_utc())
    with lib.catalog.write():
        if request.idempotency_key is not None:
            existing = rows.by_key(lib.catalog, request.idempotency_key)
            if existing is not None:
                if not _same_request(existing, request, ref.source.name):
                    raise Conflict(
                        f"idempotency key {request.idempotency_key!r} was used for "
                        f"another request (job {existing.id})",
                        job_id=existing.id,
                    )
                return job_view(existing, lib.settings), False
        row = rows.create(
            lib.catalog,
            status=jobs.PENDING,
            project=ref.name,
            new_project_name=request.new_project_name,
            resolve_project=request.resolve_project,
            mode=request.mode,
            source=ref.source.name,
            media_rel_paths=json.dumps(list(request.media_rel_paths)),
            idempotency_key=request.idempotency_key,
            created_at=now,
            updated_at=now,
        )
        return job_view(row, lib.settings), True


def claim_next(
    lib: Library, agent: str | None, limit: int, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Claim up to ``limit`` (capped at MAX_CLAIM) pending jobs, oldest first, atomically: on
    PostgreSQL the rows are taken with ``FOR UPDATE SKIP LOCKED`` in a transaction that locks
    only them, so agents claiming through several replicas at once get different jobs."""
    count = min(limit, MAX_CLAIM)
    if count <= 0:
        return []
    moment = now or now_utc()
    policy = policy_of(lib.settings)
    claim = jobs.Claim(agent or DEFAULT_AGENT)
    claimed: list[dict[str, Any]] = []
    with row_transaction(lib.catalog):
        _sweep_in_transaction(lib.catalog, policy, moment)
        for row in rows.pending(lib.catalog, count):
            state = jobs.transition(state_of(row), claim, moment, policy)
            claimed.append(job_view(_save(lib.catalog, row, state, moment), lib.settings))
    for job in claimed:
        job["proxy_rel_paths"] = _proxies(lib, job)
    return claimed


def _proxies(lib: Library, job: dict[str, Any]) -> list[str | None]:
    """Per clip, its Resolve proxy's source-relative path, or None (for the agent to link)."""
    rel_paths: list[str] = job["media_rel_paths"]
    try:
        ref = lib.project(job["source"], job["project"])
    except MediaSyncError:
        return [None] * len(rel_paths)
    return proxy_rel_paths(lib.catalog, ref, rel_paths)


def act(
    lib: Library,
    job_id: int,
    action: jobs.Action,
    result: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Apply one action to one job (heartbeat, complete, fail, release, cancel)."""
    moment = now or now_utc()
    sweep_expired(lib, moment)  # its own transaction: a refused action must not undo it
    with lib.catalog.write():
        row = rows.get(lib.catalog, job_id, lock=True)  # after a claim holding it commits
        if row is None:
            raise JobNotFound(f"Resolve job {job_id} does not exist")
        state = jobs.transition(state_of(row), action, moment, policy_of(lib.settings))
        more = {} if result is None else {"result": json.dumps(result, ensure_ascii=False)}
        if state.status == jobs.FAILED != row.status:
            lib.metrics.fail("resolve_job")
        return job_view(_save(lib.catalog, row, state, moment, **more), lib.settings)


def get_job(lib: Library, job_id: int) -> dict[str, Any]:
    sweep_expired(lib)
    row = rows.get(lib.catalog, job_id)
    if row is None:
        raise JobNotFound(f"Resolve job {job_id} does not exist")
    return job_view(row, lib.settings)


def parse_statuses(raw: str | None) -> tuple[str, ...]:
    """``pending`` or ``pending,claimed`` -> statuses; empty means all."""
    if not raw:
        return ()
    wanted = tuple(part.strip() for part in raw.split(",") if part.strip())
    unknown = [s for s in wanted if s not in jobs.STATUSES]
    if unknown:
        raise InvalidInput(f"unknown status {unknown[0]!r}; use one of {', '.join(jobs.STATUSES)}")
    return wanted


def list_jobs(
    lib: Library, statuses: tuple[str, ...], limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Jobs newest first, optionally only some statuses; (page, total matching)."""
    if limit < 0 or offset < 0:
        raise InvalidInput("'limit' and 'offset' must not be negative")
    sweep_expired(lib)
    page, total = rows.page(lib.catalog, statuses, min(limit, 500), offset)
    return [job_view(row, lib.settings) for row in page], total

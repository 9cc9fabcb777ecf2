"""Resolve job rows, read and saved as plain records (the queue in daemon.jobs drives them)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

from daemon.catalog.claims import for_update, skip_locked
from daemon.catalog.engines import reset_sequences
from daemon.catalog.values import JobStatus

if TYPE_CHECKING:
    from daemon.catalog import Catalog


@dataclass(frozen=True)
class JobRecord:
    """One job row; times are fixed-width ISO-8601 UTC strings (they sort as text)."""

    id: int
    status: JobStatus
    project: str
    new_project_name: str | None
    resolve_project: str
    mode: str
    source: str
    media_rel_paths: str  # JSON list
    idempotency_key: str | None
    claimed_by: str | None
    claimed_at: str | None
    lease_expires_at: str | None
    attempts: int
    created_at: str
    updated_at: str
    finished_at: str | None
    error: str | None
    result: str | None  # JSON


_NAMES = tuple(f.name for f in fields(JobRecord))


def _record(row: dict[str, Any]) -> JobRecord:
    values = {name: row[name] for name in _NAMES}
    values["status"] = JobStatus(values["status"])
    return JobRecord(**values)


def _rows(query: Any) -> list[JobRecord]:
    return [_record(row) for row in query.dicts()]


def get(catalog: Catalog, job_id: int, *, lock: bool = False) -> JobRecord | None:
    """The job; with ``lock``, its row is this transaction's until it ends (PostgreSQL: after
    a claimer holding it commits)."""
    Job = catalog.models.Job
    query = Job.select().where(Job.id == job_id)
    found = _rows(for_update(catalog, query) if lock else query)
    return found[0] if found else None


def by_key(catalog: Catalog, key: str) -> JobRecord | None:
    """The job opened with this idempotency key, if any."""
    Job = catalog.models.Job
    found = _rows(Job.select().where(Job.idempotency_key == key))
    return found[0] if found else None


def create(catalog: Catalog, **values: Any) -> JobRecord:
    """Insert a job (the caller holds the write transaction) and read it back."""
    job_id = catalog.models.Job.insert(**values).execute()
    record = get(catalog, int(job_id))
    assert record is not None
    return record


def save(catalog: Catalog, record: JobRecord) -> None:
    """Write every column of ``record`` back to its row (the caller holds the write transaction)."""
    Job = catalog.models.Job
    values = {name: getattr(record, name) for name in _NAMES if name != "id"}
    Job.update(**values).where(Job.id == record.id).execute()


def _expired_query(catalog: Catalog, now: str) -> Any:
    Job = catalog.models.Job
    return (
        Job.select()
        .where((Job.status == JobStatus.CLAIMED) & (Job.lease_expires_at <= now))
        .order_by(Job.id)
    )


def any_expired(catalog: Catalog, now: str) -> bool:
    """Whether some claim's lease ran out by ``now`` (a cheap indexed check)."""
    return bool(_expired_query(catalog, now).exists())


def expired(catalog: Catalog, now: str) -> list[JobRecord]:
    """Claimed jobs whose lease ran out by ``now``, oldest first (on PostgreSQL locked for
    this transaction, skipping those another claimer holds)."""
    return _rows(skip_locked(catalog, _expired_query(catalog, now)))


def pending(catalog: Catalog, limit: int) -> list[JobRecord]:
    """Up to ``limit`` pending jobs, oldest first (on PostgreSQL locked for this transaction,
    skipping those another claimer holds: concurrent claims take different jobs)."""
    Job = catalog.models.Job
    query = Job.select().where(Job.status == JobStatus.PENDING).order_by(Job.id).limit(limit)
    return _rows(skip_locked(catalog, query))


def count_pending(catalog: Catalog) -> int:
    """How many jobs wait for a workstation to claim them (the queue's depth)."""
    Job = catalog.models.Job
    return int(Job.select().where(Job.status == JobStatus.PENDING).count())


def page(
    catalog: Catalog, statuses: Iterable[str], limit: int, offset: int
) -> tuple[list[JobRecord], int]:
    """Jobs newest first, only ``statuses`` when some are given; (page, total matching)."""
    Job = catalog.models.Job
    query = Job.select()
    wanted = list(statuses)
    if wanted:
        query = query.where(Job.status.in_(wanted))
    total = int(query.count())
    return _rows(query.order_by(Job.id.desc()).limit(limit).offset(offset)), total


def dump(catalog: Catalog) -> list[dict[str, Any]]:
    """Every job as plain values (a rebuild carries them into the new catalog)."""
    Job = catalog.models.Job
    return [asdict(record) for record in _rows(Job.select().order_by(Job.id))]


def load(catalog: Catalog, rows: list[dict[str, Any]]) -> None:
    """Insert jobs as ``dump`` gave them, ids and all (the caller holds the write
    transaction); the next job's id follows the largest."""
    Job = catalog.models.Job
    for start in range(0, len(rows), 500):
        Job.insert_many(rows[start : start + 500]).execute()
    reset_sequences(catalog.db, catalog.dialect, [Job._meta.table_name])

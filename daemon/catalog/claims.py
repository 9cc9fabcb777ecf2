"""Work that several processes share without doing it twice: claims on rows.

- A content row's claim (``claimed_by``, ``claimed_until``: a lease its holder renews) is held
  while a process reads the content's metadata or makes its thumbnail, so two replicas never
  decode the same bytes at once; the other waits and finds the work done.
- Resolve job rows are claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL.

On PostgreSQL these claims lock only their own rows (``SELECT ... FOR UPDATE SKIP LOCKED`` in
a transaction of their own, not the catalog's write lock), so claimers never queue behind
ingest writes nor behind each other; on sqlite, with one writer at a time anyway, they are
conditional UPDATEs in the write transaction. Lease times are the hosts' clocks (``time.time``,
as the job leases): hosts sharing a catalog keep their clocks in sync (NTP).
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from daemon.catalog.engines import POSTGRESQL

if TYPE_CHECKING:
    from daemon.catalog import Catalog

CLAIM_COLUMNS = {"claimed_by": "VARCHAR(255)", "claimed_until": "DOUBLE PRECISION"}


class Claim(StrEnum):
    """What a try to claim a content's work found."""

    CLAIMED = "claimed"  # this holder has it now
    BUSY = "busy"  # another holder's lease runs
    ABSENT = "absent"  # no such content is catalogued (nothing to share)


def on_postgresql(catalog: Catalog) -> bool:
    return catalog.engine == POSTGRESQL


def row_transaction(catalog: Catalog) -> AbstractContextManager[Any]:
    """A transaction for work that locks only its own rows: on PostgreSQL a plain one (rows
    taken with ``skip_locked``), on sqlite the write transaction."""
    if on_postgresql(catalog) and not catalog.db.in_transaction():
        plain: AbstractContextManager[Any] = catalog.db.atomic()
        return plain
    return catalog.write()


def skip_locked(catalog: Catalog, query: Any) -> Any:
    """``query`` as ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL (rows another
    transaction locked are left out, those returned are this transaction's); as it is on
    sqlite, where the write transaction already excludes every other writer."""
    return query.for_update(skip_locked=True) if on_postgresql(catalog) else query


def for_update(catalog: Catalog, query: Any) -> Any:
    """``query`` as ``SELECT ... FOR UPDATE`` on PostgreSQL (waits for a claimer holding the
    row, then reads it as committed); as it is on sqlite."""
    return query.for_update() if on_postgresql(catalog) else query


def claim_content(catalog: Catalog, sha256: str, holder: str, seconds: float) -> Claim:
    """Claim the work on the content with this sha256 for ``seconds`` (a lease ``renew``
    extends), unless another holder's lease still runs."""
    now = time.time()
    free = "(claimed_until IS NULL OR claimed_until < ?)"
    if on_postgresql(catalog):
        with row_transaction(catalog):
            rows = catalog.execute(
                f"SELECT blake3, {free} FROM content WHERE sha256 = ? FOR UPDATE SKIP LOCKED",
                (now, sha256),
            ).fetchall()
            if not rows:  # no such row, or another claimer is taking it this very moment
                return Claim.BUSY if _exists(catalog, sha256) else Claim.ABSENT
            if not all(row[1] for row in rows):
                return Claim.BUSY
            catalog.execute(
                "UPDATE content SET claimed_by = ?, claimed_until = ? WHERE sha256 = ?",
                (holder, now + seconds, sha256),
            )
            return Claim.CLAIMED
    with catalog.write():
        cursor = catalog.execute(
            f"UPDATE content SET claimed_by = ?, claimed_until = ? WHERE sha256 = ? AND {free}",
            (holder, now + seconds, sha256, now),
        )
        if cursor.rowcount:
            return Claim.CLAIMED
        return Claim.BUSY if _exists(catalog, sha256) else Claim.ABSENT


def _exists(catalog: Catalog, sha256: str) -> bool:
    return bool(catalog.execute("SELECT 1 FROM content WHERE sha256 = ?", (sha256,)).fetchone())


def release_content(catalog: Catalog, sha256: str, holder: str) -> None:
    """Let the content's claim go (only this holder's)."""
    with row_transaction(catalog):
        catalog.execute(
            "UPDATE content SET claimed_by = NULL, claimed_until = NULL "
            "WHERE sha256 = ? AND claimed_by = ?",
            (sha256, holder),
        )


def renew(catalog: Catalog, holder: str, seconds: float) -> int:
    """Extend every claim this holder has by ``seconds`` from now; how many."""
    with row_transaction(catalog):
        cursor = catalog.execute(
            "UPDATE content SET claimed_until = ? WHERE claimed_by = ?",
            (time.time() + seconds, holder),
        )
        return int(cursor.rowcount)


def release_all(catalog: Catalog, holder: str) -> int:
    """Drop every claim this holder has (at start: a process that had this name is gone)."""
    with row_transaction(catalog):
        cursor = catalog.execute(
            "UPDATE content SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = ?",
            (holder,),
        )
        return int(cursor.rowcount)


def add_columns(catalog_db: Any, table: str, present: set[str]) -> None:
    """The migration step: the claim columns on the content table (those not there yet), and
    a partial index of the claimed rows (a holder finds its own without reading the table)."""
    for column, kind in CLAIM_COLUMNS.items():
        if column not in present:
            catalog_db.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN {column} {kind}')
    catalog_db.execute_sql(
        f'CREATE INDEX IF NOT EXISTS "{table}_claimed_by" ON "{table}" (claimed_by) '
        "WHERE claimed_by IS NOT NULL"
    )

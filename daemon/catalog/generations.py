"""Per-project change counters kept by the catalog itself (triggers), for caching listings.

Every insert, update or delete of a file row, and every update of a content row (metadata,
thumbnail state), bumps the generation of each project it touches, whichever process writes.
A cached answer made at generation n is right exactly while the project is still at n.
"""

from __future__ import annotations

from typing import Any

TABLE = "listing_generation"

_BUMP = """
    INSERT INTO listing_generation (source, project, generation) VALUES ({row}.source, {row}.project, 1)
    ON CONFLICT (source, project) DO UPDATE SET generation = generation + 1;
"""

STATEMENTS = (
    f"""CREATE TABLE IF NOT EXISTS {TABLE} (
        source TEXT NOT NULL,
        project TEXT NOT NULL,
        generation INTEGER NOT NULL,
        PRIMARY KEY (source, project)
    )""",
    f"""CREATE TRIGGER IF NOT EXISTS file_generation_insert AFTER INSERT ON "file" BEGIN
        {_BUMP.format(row="NEW")}
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS file_generation_delete AFTER DELETE ON "file" BEGIN
        {_BUMP.format(row="OLD")}
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS file_generation_update AFTER UPDATE ON "file" BEGIN
        {_BUMP.format(row="OLD")}
        {_BUMP.format(row="NEW")}
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS content_generation_update AFTER UPDATE ON "content" BEGIN
        INSERT INTO {TABLE} (source, project, generation)
        SELECT DISTINCT source, project, 1 FROM "file" WHERE "blake3" = NEW."blake3" AND 1
        ON CONFLICT (source, project) DO UPDATE SET generation = generation + 1;
    END""",
    # every project already catalogued starts counted (a missing row reads as generation 0)
    f"""INSERT OR IGNORE INTO {TABLE} (source, project, generation)
        SELECT DISTINCT source, project, 1 FROM "file" WHERE 1""",
    # a catalog made anew (rebuild) must never match answers cached from an older one
    """INSERT OR IGNORE INTO "meta" (key, value) VALUES ('catalog_id', lower(hex(randomblob(8))))""",
)


def install(db: Any) -> None:
    """Create the counters and their triggers (idempotent), in the caller's transaction."""
    for statement in STATEMENTS:
        db.execute_sql(statement)

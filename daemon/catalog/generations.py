"""Per-project change counters kept by the catalog itself (triggers), for caching listings.

Every insert, update or delete of a file row, and every update of a content row (metadata,
thumbnail state), bumps the generation of each project it touches, whichever process writes.
A cached answer made at generation n is right exactly while the project is still at n.
sqlite runs the triggers' SQL directly; PostgreSQL runs the same upserts from PL/pgSQL
trigger functions.
"""

from __future__ import annotations

import secrets
from typing import Any

TABLE = "listing_generation"

_UPSERT = f"""ON CONFLICT (source, project) DO UPDATE SET generation = {TABLE}.generation + 1"""

_BUMP = f"""
    INSERT INTO {TABLE} (source, project, generation) VALUES ({{row}}.source, {{row}}.project, 1)
    {_UPSERT};
"""

_BUMP_CONTENT = f"""
    INSERT INTO {TABLE} (source, project, generation)
    SELECT DISTINCT source, project, 1 FROM "file" WHERE "blake3" = NEW."blake3" AND true
    {_UPSERT};
"""

_TABLE = f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    source TEXT {{collate}}NOT NULL,
    project TEXT {{collate}}NOT NULL,
    generation BIGINT NOT NULL,
    PRIMARY KEY (source, project)
)"""

# every project already catalogued starts counted (a missing row reads as generation 0)
_COUNT_EXISTING = f"""INSERT INTO {TABLE} (source, project, generation)
    SELECT DISTINCT source, project, 1 FROM "file" WHERE true ON CONFLICT DO NOTHING"""

SQLITE = (
    _TABLE.format(collate=""),
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
        {_BUMP_CONTENT}
    END""",
    _COUNT_EXISTING,
)

POSTGRESQL = (
    _TABLE.format(collate='COLLATE "C" '),
    f"""CREATE OR REPLACE FUNCTION file_generation() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            {_BUMP.format(row="OLD")}
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            {_BUMP.format(row="NEW")}
        END IF;
        RETURN NULL;
    END $$""",
    f"""CREATE OR REPLACE FUNCTION content_generation() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {_BUMP_CONTENT}
        RETURN NULL;
    END $$""",
    'DROP TRIGGER IF EXISTS file_generation ON "file"',
    """CREATE TRIGGER file_generation AFTER INSERT OR UPDATE OR DELETE ON "file"
        FOR EACH ROW EXECUTE FUNCTION file_generation()""",
    'DROP TRIGGER IF EXISTS content_generation_update ON "content"',
    """CREATE TRIGGER content_generation_update AFTER UPDATE ON "content"
        FOR EACH ROW EXECUTE FUNCTION content_generation()""",
    _COUNT_EXISTING,
)


def install(db: Any, engine: str) -> None:
    """Create the counters and their triggers (idempotent), in the caller's transaction, and
    give the catalog an identity of its own: a catalog made anew (rebuild) must never match
    answers cached from an older one."""
    for statement in POSTGRESQL if engine == "postgresql" else SQLITE:
        db.execute_sql(statement)
    param = "%s" if engine == "postgresql" else "?"
    db.execute_sql(
        f"""INSERT INTO "meta" (key, value) VALUES ('catalog_id', {param}) ON CONFLICT DO NOTHING""",
        [secrets.token_hex(8)],
    )

"""The catalog's tables as peewee models, made per database (nothing is bound process-wide)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import peewee as pw


def utcnow() -> str:
    """Current time as an ISO-8601 UTC string with seconds precision."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Models:
    """One database's model classes: ``catalog.models.File.select()`` runs on that catalog."""

    Meta: Any
    Project: Any
    Content: Any
    File: Any
    Job: Any
    Event: Any
    ServiceStatus: Any
    UploadBatch: Any
    BatchItem: Any

    @property
    def all(self) -> list[Any]:
        return [*self.first, self.ServiceStatus, self.UploadBatch, self.BatchItem]

    @property
    def first(self) -> list[Any]:
        """The tables schema 1 made."""
        return [self.Meta, self.Project, self.Content, self.File, self.Job, self.Event]


def define(db: pw.Database) -> Models:
    """Model classes bound to ``db`` (a new set per call: two catalogs never share a binding)."""

    class BaseModel(pw.Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Meta(BaseModel):
        """Key/value facts about the catalog itself (schema version)."""

        key = pw.CharField(primary_key=True)
        value = pw.TextField()

    class Project(BaseModel):
        """A project folder in a source root, with the counters index.json carries."""

        id = pw.BigAutoField()

        source = pw.CharField()
        name = pw.CharField()
        notes = pw.TextField(default="")
        created_at = pw.CharField(default=utcnow)
        duplicates_skipped = pw.IntegerField(default=0)
        removed_missing_records = pw.IntegerField(default=0)

        class Meta:
            indexes = ((("source", "name"), True),)

    class Content(BaseModel):
        """A distinct byte sequence: blake3 is its identity, sha256 kept for compatibility."""

        blake3 = pw.CharField(primary_key=True, max_length=64)
        sha256 = pw.CharField(max_length=64, index=True)
        size = pw.BigIntegerField()
        first_seen_at = pw.CharField(default=utcnow)
        kind = pw.CharField(null=True)
        width = pw.IntegerField(null=True)
        height = pw.IntegerField(null=True)
        duration = pw.DoubleField(null=True)
        video_codec = pw.CharField(null=True)
        frame_rate = pw.DoubleField(null=True)
        audio_codec = pw.CharField(null=True)
        rotation = pw.IntegerField(null=True)
        captured_at = pw.CharField(null=True)
        captured_from = pw.CharField(null=True)
        meta_status = pw.CharField(default="pending")  # pending | ok | error
        meta_error = pw.TextField(null=True)  # the reason, naming no file (the listing does)
        # A thumbnail that could not be made: why, the stamp of the copy decoded, and when.
        thumb_error = pw.TextField(null=True)
        thumb_stamp = pw.CharField(null=True)
        thumb_failed_at = pw.CharField(null=True)

    class File(BaseModel):
        """One placed file: where a content lives (source, project, path in the project)."""

        id = pw.BigAutoField()

        source = pw.CharField()
        project = pw.CharField()
        rel_path = pw.CharField()
        size = pw.BigIntegerField()
        mtime_ns = pw.BigIntegerField()
        inode = pw.BigIntegerField()
        # With size, inode and mtime_ns: the stamp the content was hashed at (None: unproven).
        ctime_ns = pw.BigIntegerField(null=True)
        content = pw.ForeignKeyField(Content, column_name="blake3", field="blake3", backref="files")
        uploaded_at = pw.CharField(default=utcnow)
        origin = pw.CharField(default="upload")  # upload | drop | adopted
        tags = pw.TextField(default="[]")  # JSON list of manual tags (normalized, sorted)
        # A drop whose bytes the project already held: the rel_path of that earlier copy.
        duplicate_of = pw.CharField(null=True)
        # COALESCE(content.captured_at, uploaded_at): the listing's capture-time order, kept by
        # triggers (migration 10), so a page of it is read from an index, not sorted.
        sort_captured = pw.CharField(null=True)

        class Meta:
            indexes = (
                (("source", "project", "rel_path"), True),
                (("source", "project", "content"), False),
                (("source", "project", "sort_captured", "id"), False),
                (("source", "project", "uploaded_at", "id"), False),
                (("source", "project", "size", "id"), False),
            )

    class Job(BaseModel):
        """A Resolve bridge job waiting for, held by, or finished by a resolve-agent."""

        id = pw.BigAutoField()

        status = pw.CharField(default="pending", index=True)
        project = pw.CharField()
        new_project_name = pw.CharField(null=True)
        resolve_project = pw.CharField()
        mode = pw.CharField()
        source = pw.CharField()
        media_rel_paths = pw.TextField()  # JSON list
        idempotency_key = pw.CharField(null=True, unique=True)
        claimed_by = pw.CharField(null=True)
        claimed_at = pw.CharField(null=True)
        lease_expires_at = pw.CharField(null=True)
        attempts = pw.IntegerField(default=0)
        created_at = pw.CharField(default=utcnow)
        updated_at = pw.CharField(default=utcnow)
        finished_at = pw.CharField(null=True)
        error = pw.TextField(null=True)
        result = pw.TextField(null=True)  # JSON

    class Event(BaseModel):
        """An ingest event (stored, indexed, moved, removed...) for the live page feed."""

        id = pw.BigAutoField()

        at = pw.CharField(default=utcnow)
        type = pw.CharField()
        source = pw.CharField(null=True)
        project = pw.CharField(null=True)
        rel_path = pw.CharField(null=True)
        data = pw.TextField(default="{}")

    class ServiceStatus(BaseModel):
        """A process running the watcher: who, since when, its last heartbeat and its status."""

        key = pw.CharField(primary_key=True)  # hostname:pid
        hostname = pw.CharField()
        pid = pw.IntegerField()
        started_at = pw.CharField()
        heartbeat_at = pw.CharField()
        heartbeat_unix = pw.DoubleField()  # when the writer last said it is alive (time.time())
        heartbeat_seconds = pw.DoubleField()  # how often it says so
        stopped_at = pw.CharField(null=True)
        running = pw.BooleanField()
        body = pw.TextField(default="{}")  # JSON: passes, last pass, watch and offline per source

    class UploadBatch(BaseModel):
        """An album sync session: uploads carrying its id are counted until it is finalized."""

        id = pw.CharField(primary_key=True, max_length=64)
        source = pw.CharField()
        project = pw.CharField()
        album = pw.CharField(default="")
        device = pw.CharField(default="")
        note = pw.TextField(default="")
        created_at = pw.CharField(default=utcnow)
        finalized_at = pw.CharField(null=True)
        counts = pw.TextField(null=True)  # JSON, written once at finalize

    class BatchItem(BaseModel):
        """One file of a batch: uploaded (stored, duplicate), skipped by the pre-check, or
        refused (error)."""

        id = pw.BigAutoField()

        batch = pw.ForeignKeyField(
            UploadBatch, column_name="batch_id", backref="items", on_delete="CASCADE"
        )
        filename = pw.CharField()
        status = pw.CharField()  # stored | duplicate | skipped | error
        rel_path = pw.CharField(null=True)
        sha256 = pw.CharField(null=True, max_length=64)
        size = pw.BigIntegerField(null=True)
        error = pw.TextField(null=True)
        at = pw.CharField(default=utcnow)

        class Meta:
            indexes = ((("batch", "status"), False),)

    models = Models(Meta, Project, Content, File, Job, Event, ServiceStatus, UploadBatch, BatchItem)
    if isinstance(db, pw.PostgresqlDatabase):
        _postgresql_text(models)
    return models


def _postgresql_text(models: Models) -> None:
    """Text on PostgreSQL as sqlite keeps it. sqlite compares bytes; PostgreSQL compares by the
    database's locale unless told otherwise: text columns use the "C" collation, so both
    engines sort names and time stamps alike (a listing sorted by name pages the same way on
    either). sqlite ignores a VARCHAR's length; PostgreSQL enforces it: names and paths
    (peewee's default 255) are unbounded there too (a path may be longer)."""
    for model in models.all:
        for field in model._meta.sorted_fields:
            target = field.rel_field if isinstance(field, pw.ForeignKeyField) else field
            if isinstance(target, pw.CharField | pw.TextField):
                field.collation = '"C"'
            if isinstance(field, pw.CharField) and field.max_length == 255:
                field.max_length = None

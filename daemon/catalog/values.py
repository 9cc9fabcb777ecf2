"""The catalog's closed vocabularies as typed values (they are stored and sent as their strings)."""

from __future__ import annotations

from enum import StrEnum


class MetaStatus(StrEnum):
    """Whether a content's metadata has been read."""

    PENDING = "pending"
    OK = "ok"
    ERROR = "error"


class Origin(StrEnum):
    """How a file came to be catalogued."""

    UPLOAD = "upload"
    DROP = "drop"
    ADOPTED = "adopted"


class ChangeType(StrEnum):
    """What happened to a file, as told to listeners and stored for the live feed."""

    STORED = "stored"
    DUPLICATE = "duplicate"
    INDEXED = "indexed"
    RESTORED = "restored"
    MOVED = "moved"
    REMOVED = "removed"
    THUMBNAIL = "thumbnail"
    METADATA = "metadata"


class JobStatus(StrEnum):
    """Where a Resolve job is in its life (see daemon.jobs.state for the edges)."""

    PENDING = "pending"
    CLAIMED = "claimed"
    DONE = "done"
    FAILED = "failed"
    CANCELED = "canceled"

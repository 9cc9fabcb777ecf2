"""The one error tree of media-sync; the ingress maps it to HTTP in exactly one place.

MediaSyncError
├── SettingsError            a MEDIA_SYNC_* value is invalid (fatal at start-up)
├── CatalogError             the catalog cannot be opened or migrated (fatal)
├── InvalidInput             the caller sent something we refuse
│   ├── InvalidName          a project/source/file name is unsafe or empty
│   ├── UnsafePath           a path escapes its root or points at a reserved place
│   │   └── SymlinkRefused   a write would pass through a symlink (also an OSError)
│   ├── UnsupportedMediaType the extension is not one we ingest
│   ├── EmptyUpload          a 0-byte upload (every later empty file would be its "duplicate")
│   ├── PayloadTooLarge      the body is larger than MEDIA_SYNC_MAX_UPLOAD_MB
│   ├── ChecksumMismatch     a resumable-upload chunk does not match its Upload-Checksum
│   └── DigestMismatch       an upload's bytes do not match the digest its headers announced
├── NotFound                 something named does not exist
│   ├── SourceNotFound
│   ├── ProjectNotFound
│   ├── MediaNotFound
│   ├── JobNotFound
│   ├── UploadNotFound       no resumable upload has this id
│   │   └── UploadExpired    the resumable upload existed but expired (its bytes are gone)
│   └── BatchNotFound        no sync session (upload batch) of this project has this id
├── Conflict                 the request clashes with current state
│   ├── AlreadyExists
│   ├── InvalidTransition    a job cannot move from its state to the one asked
│   ├── OffsetMismatch       a resumable-upload append names an offset other than the stored one
│   ├── UploadBusy           another request is appending to the same resumable upload
│   ├── UploadFinished       the resumable upload is complete (or its length is fixed already)
│   └── BatchFinalized       the sync session was finalized: it takes no more files
├── Unavailable              a source root is offline or unreadable
│   └── StorageFull          the disk holding a root is full (ENOSPC/EDQUOT)
├── CorruptFile              a registry or index file on disk cannot be parsed
└── ClientDisconnected       the uploader went away mid-body
"""

from __future__ import annotations


class MediaSyncError(Exception):
    """Base of every error media-sync raises on purpose."""

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class SettingsError(MediaSyncError):
    pass


class CatalogError(MediaSyncError):
    pass


class InvalidInput(MediaSyncError):
    pass


class InvalidName(InvalidInput):
    pass


class UnsafePath(InvalidInput):
    pass


class SymlinkRefused(UnsafePath, OSError):
    """A write refused because a folder on its way is a symlink or leads out of its root.

    Also an OSError, so code that keeps one file's I/O failure as a value (the watcher, the
    journals) treats it as one, while a request answers 400 with the detail.
    """


class UnsupportedMediaType(InvalidInput):
    pass


class PayloadTooLarge(InvalidInput):
    pass


class EmptyUpload(InvalidInput):
    pass


class ChecksumMismatch(InvalidInput):
    pass


class DigestMismatch(InvalidInput):
    pass


class NotFound(MediaSyncError):
    pass


class SourceNotFound(NotFound):
    pass


class ProjectNotFound(NotFound):
    pass


class MediaNotFound(NotFound):
    pass


class JobNotFound(NotFound):
    pass


class UploadNotFound(NotFound):
    pass


class UploadExpired(UploadNotFound):
    pass


class BatchNotFound(NotFound):
    pass


class Conflict(MediaSyncError):
    pass


class AlreadyExists(Conflict):
    pass


class InvalidTransition(Conflict):
    pass


class OffsetMismatch(Conflict):
    pass


class UploadBusy(Conflict):
    pass


class UploadFinished(Conflict):
    pass


class BatchFinalized(Conflict):
    pass


class Unavailable(MediaSyncError):
    pass


class StorageFull(Unavailable):
    pass


class CorruptFile(MediaSyncError):
    pass


class ClientDisconnected(MediaSyncError):
    pass

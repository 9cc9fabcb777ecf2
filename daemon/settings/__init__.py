"""One frozen, validated Settings object built from MEDIA_SYNC_* environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from daemon.errors import SettingsError
from daemon.settings.database import redact
from daemon.settings.parsers import WATCH_MODES as WATCH_MODES
from daemon.settings.parsers import _path
from daemon.settings.table import LOG_FORMATS as LOG_FORMATS
from daemon.settings.table import PROXY_CODECS as PROXY_CODECS
from daemon.settings.table import SECRET_SETTINGS as SECRET_SETTINGS
from daemon.settings.table import SETTINGS as SETTINGS
from daemon.settings.table import Setting as Setting


@dataclass(frozen=True)
class Settings:
    """Everything configurable about media-sync, validated once at start-up."""

    projects_root: Path
    state_dir: Path
    database_url: str = field(repr=False)  # may carry a password: shown by catalog_location
    host: str
    port: int
    public_url: str
    max_upload_mb: int
    cors_origins: tuple[str, ...]
    file_mode: int
    watch: str
    poll_interval_seconds: float
    settle_seconds: float
    reconcile_interval_seconds: float
    watch_takeover_seconds: float
    relocate_exclude: tuple[str, ...]
    thumbnail_workers: int
    preview_workers: int
    resolve_proxies: str
    resolve_lease_seconds: float
    resolve_max_attempts: int
    trash_days: int
    allowed_hosts: tuple[str, ...]
    source_parents: tuple[Path, ...]
    api_token: str
    read_token: str
    decode_memory_mb: int
    max_parts: int
    upload_expiry_hours: float
    max_connections: int
    header_timeout_seconds: float
    body_timeout_seconds: float
    keepalive_seconds: float
    log_level: str
    log_format: str
    access_log: bool

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from the environment; a bad value raises SettingsError naming it."""
        source = os.environ if env is None else env
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            raw = source.get(setting.env) or ""
            if not raw.strip() and setting.env in MUST_NOT_BE_EMPTY and setting.env in source:
                raise SettingsError(
                    f"{setting.env} is set but empty: set it to the folder that holds your "
                    f"projects (e.g. /mnt/nas/projects), or remove the line to use "
                    f"{setting.default}"
                )
            try:
                values[setting.attr] = setting.parse(raw if raw.strip() else setting.default)
            except ValueError as exc:
                raise SettingsError(_refusal(setting, raw, str(exc))) from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def with_overrides(self, **overrides: Any) -> Settings:
        """Return a copy with the given attributes replaced (None values are ignored)."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    @property
    def default_root(self) -> bool:
        """Whether the projects root is the default ``./data/projects`` (which start-up may
        create; any other missing root is a typo or an unmounted share)."""
        default = next(s.default for s in SETTINGS if s.attr == "projects_root")
        return self.projects_root.resolve() == _path(default).resolve()

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @property
    def catalog_path(self) -> Path:
        return self.state_dir / "catalog.sqlite3"

    @property
    def catalog_engine(self) -> str:
        """``sqlite`` (the file in the state dir) or ``postgresql`` (MEDIA_SYNC_DATABASE_URL)."""
        return "postgresql" if self.database_url else "sqlite"

    @property
    def catalog_location(self) -> str:
        """Where the catalog is, safe to log or show: the sqlite path or the redacted URL."""
        return redact(self.database_url) if self.database_url else str(self.catalog_path)

    @property
    def locks_dir(self) -> Path:
        return self.state_dir / "locks"

    @property
    def allowed_source_parents(self) -> tuple[Path, ...]:
        """Where extra sources may live (MEDIA_SYNC_SOURCE_PARENTS, else the primary's parent)."""
        return self.source_parents or (self.projects_root.parent,)

    @property
    def decode_memory_bytes(self) -> int:
        return self.decode_memory_mb * 1024 * 1024


# An empty value means the default, except here: an unset `${VAR}` in a compose file must not
# quietly put footage on the local disk instead of the NAS.
MUST_NOT_BE_EMPTY = frozenset({"MEDIA_SYNC_PROJECTS_ROOT"})


def _refusal(setting: Setting, raw: str, why: str) -> str:
    """``NAME='value' is invalid: <why> (e.g. <default>)``: one line, the secret never quoted."""
    if setting.env in SECRET_SETTINGS:
        shown = "(hidden)"
    else:
        shown = repr(redact(raw) if setting.attr == "database_url" else raw)
    example = f" (e.g. {setting.default})" if setting.default not in why else ""
    return f"{setting.env}={shown} is invalid: {why}{example}"


def setting_names() -> list[str]:
    """Every MEDIA_SYNC_* variable Settings reads, in documentation order."""
    return [s.env for s in SETTINGS]


assert {s.attr for s in SETTINGS} == {f.name for f in fields(Settings)}

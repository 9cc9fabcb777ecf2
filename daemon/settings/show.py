"""Settings written back as environment values: what `media-sync settings` prints.

``env_value`` writes a value the way it is written in an env file (octal file mode, comma
lists, on/off, plain paths and numbers), so ``NAME=value`` lines fed back to
``Settings.from_env`` give equal Settings. Secrets (the tokens, a database password) are
shown as ``(set, hidden)`` unless asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from daemon.settings.database import redact
from daemon.settings.parsers import format_file_mode
from daemon.settings.table import SECRET_SETTINGS, SETTINGS, Setting

if TYPE_CHECKING:
    from daemon.settings import Settings

HIDDEN = "(set, hidden)"


def env_value(setting: Setting, value: Any) -> str:
    """``value`` as its MEDIA_SYNC_* variable would say it."""
    if setting.attr == "file_mode":
        return format_file_mode(value)
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    if isinstance(value, tuple):
        return ",".join(str(item) for item in value)
    if isinstance(value, Path):
        return str(value)
    return str(value)


@dataclass(frozen=True)
class Shown:
    """One line of `media-sync settings`."""

    name: str
    value: str  # as written in an env file, or HIDDEN / the redacted database URL
    default: bool  # the value is the built-in default
    hidden: bool  # a secret (or a password in the URL) was left out


def shown(settings: Settings, *, secrets: bool = False) -> list[Shown]:
    """Every setting in table order, secrets hidden unless ``secrets``."""
    lines = []
    for setting in SETTINGS:
        value = getattr(settings, setting.attr)
        text = env_value(setting, value)
        hidden = False
        if not secrets and text:
            if setting.env in SECRET_SETTINGS:
                text, hidden = HIDDEN, True
            elif setting.attr == "database_url" and redact(text) != text:
                text, hidden = redact(text), True
        is_default = value == setting.parse(setting.default)
        lines.append(Shown(setting.env, text, is_default, hidden))
    return lines


def env_lines(settings: Settings, *, secrets: bool = False) -> list[str]:
    """``NAME=value`` lines that give these settings back; a hidden secret is a comment line
    (env files skip it) saying to add ``--show-secrets``."""
    return [
        f"# {line.name}={line.value}  (add --show-secrets to print it)"
        if line.hidden
        else f"{line.name}={line.value}"
        for line in shown(settings, secrets=secrets)
    ]

"""Error texts about one media file: they name that file, never a path on the server."""

from __future__ import annotations

import re
from pathlib import Path

# A quoted absolute path (Pillow and FFmpeg quote the file they could not read).
_QUOTED_PATH = re.compile(r"""(['"])/(?:[^'"]*/)?([^'"/]*)\1""")


def safe_reason(exc: BaseException, path: Path) -> str:
    """A library's error text with no server path in it: the file's own path becomes its name,
    any other quoted absolute path its last part."""
    text = str(exc).replace(str(path), path.name)
    return _QUOTED_PATH.sub(r"\1\2\1", text)


def failure(path: Path, what: str, exc: BaseException) -> str:
    """``"<name>: <what> (<reason>)"``: the message media-sync records for a file it cannot read."""
    return f"{path.name}: {what} ({safe_reason(exc, path)})"

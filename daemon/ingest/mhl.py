"""ASC MHL manifests: a new generation of a project folder's `ascmhl/` history, through the
`ascmhl` package (the ASC Media Hash List reference implementation) used as a library.

ascmhl hashes every file under the folder except what its ignore patterns name; the patterns
are stored in each generation, so the package's own `ascmhl-debug verify <folder>` skips the
same files. Left out are what media-sync itself rewrites (so the manifest stays true while
the project lives): `_manifest/` (journals, trash), `index.json`, the derived
`ingest/thumbnails/`, `ingest/previews/` and `ingest/proxies/`, media-sync's temp files, and
the housekeeping names media-sync never ingests (macOS `._*` and `.DS_Store`, Windows
`Thumbs.db`, Synology `@eaDir`, partial downloads). Everything else (the originals and any
sidecar or folder a person put there) is hashed. A generation that finds a file changed since
an earlier one is still written (ascmhl's design: the history records it) and is reported.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

from daemon.storage.conventions import (
    IGNORED_GLOBS,
    IGNORED_NAMES,
    INDEX_FILE,
    MANIFEST_DIR,
    PREVIEWS,
    PROXIES,
    THUMBNAILS,
)

HASH_FORMAT = "xxh128"  # ascmhl's default and fastest; md5, sha1, xxh64, xxh3 and c4 also exist
MHL_DIR = "ascmhl"
VERIFY_COMMAND = "ascmhl-debug verify"  # ascmhl 1.2 ships `verify` in its debug CLI


def _pattern(name: str) -> str:
    """A gitwildmatch pattern for a bare name or glob (a leading ``#`` would be a comment)."""
    return "\\" + name if name.startswith(("#", "!")) else name


IGNORE_PATTERNS: tuple[str, ...] = (
    f"{MANIFEST_DIR}/",
    INDEX_FILE,
    *(f"**/{folder}/" for folder in (THUMBNAILS, PREVIEWS, PROXIES)),
    *(_pattern(n) for n in sorted(IGNORED_NAMES)),
    *(_pattern(g) for g in IGNORED_GLOBS),
)


@dataclass(frozen=True)
class Generation:
    """What writing one generation gave: its file (relative to the project), the ascmhl
    complaint if any, and whether that complaint is a changed file (a failure)."""

    manifest: str | None
    problem: str | None = None
    changed: bool = False


def _manifests(folder: Path) -> set[str]:
    try:
        return {p.name for p in (folder / MHL_DIR).iterdir() if fnmatch.fnmatch(p.name, "*.mhl")}
    except OSError:
        return set()


def write_generation(folder: Path, comment: str) -> Generation:
    """Hash ``folder`` and add a generation to its `ascmhl/` history (creating it)."""
    import click
    from ascmhl import commands, errors  # type: ignore[import-untyped]

    before = _manifests(folder)
    problem, changed = None, False
    try:
        commands.create_for_folder_subcommand(
            str(folder.absolute()),
            False,  # verbose
            False,  # detect_renaming
            [HASH_FORMAT],
            False,  # no_directory_hashes
            None,  # author_name
            None,  # author_email
            None,  # author_phone
            None,  # author_role
            None,  # location
            comment,
            ignore_list=list(IGNORE_PATTERNS),
        )
    except errors.VerificationFailedException as exc:
        problem, changed = exc.format_message(), True
    except click.ClickException as exc:
        problem = exc.format_message()
    except OSError as exc:
        return Generation(None, f"cannot write the ASC MHL history: {exc}")
    written = sorted(_manifests(folder) - before)
    manifest = f"{MHL_DIR}/{written[-1]}" if written else None
    return Generation(manifest, problem, changed)

"""`media-sync verify`: re-hash catalogued files (``daemon.ingest.verify``), print what changed or
went missing, then add an ASC MHL generation to each project that verified clean
(``daemon.ingest.mhl``). Progress is a rich bar on a terminal, else a line every so many files.
Exit 1 when any file changed, is missing or cannot be read; media are never written.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from daemon.catalog import Catalog
from daemon.ingest import verify
from daemon.ingest.mhl import HASH_FORMAT, VERIFY_COMMAND, write_generation
from daemon.library import Library
from daemon.settings import Settings
from daemon.watch.relocate import excluded_dirs

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

PLAIN_EVERY = 100  # files between progress lines when stdout is not a terminal
GIB = 1024**3


def _size(count: int) -> str:
    return f"{count / GIB:.2f} GiB" if count >= GIB / 10 else f"{count / 1024**2:.1f} MiB"


class PlainProgress:
    """A line every ``every`` files (for logs and pipes)."""

    def __init__(self, total_files: int, every: int = PLAIN_EVERY) -> None:
        self.total, self.every, self.files, self.bytes = total_files, every, 0, 0

    def file(self, project: str, rel_path: str, size: int) -> None:
        if self.files and self.files % self.every == 0:
            print(f"  ... {self.files:,}/{self.total:,} files read ({_size(self.bytes)})")
        self.files += 1

    def advance(self, count: int) -> None:
        self.bytes += count


@dataclass
class RichProgress:
    """A rich progress bar over the bytes to read, naming the file being read."""

    bar: Progress
    task: TaskID

    def file(self, project: str, rel_path: str, size: int) -> None:
        self.bar.update(self.task, description=f"{project}/{rel_path}"[-60:])

    def advance(self, count: int) -> None:
        self.bar.advance(self.task, count)


@contextmanager
def progress_for(total_files: int, total_bytes: int) -> Iterator[verify.Progress]:
    """Rich when stdout is a terminal, plain lines otherwise."""
    if not sys.stdout.isatty():
        yield PlainProgress(total_files)
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    from rich.progress import Progress

    with Progress(*columns, transient=True) as bar:
        yield RichProgress(bar, bar.add_task("verifying", total=total_bytes))


def _print_outcome(outcome: verify.Outcome) -> None:
    for finding in outcome.findings:
        print(f"  {finding.problem.upper()}: {finding.rel_path}: {finding.detail}")
    counts = ", ".join(
        f"{outcome.count(p)} {p}"
        for p in (verify.CHANGED, verify.MISSING, verify.UNREADABLE, verify.UNKNOWN)
    )
    print(
        f"{outcome.project} ({outcome.source}): {outcome.matched} of {outcome.checked} "
        f"catalogued files match ({_size(outcome.bytes_read)} read); {counts}"
    )


def _manifest(outcome: verify.Outcome) -> bool:
    """Add an ASC MHL generation to a project that verified clean; False when ascmhl found a
    file changed since an earlier generation."""
    if outcome.failed:
        print("  ASC MHL: not written while files are changed or missing (fix them first)")
        return True
    if not outcome.path.is_dir():
        return True
    comment = f"media-sync verify: {outcome.matched} catalogued files matched their sha256"
    generation = write_generation(outcome.path, comment)
    if generation.manifest is not None:
        print(
            f"  ASC MHL: {generation.manifest} written ({HASH_FORMAT}); check the folder any "
            f'time with `{VERIFY_COMMAND} "{outcome.path}"`'
        )
    if generation.problem is not None:
        print(f"  ASC MHL: {generation.problem}")
    return not generation.changed


def run(settings: Settings, source: str | None, project: str | None, mhl: bool) -> int:
    """Verify the chosen projects; the exit code (1 when anything failed)."""
    lib = Library(settings, Catalog.from_settings(settings))  # creates no root folder
    try:
        targets = verify.plan(lib, source, project)
        total_files = sum(len(t.records) for t in targets)
        total_bytes = sum(t.total_bytes for t in targets)
        print(f"verifying {len(targets)} project(s): {total_files:,} files, {_size(total_bytes)}")
        exclude = excluded_dirs(settings.relocate_exclude)
        failed = False
        with progress_for(total_files, total_bytes) as progress:
            outcomes = [verify.check(lib, t, exclude, progress) for t in targets]
        for outcome in outcomes:
            _print_outcome(outcome)
            failed = failed or outcome.failed
            if mhl and not _manifest(outcome):
                failed = True
    finally:
        lib.close()
    print("verify: FAILED (see above)" if failed else "verify: all catalogued files match")
    return 1 if failed else 0

"""Progress of a long command line job: a rich progress bar on a terminal, plain lines otherwise.

``progress_display(title)`` yields ``update(done, total, line)``: ``line`` (when given) is
printed above the bar on a terminal and as a plain line into a pipe or a log file, where a bar
would only be noise; ``done`` of ``total`` moves the bar. Used by `rebuild` and `reindex`
(and open to any command that walks many items).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Update = Callable[[int, int, str | None], None]


@contextmanager
def progress_display(title: str, *, terminal: bool | None = None) -> Iterator[Update]:
    """A bar titled ``title`` when stdout is a terminal (or ``terminal``), else plain lines."""
    if not (sys.stdout.isatty() if terminal is None else terminal):

        def plain(done: int, total: int, line: str | None) -> None:
            if line:
                print(line, flush=True)

        yield plain
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task(title, total=None)

        def rich_update(done: int, total: int, line: str | None) -> None:
            if line:
                bar.console.print(line, markup=False, highlight=False)
            bar.update(task, completed=done, total=total or None)

        yield rich_update

"""Turning bursts of file events into batches of "rescan these places"."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T", bound=Hashable)


def due_at(first: float, last: float, quiet: float, max_delay: float) -> float:
    """A batch is due once events paused for ``quiet`` seconds, or ``max_delay`` after its first."""
    return min(last + quiet, first + max_delay)


class Debouncer(Generic[T]):
    """Collects items from any thread; ``take`` hands them out in due batches."""

    def __init__(
        self,
        quiet: float = 0.2,
        max_delay: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.quiet, self.max_delay, self._clock = quiet, max_delay, clock
        self._cond = threading.Condition()
        self._items: set[T] = set()
        self._first = self._last = 0.0
        self._woken = False

    def add(self, item: T) -> None:
        with self._cond:
            now = self._clock()
            if not self._items:
                self._first = now
            self._items.add(item)
            self._last = now
            self._cond.notify_all()

    def wake(self) -> None:
        """Make a waiting ``take`` return now (used to stop)."""
        with self._cond:
            self._woken = True
            self._cond.notify_all()

    def take(self, timeout: float) -> set[T]:
        """Wait up to ``timeout`` seconds for a due batch; returns it (empty on timeout/wake)."""
        end = self._clock() + max(timeout, 0.0)
        with self._cond:
            while True:
                now = self._clock()
                if self._items:
                    due = due_at(self._first, self._last, self.quiet, self.max_delay)
                    if now >= due:
                        batch, self._items = self._items, set()
                        return batch
                    until = min(due, end)
                else:
                    until = end
                if self._woken or now >= end:
                    self._woken = False
                    return set()
                self._cond.wait(until - now)

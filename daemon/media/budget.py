"""The decode memory budget: a byte-weighted, first-come-first-served semaphore.

Each decode estimates its peak from the file's header and holds that many bytes while it
decodes. Holders together never exceed the capacity, except that one decode larger than the
whole capacity is admitted when nothing else is held, and then runs alone.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager


class DecodeBudget:
    """``hold(nbytes)`` blocks until the bytes fit (waiters are served in arrival order)."""

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError("a decode budget needs a positive capacity")
        self.capacity = capacity
        self._held = 0
        self._holders = 0
        self._peak = 0
        self._waiting: deque[int] = deque()
        self._tickets = itertools.count()
        self._cond = threading.Condition()

    @property
    def held(self) -> int:
        """Bytes held right now."""
        with self._cond:
            return self._held

    @property
    def peak(self) -> int:
        """The most bytes ever held at once (one oversized decode counts as itself)."""
        with self._cond:
            return self._peak

    def _fits(self, nbytes: int) -> bool:
        if self._holders == 0:
            return True  # an oversized decode runs alone; anything fits an idle budget
        return self._held + nbytes <= self.capacity

    @contextmanager
    def hold(self, nbytes: int) -> Iterator[None]:
        """Hold ``nbytes`` of the budget for the duration of the block."""
        nbytes = max(0, nbytes)
        ticket = next(self._tickets)
        with self._cond:
            self._waiting.append(ticket)
            try:
                self._cond.wait_for(lambda: self._waiting[0] == ticket and self._fits(nbytes))
            finally:
                self._waiting.remove(ticket)
                self._cond.notify_all()
            self._held += nbytes
            self._holders += 1
            self._peak = max(self._peak, self._held)
        try:
            yield
        finally:
            with self._cond:
                self._held -= nbytes
                self._holders -= 1
                self._cond.notify_all()

"""Waiting in tests: poll a condition until it holds, or fail the test saying what never came."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T],
    timeout: float = 10.0,
    *,
    what: str = "",
    detail: Callable[[], object] | None = None,
    step: float = 0.05,
) -> T:
    """Call ``condition`` until it returns something truthy and return that; after ``timeout``
    seconds (and one last try) fail with ``what`` was awaited and ``detail()``, the state then."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    value = condition()
    if value:
        return value
    awaited = what or getattr(condition, "__qualname__", repr(condition))
    message = f"timed out after {timeout:g} s waiting for {awaited}"
    raise AssertionError(f"{message}:\n{detail()}" if detail is not None else message)

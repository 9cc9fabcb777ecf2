"""A Resolve `scriptapp` stand-in that hangs on every call: an agent stuck mid-job, to be killed."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class StuckResolve:
    """Every scripting call blocks for an hour, like a Resolve that stopped answering."""

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def hang(*_args: Any, **_kwargs: Any) -> Any:
            time.sleep(3600)

        return hang


def scriptapp(*_args: Any, **_kwargs: Any) -> StuckResolve:
    return StuckResolve()

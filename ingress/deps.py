"""Dependency providers: the process's Library, and a project resolved from path + ?source=."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from daemon.library import Library


def provide_library(state: State) -> Library:
    library: Library = state.library
    return library


def library_of(request: Request[Any, Any, Any]) -> Library:
    library: Library = request.app.state.library
    return library


# Handlers declare `lib: Lib` (an explicit named dependency, as Litestar 3 requires).
Lib = NamedDependency[Library]

"""Dependency providers: the process's Library, as an explicit named dependency."""

from __future__ import annotations

from litestar.datastructures import State
from litestar.di import NamedDependency

from daemon.library import Library


def provide_library(state: State) -> Library:
    library: Library = state.library
    return library


# Handlers declare `lib: Lib` (an explicit named dependency, as Litestar 3 requires).
Lib = NamedDependency[Library]

"""Show a file in the workstation's file manager (Explorer, Finder, or the Linux desktop's)."""

from __future__ import annotations

import ntpath
import os
import posixpath
import subprocess
import sys
from collections.abc import Callable, Sequence

from daemon.resolve_agent.adapter import ClipResult

Runner = Callable[[list[str]], None]


def reveal_command(path: str, platform: str | None = None) -> list[str]:
    """The argv that shows ``path``: ``explorer /select,``, ``open -R`` or ``xdg-open`` on its folder."""
    system = platform or sys.platform
    if system == "win32":
        return ["explorer", f"/select,{path}"]
    if system == "darwin":
        return ["open", "-R", path]
    return ["xdg-open", posixpath.dirname(path) or "/"]


def run_detached(argv: list[str]) -> None:
    """Start the file manager; its exit code means nothing (Explorer answers 1 on success)."""
    if os.name == "nt" and argv[0] == "explorer":
        # Explorer wants /select,"C:\a b\c.mp4": list2cmdline would quote the whole argument.
        path = argv[1].removeprefix("/select,")
        subprocess.run(f'explorer /select,"{path}"', check=False, timeout=15)
        return
    subprocess.run(
        argv,
        check=False,
        timeout=15,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def reveal(
    local_paths: Sequence[str],
    runner: Runner = run_detached,
    platform: str | None = None,
    exists: Callable[[str], bool] = os.path.exists,
) -> list[ClipResult]:
    """Reveal each existing file once per folder; missing files and runner errors are results."""
    results: list[ClipResult] = []
    shown: set[str] = set()
    system = platform or sys.platform
    for path in local_paths:
        if not exists(path):
            results.append(ClipResult(path, "missing", "no such file on this workstation"))
            continue
        folder = (ntpath if system == "win32" else posixpath).dirname(path)
        if folder in shown:
            results.append(ClipResult(path, "skipped", "its folder is already shown"))
            continue
        try:
            runner(reveal_command(path, system))
        except (OSError, subprocess.SubprocessError) as exc:
            results.append(ClipResult(path, "failed", f"could not open the file manager: {exc}"))
            continue
        shown.add(folder)
        results.append(ClipResult(path, "skipped", "revealed in the file manager (not imported)"))
    return results
